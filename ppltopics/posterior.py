"""The Posterior: the one place where corpus, model settings, chains and diagnostics meet.

A :class:`Posterior` holds, per chain and draw, what the kernel recorded (``posterior``,
``sample_stats`` and pointwise ``log_likelihood`` groups, as in ArviZ), plus point estimates
averaged over draws and chains after relabelling every chain's topics onto chain 0's
(Hungarian matching, :func:`ppltopics.diagnostics.relabel`).  Model-specific subclasses add
``top_words``, ``doc_topics`` and ``transform``; they register under the model's name so
:func:`ppltopics.load` can rebuild them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ppltopics.corpus import Corpus, _jsonable
from ppltopics.persistence import load_bundle, reading, save_bundle

__all__ = ["Posterior", "LDAPosterior", "register", "posterior_class"]

_log = logging.getLogger("ppltopics")
_REGISTRY: dict[str, type[Posterior]] = {}
_GROUPS = ("posterior", "sample_stats", "log_likelihood")


def register(name: str):
    """Class decorator: make a Posterior subclass loadable under the model name ``name``."""

    def deco(cls: type[Posterior]) -> type[Posterior]:
        cls.model = name
        _REGISTRY[name] = cls
        return cls

    return deco


#: models whose Posterior subclass lives in its own module (imported on first use)
_MODULES = {"hlda": "ppltopics._tree_posterior", "ghlda": "ppltopics._tree_posterior",
            "topclus": "ppltopics._topclus_posterior"}


def posterior_class(name: str) -> type[Posterior]:
    if name not in _REGISTRY and name in _MODULES:
        import importlib

        importlib.import_module(_MODULES[name])
    if name not in _REGISTRY:
        raise ValueError(f"no posterior type registered for model {name!r}")
    return _REGISTRY[name]


class Posterior:
    """Draws, point estimates and settings of a fitted topic model.

    Attributes
    ----------
    corpus
        The training corpus.
    groups
        ``{"posterior": {...}, "sample_stats": {...}, "log_likelihood": {...}}``, each a dict
        of arrays with leading dims (chain, draw).
    dims
        Extra dimension names of every variable (e.g. ``topic_share: ["topic"]``).
    estimates
        Point estimates averaged over draws and (relabelled) chains, e.g. ``phi`` (K, V).
    settings
        Model hyperparameters and run settings (JSON-able).
    """

    model: ClassVar[str] = ""
    #: estimate used to match topics across chains, and its cost ("js" or "cosine")
    relabel_by: ClassVar[tuple[str, str]] = ("phi", "js")

    def __init__(
        self,
        corpus: Corpus,
        groups: Mapping[str, Mapping[str, np.ndarray]],
        dims: Mapping[str, Sequence[str]],
        estimates: Mapping[str, np.ndarray],
        settings: Mapping[str, Any],
    ) -> None:
        self.corpus = corpus
        self.groups = {g: dict(groups.get(g, {})) for g in _GROUPS}
        self.dims = {k: list(v) for k, v in dims.items()}
        self.estimates = dict(estimates)
        self.settings = dict(settings)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_chains(
        cls,
        corpus: Corpus,
        kernel: Any,
        results: Sequence[Any],
        settings: Mapping[str, Any],
    ) -> Posterior:
        """Stack chain results, relabel topics onto chain 0 and average the estimates."""
        per_chain = [kernel.finalize(r.acc) for r in results]
        key, cost = cls.relabel_by
        if len(results) > 1 and key in per_chain[0]:
            from ppltopics.diagnostics import relabel

            perms = relabel([e[key] for e in per_chain], reference=0, cost=cost)
        else:
            perms = [None] * len(results)
        dims: dict[str, list[str]] = dict(kernel.record_dims)
        estimates: dict[str, np.ndarray] = {}
        for name, edims in kernel.estimate_dims.items():
            vals = [_permute_topics(est[name], perm, edims, 0)
                    for est, perm in zip(per_chain, perms, strict=True)]
            estimates[name] = np.mean(vals, axis=0)
        groups: dict[str, dict[str, np.ndarray]] = {g: {} for g in _GROUPS}
        for key_ in results[0].stats:
            groups["sample_stats"][key_] = np.stack([r.stats[key_] for r in results])
        for key_, vdims in dims.items():
            if key_ not in results[0].draws:
                continue
            groups["posterior"][key_] = np.stack([
                _permute_topics(r.draws[key_], perm, vdims, 1)
                for r, perm in zip(results, perms, strict=True)])
        if results[0].pointwise is not None:
            groups["log_likelihood"]["w"] = np.stack([r.pointwise for r in results])
            dims["w"] = ["doc"]
        settings = {
            **settings,
            "relabel_permutations": [None if p is None else p.tolist() for p in perms],
            "seconds_per_chain": [r.seconds for r in results],
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        return cls(corpus, groups, dims, estimates, settings)

    @classmethod
    def from_kernel(
        cls, kernel: Any, spec: Any, settings: Mapping[str, Any] | None = None,
    ) -> Posterior:
        """Run ``spec.num_chains`` chains of ``kernel`` (:func:`ppltopics.inference.runner.
        run_chains`) and build the Posterior with :meth:`from_chains` on ``kernel.corpus``.

        Settings: ``kernel.config()``, the run's draw-determining settings
        (``spec.fingerprint()``), ``num_tokens``, then ``settings`` (extra, e.g. ``num_topics``
        when the config lacks it).  What every ``fit_model`` does after building its kernel.
        """
        from ppltopics.inference.runner import run_chains

        corpus = getattr(kernel, "corpus", None)
        if not isinstance(corpus, Corpus):
            raise TypeError("from_kernel needs a kernel with a .corpus (ppltopics.Corpus)")
        results = run_chains(kernel, spec)
        merged = {**kernel.config(), **spec.fingerprint(), "num_tokens": corpus.num_tokens,
                  **(settings or {})}
        return cls.from_chains(corpus, kernel, results, merged)

    # ------------------------------------------------------------------ common API
    @property
    def num_chains(self) -> int:
        return int(self.settings.get("num_chains", 1))

    @property
    def num_topics(self) -> int:
        return int(self.settings["num_topics"])

    def top_words(self, n: int = 10) -> list[list[str]]:
        raise NotImplementedError

    def doc_topics(self) -> np.ndarray:
        raise NotImplementedError

    def transform(
        self, new_corpus: Corpus, num_sweeps: int = 100, burn_in: int = 50, seed: int = 0,
        batch_size: int = 4096,
    ) -> np.ndarray:
        """θ of unseen documents by fold-in Gibbs with the topics fixed at their posterior
        means (``word_topic_table``).

        Words unknown to the model are dropped; a document with no known word gets the prior
        mean α/α₀ (and a warning).  Raises ``ValueError`` if no document has a known word.
        """
        from ppltopics.inference._foldin import fold_in

        if num_sweeps <= burn_in or burn_in < 0:
            raise ValueError("need num_sweeps > burn_in >= 0")
        word_ids, offsets, unknown = _map_to_vocab(new_corpus, self.corpus.vocab)
        if word_ids.size == 0:
            raise ValueError("no token of the new documents is in the model's vocabulary")
        empty = int((np.diff(offsets) == 0).sum())
        if empty:
            _log.warning("transform: %d documents have no known word; they get the prior "
                         "mean alpha/alpha0", empty)
        table, _ = self.word_topic_table()
        rng = np.random.default_rng(seed)
        out = []
        for b in range(0, new_corpus.num_docs, batch_size):
            e = min(b + batch_size, new_corpus.num_docs)
            sub_off = offsets[b:e + 1] - offsets[b]
            out.append(fold_in(word_ids[offsets[b]:offsets[e]], sub_off, table,
                               np.asarray(self.alpha, dtype=np.float64), num_sweeps, burn_in,
                               rng))
        return np.concatenate(out)

    def word_topic_table(self) -> tuple[np.ndarray, np.ndarray]:
        """``(c_w · p(w | k) as a (V, K) table, log c_w)`` for fold-in and held-out code."""
        raise NotImplementedError

    @property
    def alpha(self) -> np.ndarray:
        return self.estimates["alpha"]

    def to_datatree(self) -> Any:
        """An ArviZ ``xarray.DataTree`` with posterior, sample_stats and log_likelihood."""
        from arviz_base import from_dict

        data = {g: v for g, v in self.groups.items() if v}
        dims = {k: v for k, v in self.dims.items()
                if any(k in self.groups[g] for g in _GROUPS)}
        dt = from_dict(data, dims=dims)
        dt.attrs.update({"model": self.model, **{
            k: v for k, v in self.settings.items() if isinstance(v, int | float | str | bool)}})
        return dt

    def __repr__(self) -> str:
        ss = self.groups["sample_stats"]
        shape = next(iter(ss.values())).shape if ss else (0, 0)
        return (f"{type(self).__name__}({self.model}, chains={shape[0]}, draws={shape[1]}, "
                f"corpus={self.corpus!r})")

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write a versioned bundle (npz + JSON, no pickle) readable by :func:`ppltopics.load`.

        An existing bundle at ``path`` is replaced atomically; any other existing path raises
        ``FileExistsError`` unless ``overwrite=True`` (a folder holding other files is never
        replaced)."""
        arrays: dict[str, np.ndarray] = {}
        for g, vars_ in self.groups.items():
            arrays.update({f"{g}.{k}": v for k, v in vars_.items()})
        arrays.update({f"estimate.{k}": v for k, v in self.estimates.items()})
        corpus_arrays, corpus_meta = self.corpus.to_arrays()
        arrays.update({f"corpus.{k}": v for k, v in corpus_arrays.items()})
        meta = {
            "model": self.model,
            "dims": self.dims,
            "settings": _jsonable(self.settings),
            "corpus": corpus_meta,
        }
        # subclasses may add files (e.g. TopClus network weights as safetensors)
        extra = getattr(self, "_extra_files", lambda: None)()
        return save_bundle(path, "posterior", arrays, meta, extra_files=extra, compress=True,
                           overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path) -> Posterior:
        """Read a bundle written by :meth:`save`; a damaged one raises
        :class:`~ppltopics.persistence.BundleError` (a ``ValueError``)."""
        arrays, meta = load_bundle(path, kind="posterior")
        with reading(path, "manifest.json"):
            klass = posterior_class(meta["model"])
        with reading(path, "arrays.npz"):
            corpus = Corpus.from_arrays(
                {k[7:]: v for k, v in arrays.items() if k.startswith("corpus.")}, meta["corpus"]
            )
            groups = {g: {k[len(g) + 1:]: v for k, v in arrays.items()
                          if k.startswith(g + ".")} for g in _GROUPS}
            estimates = {k[9:]: v for k, v in arrays.items() if k.startswith("estimate.")}
            post = klass(corpus, groups, meta["dims"], estimates, meta["settings"])
        hook = getattr(post, "_load_extra_files", None)  # reads what _extra_files wrote
        if hook is not None:
            with reading(path, ", ".join(meta["_files"]) or "manifest.json"):
                hook(Path(path), meta)
        return post


