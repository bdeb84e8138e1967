"""Posteriors of the tree models hLDA ("hlda") and GhLDA ("ghlda").

The tree changes between draws, so per-node summaries come from each chain's *final* state:
its tree (parent, node level, paths), node statistics (word counts, or NIW means and
covariances) and per-document level counts, with nodes renumbered canonically (depth first,
children by decreasing document count; :func:`ppltopics.inference._tree.canonical_order`).
The reference chain is the one with the highest mean ``lp`` over its draws (hLDA's posterior
is strongly multimodal and chains stick in their modes, so the best chain is the most useful
summary; ``settings["reference_chain"]``).  Every chain's nodes are matched to the
reference's level by level by the Hungarian algorithm
(``scipy.optimize.linear_sum_assignment`` on the rectangular cost matrix: Jensen-Shannon
divergence of the node word distributions for hLDA, Euclidean distance of the node means for
GhLDA), stored as ``estimates["node_match"]`` (chains, nodes; −1 = unmatched).
Label-invariant draws (``lp``, ``log_likelihood``, ``num_nodes`` per level, ``num_paths``)
are in ``sample_stats``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
from scipy.optimize import linear_sum_assignment

from ppltopics.corpus import Corpus
from ppltopics.inference._sampling import log_categorical
from ppltopics.inference._tree import gem_level_weights
from ppltopics.posterior import (
    _GROUPS,
    Posterior,
    _map_to_vocab,
    gaussian_logpdf_table,
    register,
)

__all__ = ["TreePosterior", "GaussianTreePosterior", "fold_in_tree"]

_SAMPLE_STATS_ARRAYS = ("num_nodes",)


# ----------------------------------------------------------------------------- fold-in
@numba.njit(cache=True, nogil=True)
def fold_in_tree(
    word_ids: np.ndarray, doc_offsets: np.ndarray, log_f: np.ndarray, leaf_paths: np.ndarray,
    log_path_prior: np.ndarray, gem_m: float, gem_pi: float, num_sweeps: int, burn_in: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Fold-in Gibbs for new documents on a frozen tree: per document, alternately its path
    among the tree's existing leaf paths,

        p(c = p) ∝ π_p · Π_n f_{p[z_n]}(w_n)      (π_p: nCRP weight of the existing path),

    and each token's level, p(z_n = ℓ) ∝ GEM_ℓ(n_d,−n) · f_{c[ℓ]}(w_n), with the node
    densities ``f`` fixed (``log_f`` (nodes, V)).  Returns the average over the sweeps after
    ``burn_in`` of the GEM posterior-mean level proportions placed on the path's nodes,
    (num_docs, nodes)."""
    D = doc_offsets.shape[0] - 1
    P, L = leaf_paths.shape
    K = log_f.shape[0]
    out = np.zeros((D, K))
    score = np.empty(P)
    buf = np.empty(max(P, L))
    cnt = np.empty(L)
    gem = np.empty(L)
    logp = np.empty(L)
    for d in range(D):
        b, e = doc_offsets[d], doc_offsets[d + 1]
        m = e - b
        z = np.empty(m, dtype=np.int64)
        for i in range(L):
            cnt[i] = 0.0
        for i in range(m):
            z[i] = rng.integers(0, L)
            cnt[z[i]] += 1.0
        kept = 0
        for sweep in range(num_sweeps):
            for p in range(P):
                s = log_path_prior[p]
                for i in range(m):
                    s += log_f[leaf_paths[p, z[i]], word_ids[b + i]]
                score[p] = s
            c = log_categorical(rng, score, P, buf)
            for i in range(m):
                cnt[z[i]] -= 1.0
                gem_level_weights(cnt, gem_m, gem_pi, gem)
                for j in range(L):
                    logp[j] = math.log(gem[j]) + log_f[leaf_paths[c, j], word_ids[b + i]]
                new = log_categorical(rng, logp, L, buf)
                z[i] = new
                cnt[new] += 1.0
            if sweep >= burn_in:
                gem_level_weights(cnt, gem_m, gem_pi, gem)
                for j in range(L):
                    out[d, leaf_paths[c, j]] += gem[j]
                kept += 1
        for k in range(K):
            out[d, k] /= kept
    return out


