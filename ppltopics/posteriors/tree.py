"""Posteriors of the tree models hLDA (Blei, Griffiths & Jordan, J. ACM 2010), registered as
``"hlda"``, and GhLDA (Gaussian nodes over word vectors), registered as ``"ghlda"``.

The tree changes between draws, so per-node summaries come from each chain's *final* state,
with nodes renumbered canonically (:func:`ppltopics.inference._tree_summary.chain_tree`).
The reference chain is the one with the highest mean ``lp`` over its draws (hLDA's posterior
is strongly multimodal and chains stick in their modes, so the best chain is the most useful
summary; ``settings["reference_chain"]``).  Every chain's nodes are matched to the
reference's level by level by the Hungarian algorithm
(:func:`ppltopics.inference._tree_summary.match_nodes`: Jensen-Shannon divergence of the
node word distributions for hLDA, Euclidean distance of the node means for GhLDA), stored as
``estimates["node_match"]`` (chains, nodes; −1 = unmatched).  Label-invariant draws (``lp``,
``log_likelihood``, ``num_nodes`` per level, ``num_paths``) are in ``sample_stats``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ppltopics._validation import check_choice, check_int
from ppltopics.corpus import Corpus
from ppltopics.inference._foldin import existing_paths, fold_in_tree
from ppltopics.inference._tree_summary import chain_tree, gem_means, match_nodes, node_profiles
from ppltopics.posteriors.base import (
    GROUPS,
    RELEVANCE_WEIGHT,
    Posterior,
    check_sweeps,
    map_known,
    rank_words,
    register,
)
from ppltopics.posteriors.gaussian import RANKINGS, RERANK_SHORTLIST, rank_gaussian_words

__all__ = ["TreePosterior", "GaussianTreePosterior"]

#: recorded draws that are label-invariant and go to sample_stats
_SAMPLE_STATS_ARRAYS = ("num_nodes",)


@register("hlda")
class TreePosterior(Posterior):
    """Posterior of hLDA: the reference (highest mean lp) chain's final tree (canonical ids)
    with per-node word counts; ``top_words`` per node (depth-first order), ``doc_topics`` over
    nodes, ``doc_paths``, ``format_tree``/``tree`` and fold-in ``transform``.

    Estimates: ``parent``, ``node_level``, ``node_docs``, ``node_tokens`` (nodes,),
    ``paths`` (D, L), ``doc_level_counts`` (D, L), ``token_levels`` (N,),
    ``node_word`` (nodes, V) (hLDA) or ``node_mean`` (nodes, M) / ``node_cov`` (nodes, M, M)
    (GhLDA), ``node_match`` (chains, nodes).
    """

    relabel_by = ("node_word", "js")
    is_tree = True

    @classmethod
    def from_chains(cls, corpus: Corpus, kernel: Any, results: Sequence[Any],
                    settings: Mapping[str, Any]) -> Posterior:
        """Stack the chains' draws; the estimates are the reference chain's final tree plus
        every chain's node matching to it (module docstring)."""
        groups: dict[str, dict[str, np.ndarray]] = {g: {} for g in GROUPS}
        for key in results[0].stats:
            groups["sample_stats"][key] = np.stack([r.stats[key] for r in results])
        dims: dict[str, list[str]] = {}
        for key, vdims in kernel.record_dims.items():
            if key not in results[0].draws:
                continue
            group = "sample_stats" if key in _SAMPLE_STATS_ARRAYS else "posterior"
            groups[group][key] = np.stack([r.draws[key] for r in results])
            dims[key] = list(vdims)
        trees = [chain_tree(kernel, r.state) for r in results]
        eta = np.asarray(getattr(kernel, "eta", np.ones(kernel.depth)), dtype=np.float64)
        ref = int(np.argmax([np.mean(r.stats["lp"]) for r in results]))
        estimates = dict(trees[ref])
        estimates["node_match"] = np.stack([match_nodes(trees[ref], t, eta) for t in trees])
        settings = {
            **settings,
            "reference_chain": ref,
            "num_topics": int(trees[0]["parent"].size),
            "num_chains": len(results),
            "seconds_per_chain": [r.seconds for r in results],
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        return cls(corpus, groups, dims, estimates, settings)

    # ------------------------------------------------------------------ tree read-outs
    @property
    def depth(self) -> int:
        return int(self.settings["depth"])

    @property
    def num_nodes(self) -> int:
        return int(self.estimates["parent"].size)

    def _eta(self) -> np.ndarray:
        return np.broadcast_to(np.asarray(self.settings["eta"], dtype=np.float64),
                               (self.depth,))

    def node_word_probs(self) -> np.ndarray:
        """Posterior-mean topic of every node, (n_vw + η_ℓ)/(n_v + V η_ℓ), (nodes, V)."""
        return node_profiles(self.estimates, self._eta())

    def _node_scores(self) -> np.ndarray:
        return self.node_word_probs()

    def top_words(self, n: int = 10) -> list[list[str]]:
        """The ``n`` top words of every node of the reference tree, in depth-first order
        (canonical node ids 0, 1, ...); ``n`` a positive integer, all V words when ``n > V``
        (:func:`~ppltopics.posteriors.base.rank_words`)."""
        return rank_words(self._node_scores(), n, self.corpus.vocab)

    def doc_paths(self) -> np.ndarray:
        """(num_docs, L) canonical node ids of every training document's path."""
        return self.estimates["paths"]

    def token_levels(self) -> np.ndarray:
        """(num_tokens,) level of every training token in the reference chain's final state;
        the token's node is ``doc_paths()[corpus.token_docs, token_levels()]``."""
        return self.estimates["token_levels"]

    def doc_topics(self) -> np.ndarray:
        """(num_docs, num_nodes) proportions over the nodes of each document's path: the GEM
        posterior-mean level proportions E[θ_dℓ | z_d] placed on node c_dℓ."""
        theta = gem_means(self.estimates["doc_level_counts"], self.settings["gem_mean"],
                           self.settings["gem_scale"])
        out = np.zeros((theta.shape[0], self.num_nodes))
        rows = np.arange(theta.shape[0])[:, None]
        np.add.at(out, (np.broadcast_to(rows, theta.shape), self.estimates["paths"]), theta)
        return out

    def tree(self, n_words: int = 5) -> dict[str, Any]:
        """The reference tree as nested dicts: ``id``, ``level``, ``docs``, ``tokens``,
        ``words`` (top ``n_words``, a positive integer) and ``children`` (by decreasing
        document count)."""
        n_words = check_int("n_words", n_words, 1)
        return self._tree(n_words, self.top_words(n_words))

    def _tree(self, n_words: int, words: list[list[str]]) -> dict[str, Any]:
        parent = self.estimates["parent"]
        nodes = [{"id": i, "level": int(self.estimates["node_level"][i]),
                  "docs": int(self.estimates["node_docs"][i]),
                  "tokens": int(self.estimates["node_tokens"][i]), "words": words[i],
                  "children": []} for i in range(self.num_nodes)]
        for i in range(1, self.num_nodes):  # canonical ids: a parent precedes its children
            nodes[int(parent[i])]["children"].append(nodes[i])
        return nodes[0]

    def format_tree(self, n_words: int = 5) -> str:
        """Indented text of the tree: one line per node, ``[id] docs=… tokens=… words``
        (``n_words`` top words, a positive integer)."""
        lines: list[str] = []

        def walk(node: dict[str, Any]) -> None:
            lines.append(f"{'  ' * node['level']}[{node['id']}] docs={node['docs']} "
                         f"tokens={node['tokens']}: {' '.join(node['words'])}")
            for c in node["children"]:
                walk(c)

        walk(self.tree(n_words))
        return "\n".join(lines)

    # ------------------------------------------------------------------ fold-in
    def _node_log_f(self) -> np.ndarray:
        """log f_v(w) of every node and word, (nodes, V)."""
        return np.log(self.node_word_probs())

    def transform(self, new_corpus: Corpus, num_sweeps: int = 50, burn_in: int = 20,
                  seed: int = 0) -> np.ndarray:
        """(num_new_docs, num_nodes) proportions of unseen documents by fold-in Gibbs on the
        frozen reference tree (:func:`ppltopics.inference._foldin.fold_in_tree`: path among
        the existing paths (:func:`ppltopics.inference._foldin.existing_paths`) with the
        nCRP weights of the training documents, levels under the GEM; node topics fixed at
        their posterior means).  Unknown words are dropped; a document with none keeps only
        its path prior.  Raises ``TypeError`` unless ``new_corpus`` is a
        :class:`~ppltopics.Corpus`, ``ValueError`` unless ``num_sweeps > burn_in >= 0`` are
        integers or if no token is in the vocabulary."""
        num_sweeps, burn_in = check_sweeps(num_sweeps, burn_in)
        word_ids, offsets, _unknown = map_known(new_corpus, self.corpus.vocab)
        leaf_paths, log_prior = existing_paths(self.estimates["parent"],
                                               self.estimates["node_level"],
                                               self.estimates["node_docs"], self.depth)
        log_f = np.ascontiguousarray(self._node_log_f())
        return fold_in_tree(word_ids.astype(np.int64), offsets, log_f, leaf_paths, log_prior,
                            float(self.settings["gem_mean"]), float(self.settings["gem_scale"]),
                            int(num_sweeps), int(burn_in), np.random.default_rng(seed))


@register("ghlda")
class GaussianTreePosterior(TreePosterior):
    """Posterior of GhLDA: as :class:`TreePosterior`, with Gaussian nodes (``node_mean``,
    ``node_cov`` posterior means) over the word-vector table ``estimates["word_vectors"]``;
    ``top_words`` ranks words by the density of their vectors under each node."""

    relabel_by = ("node_mean", "euclidean")

    def word_logdensity(self) -> np.ndarray:
        """(V, nodes) log N(v_w | μ̄_v, Σ̄_v)."""
        if "_logdens" not in self.__dict__:
            from ppltopics.inference._gaussian import gaussian_logpdf_table

            self.__dict__["_logdens"] = gaussian_logpdf_table(
                self.estimates["word_vectors"], self.estimates["node_mean"],
                self.estimates["node_cov"])
        return self.__dict__["_logdens"]

    def _node_scores(self) -> np.ndarray:
        return self.word_logdensity().T

    def node_word_counts(self) -> np.ndarray:
        """(nodes, V) word counts of every node of the reference tree: token n counts at node
        ``doc_paths()[d_n, token_levels()[n]]``."""
        nodes = self.doc_paths()[self.corpus.token_docs, self.token_levels()]
        V = self.corpus.vocab_size
        flat = np.bincount(nodes.astype(np.int64) * V + self.corpus.word_ids,
                           minlength=self.num_nodes * V)
        return flat.reshape(self.num_nodes, V).astype(np.float64)

    def top_words(self, n: int = 10, by: str = "rerank",
                  shortlist: int = RERANK_SHORTLIST,
                  relevance_weight: float = RELEVANCE_WEIGHT) -> list[list[str]]:
        """Top ``n`` words of every node (depth-first order) ranked ``by`` ``"density"``
        (log N(v_w | μ̄_t, Σ̄_t)), ``"counts"`` (the node's word counts in the reference
        chain's final state, :meth:`node_word_counts`), ``"rerank"`` (the ``shortlist``
        densest words re-ranked by counts) or ``"relevance"`` (Sievert & Shirley's, weight
        ``relevance_weight``, of the node's smoothed word shares); see
        :func:`ppltopics.posteriors.gaussian.rank_gaussian_words`.  An unknown ``by`` is a
        ``ValueError`` naming it."""
        check_choice("by", by, RANKINGS)
        counts = self.node_word_counts() if by != "density" else self._node_scores()
        return rank_gaussian_words(self._node_scores(), counts, n, self.corpus.vocab, by,
                                   shortlist, relevance_weight)

    def tree(self, n_words: int = 5, by: str = "density") -> dict[str, Any]:
        """As :meth:`TreePosterior.tree`, node words ranked ``by`` (see :meth:`top_words`)."""
        return self._tree(check_int("n_words", n_words, 1), self.top_words(n_words, by=by))

    def _node_log_f(self) -> np.ndarray:
        return self.word_logdensity().T