#: dimension names indexed by topic (a topic-by-topic matrix has both)
TOPIC_DIMS = ("topic", "topic_b")


def _permute_topics(a: np.ndarray, perm: np.ndarray | None, dims: Sequence[str],
                    lead: int) -> np.ndarray:
    """Apply a topic relabelling to every topic-indexed axis (``lead`` leading draw axes)."""
    if perm is None:
        return a
    for i, d in enumerate(dims):
        if d in TOPIC_DIMS:
            a = np.take(a, perm, axis=lead + i)
    return a


def _map_to_vocab(new_corpus: Corpus, vocab: Sequence[str]) -> tuple[np.ndarray, np.ndarray, int]:
    """Re-index ``new_corpus`` onto ``vocab`` keeping every document (unknown words dropped)."""
    index = {w: i for i, w in enumerate(vocab)}
    lookup = np.array([index.get(w, -1) for w in new_corpus.vocab], dtype=np.int64)
    mapped = lookup[new_corpus.word_ids]
    keep = mapped >= 0
    lengths = np.bincount(new_corpus.token_docs[keep], minlength=new_corpus.num_docs)
    offsets = np.zeros(new_corpus.num_docs + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return mapped[keep].astype(np.int32), offsets, int((~keep).sum())


@register("lda")
class LDAPosterior(Posterior):
    """Posterior of LDA: φ (K, V) and θ (D, K) posterior means, α, and fold-in transform."""

    relabel_by = ("phi", "js")

    @property
    def phi(self) -> np.ndarray:
        return self.estimates["phi"]

    def top_words(self, n: int = 10) -> list[list[str]]:
        """The ``n`` most probable words of every topic under the posterior-mean φ_k."""
        order = np.argsort(-self.phi, axis=1, kind="stable")[:, :n]
        return [[self.corpus.vocab[i] for i in row] for row in order]

    def doc_topics(self) -> np.ndarray:
        """Posterior-mean topic proportions θ_d of the training documents, (D, K)."""
        return self.estimates["theta"]

    def word_topic_table(self) -> tuple[np.ndarray, np.ndarray]:
        """``(p(w | k) as a (V, K) table, log row scales)`` for fold-in and held-out code."""
        return np.ascontiguousarray(self.phi.T), np.zeros(self.phi.shape[1])


def gaussian_logpdf_table(x: np.ndarray, means: np.ndarray, covs: np.ndarray) -> np.ndarray:
    """``out[w, k] = log N(x_w | means[k], covs[k])`` for a (V, M) table, via Cholesky solves."""
    V, M = x.shape
    out = np.empty((V, means.shape[0]))
    for k in range(means.shape[0]):
        L = np.linalg.cholesky(covs[k])
        y = np.linalg.solve(L, (x - means[k]).T)  # (M, V)
        out[:, k] = -0.5 * (y * y).sum(0) - np.log(np.diag(L)).sum() - 0.5 * M * np.log(2 * np.pi)
    return out


@register("glda")
class GaussianPosterior(Posterior):
    """Posterior of a Gaussian topic model: topic means/covariances over word vectors.

    Estimates: ``topic_mean`` (K, M), ``topic_cov`` (K, M, M) (posterior means), ``theta``
    (D, K), ``word_topic`` (K, V) posterior-mean word-topic counts, ``alpha`` and
    ``word_vectors`` (V, M), the table the model was fitted on.
    """

    relabel_by = ("topic_mean", "euclidean")
    heldout_kind = "log density"

    def word_logdensity(self) -> np.ndarray:
        """(V, K) log N(v_w | μ̄_k, Σ̄_k) under the posterior-mean topic parameters."""
        if "_logdens" not in self.__dict__:
            self.__dict__["_logdens"] = gaussian_logpdf_table(
                self.estimates["word_vectors"], self.estimates["topic_mean"],
                self.estimates["topic_cov"])
        return self.__dict__["_logdens"]

    def top_words(self, n: int = 10, by: str = "density") -> list[list[str]]:
        """Top ``n`` words per topic: by the density of their vectors under the topic
        (``by="density"``, DESIGN §4) or by posterior word-topic counts (``by="counts"``)."""
        if by == "density":
            score = self.word_logdensity().T
        elif by == "counts":
            score = self.estimates["word_topic"]
        else:
            raise ValueError(f"by must be 'density' or 'counts', got {by!r}")
        order = np.argsort(-score, axis=1, kind="stable")[:, :n]
        return [[self.corpus.vocab[i] for i in row] for row in order]

    def doc_topics(self) -> np.ndarray:
        return self.estimates["theta"]

    def word_topic_table(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-word scaled densities exp(log f_k(v_w) − max_k) and their log scales."""
        logd = self.word_logdensity()
        m = logd.max(axis=1)
        return np.ascontiguousarray(np.exp(logd - m[:, None])), -m



@register("cgtm")
class CGTMPosterior(GaussianPosterior):
    """Posterior of the correlated Gaussian topic model: GLDA's estimates plus the topic
    correlation ``topic_corr`` (K, K) — of the centred η, the part the data identify (see
    :func:`ppltopics.inference.cgtm.identified_corr`) — and the raw mean ``eta_mu`` and
    covariance ``eta_cov`` of η; ``doc_topics`` is E[softmax(η_d)]."""

    @property
    def alpha(self) -> np.ndarray:
        raise AttributeError("CGTM has logistic-normal proportions, no Dirichlet alpha")

    def transform(self, new_corpus: Corpus, num_sweeps: int = 60, burn_in: int = 20,
                  seed: int = 0, **_: Any) -> np.ndarray:
        """E[softmax(η)] of unseen documents: Gibbs over (z, η) with the topics and (μ, Σ)
        fixed at their posterior means.  Unknown words are dropped."""
        from ppltopics.inference.cgtm import fold_in_eta

        if num_sweeps <= burn_in or burn_in < 0:
            raise ValueError("need num_sweeps > burn_in >= 0")
        word_ids, offsets, _unknown = _map_to_vocab(new_corpus, self.corpus.vocab)
        if word_ids.size == 0:
            raise ValueError("no token of the new documents is in the model's vocabulary")
        table, _ = self.word_topic_table()
        return fold_in_eta(word_ids, offsets, table, self.estimates["eta_mu"],
                           self.estimates["eta_cov"], num_sweeps, burn_in,
                           np.random.default_rng(seed))

    def heldout_per_doc(self, word_ids: np.ndarray, offsets: np.ndarray, particles: int,
                        rng: np.random.Generator) -> np.ndarray:
        """log p(v_d) ≈ log (1/S) Σ_s Π_n Σ_k softmax(η_s)_k f_k(v_n), η_s ~ N(μ̄, Σ̄):
        importance sampling from the prior of η (unbiased for p(v_d)), S = 50·particles."""
        from scipy.special import logsumexp as lse

        logd = self.word_logdensity()
        S = 50 * particles
        eta = rng.multivariate_normal(self.estimates["eta_mu"], self.estimates["eta_cov"], S)
        logtheta = eta - lse(eta, axis=1, keepdims=True)  # (S, K)
        out = np.empty(offsets.size - 1)
        for d in range(offsets.size - 1):
            ld = logd[word_ids[offsets[d]:offsets[d + 1]]]  # (N_d, K)
            per_s = lse(logtheta[:, None, :] + ld[None, :, :], axis=2).sum(axis=1)
            out[d] = lse(per_s) - np.log(S)
        return out

    def plot_correlation(self, path: str | Path) -> Path:
        """Heat map of the posterior-mean topic correlation, labelled by each topic's top
        words, to PNG."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        corr = self.estimates["topic_corr"]
        labels = [" ".join(w[:3]) for w in self.top_words(3)]
        size = max(4.0, 0.35 * len(labels) + 2)
        fig, ax = plt.subplots(figsize=(size + 1.5, size))
        im = ax.imshow(corr, cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        fig.colorbar(im, ax=ax, label="posterior mean correlation of η")
        fig.tight_layout()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return path