# ----------------------------------------------------------------------------- summaries
def _gem_means(ndl: np.ndarray, m: float, pi: float) -> np.ndarray:
    """Posterior-mean level proportions E[θ_d | z_d] of the truncated GEM, (D, L)."""
    ndl = np.asarray(ndl, dtype=np.float64)
    D, L = ndl.shape
    n_ge = np.cumsum(ndl[:, ::-1], axis=1)[:, ::-1]
    out = np.empty((D, L))
    rest = np.ones(D)
    for j in range(L - 1):
        den = pi + n_ge[:, j]
        out[:, j] = rest * (m * pi + ndl[:, j]) / den
        rest = rest * ((1 - m) * pi + n_ge[:, j] - ndl[:, j]) / den
    out[:, L - 1] = rest
    return out


def _chain_tree(kernel: Any, state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The final tree of one chain in canonical node ids (module docstring)."""
    from ppltopics.inference._tree import canonical_order

    level = state["node_level"]
    root = int(state["tree_meta"][1])
    order = canonical_order(state["parent"], level, state["ndocs"], root)
    new_id = np.full(level.shape[0], -1, dtype=np.int64)
    new_id[order] = np.arange(order.size)
    parent = state["parent"][order].astype(np.int64)
    out = {
        "parent": np.where(parent >= 0, new_id[np.maximum(parent, 0)], -1),
        "node_level": level[order].astype(np.int64),
        "node_docs": state["ndocs"][order].astype(np.int64),
        "paths": new_id[state["paths"]],
        "doc_level_counts": state["ndl"].astype(np.int64),
        "token_levels": state["levels"].astype(np.int32),
    }
    if kernel.model_name == "hlda":
        nw = state["nwt"][:, order].T
        out["node_word"] = nw.astype(np.int64)
        out["node_tokens"] = nw.sum(axis=1).astype(np.int64)
    else:
        count = state["count"][order]
        out["node_tokens"] = count.astype(np.int64)
        p0 = kernel.priors[0]
        kn = p0.kappa0 + count
        out["node_mean"] = (p0.kappa0 * p0.mu0 + state["sums"][order]) / kn[:, None]
        chol = state["chol"][order]
        psi = chol @ np.swapaxes(chol, 1, 2)
        M = kernel.dim
        nu_n = p0.nu0 + count
        denom = np.where(nu_n > M + 1, nu_n - M - 1, nu_n + M + 1)
        out["node_cov"] = psi / denom[:, None, None]
    return out


def _js(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Pairwise Jensen-Shannon divergence of the rows of p (A, V) and q (B, V)."""
    m = 0.5 * (p[:, None, :] + q[None, :, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        kp = np.where(p[:, None, :] > 0, p[:, None, :] * np.log(p[:, None, :] / m), 0.0)
        kq = np.where(q[None, :, :] > 0, q[None, :, :] * np.log(q[None, :, :] / m), 0.0)
    return 0.5 * (kp.sum(-1) + kq.sum(-1))


def _node_profiles(tree: dict[str, np.ndarray], eta: np.ndarray | None) -> np.ndarray:
    if "node_word" in tree:
        nw = tree["node_word"].astype(np.float64)
        e = eta[tree["node_level"]][:, None]
        return (nw + e) / (nw.sum(axis=1, keepdims=True) + nw.shape[1] * e)
    return tree["node_mean"]


def _match(ref: dict[str, np.ndarray], other: dict[str, np.ndarray],
           eta: np.ndarray | None) -> np.ndarray:
    """match[i] = node of ``other`` matched to reference node i, level by level (−1: none)."""
    a, b = _node_profiles(ref, eta), _node_profiles(other, eta)
    out = np.full(a.shape[0], -1, dtype=np.int64)
    for lev in np.unique(ref["node_level"]):
        ia = np.flatnonzero(ref["node_level"] == lev)
        ib = np.flatnonzero(other["node_level"] == lev)
        if ib.size == 0:
            continue
        if "node_word" in ref:
            cost = _js(a[ia], b[ib])
        else:
            cost = np.linalg.norm(a[ia][:, None, :] - b[ib][None, :, :], axis=-1)
        rows, cols = linear_sum_assignment(cost)
        out[ia[rows]] = ib[cols]
    return out


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

    @classmethod
    def from_chains(cls, corpus: Corpus, kernel: Any, results: Sequence[Any],
                    settings: dict[str, Any] | Any) -> Posterior:
        import time

        groups: dict[str, dict[str, np.ndarray]] = {g: {} for g in _GROUPS}
        for key in results[0].stats:
            groups["sample_stats"][key] = np.stack([r.stats[key] for r in results])
        dims: dict[str, list[str]] = {}
        for key, vdims in kernel.record_dims.items():
            if key not in results[0].draws:
                continue
            group = "sample_stats" if key in _SAMPLE_STATS_ARRAYS else "posterior"
            groups[group][key] = np.stack([r.draws[key] for r in results])
            dims[key] = list(vdims)
        trees = [_chain_tree(kernel, r.state) for r in results]
        eta = np.asarray(getattr(kernel, "eta", np.ones(kernel.depth)), dtype=np.float64)
        ref = int(np.argmax([np.mean(r.stats["lp"]) for r in results]))
        estimates = dict(trees[ref])
        estimates["node_match"] = np.stack([_match(trees[ref], t, eta) for t in trees])
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
        return _node_profiles(self.estimates, self._eta())

    def _node_scores(self) -> np.ndarray:
        return self.node_word_probs()

    def top_words(self, n: int = 10) -> list[list[str]]:
        """The ``n`` top words of every node of the reference tree, in depth-first order
        (canonical node ids 0, 1, ...)."""
        order = np.argsort(-self._node_scores(), axis=1, kind="stable")[:, :n]
        return [[self.corpus.vocab[i] for i in row] for row in order]

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
        theta = _gem_means(self.estimates["doc_level_counts"], self.settings["gem_mean"],
                           self.settings["gem_scale"])
        out = np.zeros((theta.shape[0], self.num_nodes))
        rows = np.arange(theta.shape[0])[:, None]
        np.add.at(out, (np.broadcast_to(rows, theta.shape), self.estimates["paths"]), theta)
        return out

    def tree(self, n_words: int = 5) -> dict[str, Any]:
        """The reference tree as nested dicts: ``id``, ``level``, ``docs``, ``tokens``,
        ``words`` (top ``n_words``) and ``children`` (by decreasing document count)."""
        words = self.top_words(n_words)
        parent = self.estimates["parent"]
        nodes = [{"id": i, "level": int(self.estimates["node_level"][i]),
                  "docs": int(self.estimates["node_docs"][i]),
                  "tokens": int(self.estimates["node_tokens"][i]), "words": words[i],
                  "children": []} for i in range(self.num_nodes)]
        for i in range(1, self.num_nodes):  # canonical ids: a parent precedes its children
            nodes[int(parent[i])]["children"].append(nodes[i])
        return nodes[0]

    def format_tree(self, n_words: int = 5) -> str:
        """Indented text of the tree: one line per node, ``[id] docs=… tokens=… words``."""
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
                  seed: int = 0, **_: Any) -> np.ndarray:
        """(num_new_docs, num_nodes) proportions of unseen documents by fold-in Gibbs on the
        frozen reference tree (:func:`fold_in_tree`: path among the existing paths with the
        nCRP weights of the training documents, levels under the GEM; node topics fixed at
        their posterior means).  Unknown words are dropped; a document with none keeps only
        its path prior."""
        if num_sweeps <= burn_in or burn_in < 0:
            raise ValueError("need num_sweeps > burn_in >= 0")
        if not isinstance(new_corpus, Corpus):
            raise TypeError(f"new_corpus must be a ppltopics.Corpus, got "
                            f"{type(new_corpus).__name__}")
        word_ids, offsets, _unknown = _map_to_vocab(new_corpus, self.corpus.vocab)
        if word_ids.size == 0:
            raise ValueError("no token of the new documents is in the model's vocabulary")
        parent = self.estimates["parent"]
        level = self.estimates["node_level"]
        docs = self.estimates["node_docs"].astype(np.float64)
        leaves = np.flatnonzero(level == self.depth - 1)
        leaf_paths = np.empty((leaves.size, self.depth), dtype=np.int64)
        log_prior = np.zeros(leaves.size)
        for i, v in enumerate(leaves):
            u = int(v)
            for j in range(self.depth - 1, -1, -1):
                leaf_paths[i, j] = u
                if j > 0:
                    log_prior[i] += math.log(docs[u]) - math.log(docs[parent[u]])
                u = int(parent[u])
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
            self.__dict__["_logdens"] = gaussian_logpdf_table(
                self.estimates["word_vectors"], self.estimates["node_mean"],
                self.estimates["node_cov"])
        return self.__dict__["_logdens"]

    def _node_scores(self) -> np.ndarray:
        return self.word_logdensity().T

    def _node_log_f(self) -> np.ndarray:
        return self.word_logdensity().T
