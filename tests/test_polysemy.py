"""pt.evaluation.polysemy: the sense/assignment contingency and its NMI."""

from __future__ import annotations

import numpy as np
import pytest

import ppltopics as pt
from ppltopics.evaluation import polysemy


def _corpus() -> pt.Corpus:
    texts = ["river bank water bank", "bank money loan", "water river fish", "loan bank money"]
    return pt.Corpus.from_tokens([t.split() for t in texts], labels=["rivers", "finance",
                                                                     "rivers", "finance"])


class _Flat:
    """A flat posterior: θ (D, K) and p(w | k) as a (V, K) table."""

    is_tree = False

    def __init__(self, corpus: pt.Corpus, theta: np.ndarray, table: np.ndarray) -> None:
        self.corpus, self._theta, self._table = corpus, theta, table

    def doc_topics(self) -> np.ndarray:
        return self._theta

    def word_topic_table(self) -> tuple[np.ndarray, np.ndarray]:
        return self._table, np.zeros(self._table.shape[0])


class _Tree:
    """A tree posterior: each document's path and each token's level."""

    is_tree = True

    def __init__(self, corpus: pt.Corpus, paths: np.ndarray, levels: np.ndarray) -> None:
        self.corpus, self._paths, self._levels = corpus, paths, levels

    def doc_paths(self) -> np.ndarray:
        return self._paths

    def token_levels(self) -> np.ndarray:
        return self._levels


def test_flat_model_assignment_follows_theta_and_word_topic() -> None:
    c = _corpus()
    V = c.vocab_size
    table = np.full((V, 2), 0.5)
    # θ puts river documents on topic 0 and finance documents on topic 1
    theta = np.array([[0.9, 0.1], [0.2, 0.8], [0.9, 0.1], [0.1, 0.9]])
    r = polysemy(_Flat(c, theta, table), words=("bank",))
    assert r.by == "topic" and r.num_occurrences == 4
    assert r.senses == ("finance", "rivers")
    np.testing.assert_array_equal(r.table, [[0, 2], [2, 0]])
    assert r.nmi == pytest.approx(1.0) and r.separated()
    assert r.sense_recall() == {"finance": 1.0, "rivers": 1.0}
    # a word whose vector/probability overwhelms θ gets one topic everywhere: NMI 0
    table[c.word_index["bank"]] = [1e-9, 1.0]
    r = polysemy(_Flat(c, theta, table), words=("bank",))
    assert r.nmi == 0.0 and not r.separated()
    np.testing.assert_array_equal(r.table, [[2], [2]])
    assert sorted(r.sense_recall().values()) == [0.0, 1.0]  # a tie goes to the first sense


def test_tree_model_paths_branches_and_nodes() -> None:
    c = _corpus()
    paths = np.array([[0, 1, 3], [0, 2, 4], [0, 1, 5], [0, 2, 4]])
    levels = np.zeros(c.num_tokens, dtype=np.int32)
    post = _Tree(c, paths, levels)
    r = polysemy(post, words=("bank", "banks"))  # "banks" absent: ignored
    assert r.by == "path" and r.assignments == (3, 4)
    np.testing.assert_array_equal(r.table, [[0, 2], [2, 0]])
    assert polysemy(post, by="branch").nmi == pytest.approx(1.0)
    # a tree whose level 1 does not branch: "branch" is the first level that does
    deep = _Tree(c, np.array([[0, 1, 3], [0, 1, 4], [0, 1, 5], [0, 1, 4]]), levels)
    assert polysemy(deep, by="branch").assignments == (3, 4)  # doc 2 has no "bank"
    node = polysemy(post, by="node")  # every token at the root: no separation
    assert node.assignments == (0,) and node.nmi == 0.0
    only = polysemy(post, senses=("rivers",), by="branch")
    assert only.num_occurrences == 2 and only.senses == ("rivers",)


def test_polysemy_errors() -> None:
    c = _corpus()
    post = _Tree(c, np.zeros((4, 3), dtype=np.int32), np.zeros(c.num_tokens, dtype=np.int32))
    with pytest.raises(ValueError, match="none of"):
        polysemy(post, words=("shore",))
    with pytest.raises(ValueError, match="labels"):
        polysemy(post, corpus=pt.Corpus.from_tokens([["bank"]]))
    with pytest.raises(ValueError, match="no occurrence"):
        polysemy(post, senses=("law",))
    with pytest.raises(ValueError, match="by must be"):
        polysemy(post, by="leaf")
    with pytest.raises(ValueError, match="tree model"):
        polysemy(_Flat(c, np.ones((4, 2)) / 2, np.ones((c.vocab_size, 2))), by="path")


def test_chance_level_by_shuffling_senses_among_documents() -> None:
    # one path per document: under every shuffle the path still determines the sense, so the
    # chance NMI of a fully fragmented tree stays high; paths shared by documents of one sense
    # reach NMI 1 with a lower chance level
    c = _corpus()
    levels = np.zeros(c.num_tokens, dtype=np.int32)
    own = _Tree(c, np.array([[0, 1, 3], [0, 2, 4], [0, 1, 5], [0, 2, 6]]), levels)
    r_own = polysemy(own, words=("bank",), by="path", permutations=20, seed=1)
    assert len(r_own.nmi_null) == 20 and min(r_own.nmi_null) > 0.6
    assert r_own.to_dict()["nmi_null"] == list(r_own.nmi_null)
    shared = _Tree(c, np.array([[0, 1, 3], [0, 2, 4], [0, 1, 3], [0, 2, 4]]), levels)
    r = polysemy(shared, words=("bank",), by="path", permutations=50, seed=1)
    assert r.nmi == pytest.approx(1.0) and np.mean(r.nmi_null) < 0.9
    assert np.mean(r.nmi_null) < np.mean(r_own.nmi_null)
    assert polysemy(shared, words=("bank",)).nmi_null == ()
    with pytest.raises(ValueError, match="permutations"):
        polysemy(shared, words=("bank",), permutations=-1)
