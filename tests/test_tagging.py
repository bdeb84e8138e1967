"""POS tags from the raw text (spaCy's en_core_web_sm, the ``[pos]`` extra), token selection
by a mask, and TopClus's ``pos=`` (the authors' noun/verb/adjective filter).

The tagger is a fixed model, so the tags of the sentences below are deterministic; they are
the cases the filter exists for: one word form with two parts of speech in one document.
"""

from __future__ import annotations

import numpy as np
import pytest

import ppltopics as pt

TEXTS = ["Water the plants with water.", "I banked the money at the bank.", "the of and",
         "Banks lend money."]


@pytest.fixture(scope="module")
def corpus():
    return pt.Corpus.from_texts(TEXTS, min_count=1, keep_text=True, stopwords=None)


@pytest.fixture(scope="module")
def tagger():
    pytest.importorskip("spacy")
    from ppltopics.tagging import load_tagger

    try:
        return load_tagger()
    except ImportError as e:
        pytest.skip(str(e))


def test_each_token_takes_the_tag_of_its_own_context(corpus, tagger):
    from ppltopics.tagging import pos_tags

    tags = pos_tags(corpus, model=tagger)
    assert tags.shape == (corpus.num_tokens,)
    words = [w for doc in corpus.docs() for w in doc]
    got = list(zip(words, tags.tolist(), strict=True))
    # "water": a verb, then a noun, in one document; "banked" a verb, "bank" a noun
    assert got[:5] == [("water", "VERB"), ("the", "DET"), ("plants", "NOUN"), ("with", "ADP"),
                       ("water", "NOUN")]
    assert ("banked", "VERB") in got and ("bank", "NOUN") in got


def test_select_tokens_keeps_or_drops_emptied_documents(corpus):
    keep = np.isin(np.asarray(corpus.vocab)[corpus.word_ids], ["water", "money", "banks"])
    kept = corpus.select_tokens(keep, drop_empty=False)
    assert kept.num_docs == corpus.num_docs and kept.vocab == corpus.vocab
    assert kept.docs() == [["water", "water"], ["money"], [], ["banks", "money"]]
    assert kept.metadata["text"].tolist() == TEXTS
    dropped = corpus.select_tokens(keep)
    assert dropped.num_docs == 3 and dropped.report["kept_doc_index"].tolist() == [0, 1, 3]
    with pytest.raises(ValueError, match="bool array"):
        corpus.select_tokens(keep.astype(int))
    with pytest.raises(ValueError, match="bool array"):
        corpus.select_tokens(keep[:-1])
    with pytest.raises(ValueError, match="keeps no token"):
        corpus.select_tokens(np.zeros_like(keep))


def test_bad_input_names_the_problem(corpus):
    from ppltopics.tagging import check_pos, pos_tags

    no_text = pt.Corpus.from_texts(TEXTS, min_count=1, stopwords=None)
    with pytest.raises(ValueError, match="keep_text=True"):
        pos_tags(no_text, model=object())
    with pytest.raises(ValueError, match="unknown POS tags"):
        check_pos(("NOUN", "NOUNS"))
    with pytest.raises(ValueError, match="sequence of POS tag strings"):
        check_pos("NOUN")
    with pytest.raises(ValueError, match="keep_text=True"):
        pt.fit("topclus", no_text, num_topics=2, pos=("NOUN",),
               embeddings=np.ones((no_text.num_tokens, 4), np.float32))


def test_topclus_trains_on_the_chosen_parts_of_speech(corpus, tagger):
    from ppltopics.tagging import pos_tags

    rng = np.random.default_rng(0)
    emb = rng.normal(size=(corpus.num_tokens, 8)).astype(np.float32)
    post = pt.fit("topclus", corpus, num_topics=2, num_chains=1, seed=0, progress=False,
                  embeddings=emb, pos=("NOUN", "VERB"), epochs=1, pretrain_epochs=1,
                  latent_dim=4, enc_hidden=(8,), dec_hidden=(8,), batch_size=2,
                  min_word_count=1, threads=1)
    tags = pos_tags(corpus, model=tagger)
    keep = np.isin(tags, ("NOUN", "VERB"))
    assert post.corpus.num_docs == corpus.num_docs  # "the of and" kept, empty
    np.testing.assert_array_equal(post.corpus.word_ids, corpus.word_ids[keep])
    assert post.settings["pos"] == ["NOUN", "VERB"]
    assert post.settings["pos_kept_share"] == pytest.approx(keep.mean())
