"""The Posterior: the one place where corpus, model settings, chains and diagnostics meet.

A :class:`Posterior` holds, per chain and draw, what the kernel recorded (``posterior``,
``sample_stats`` and pointwise ``log_likelihood`` groups, as in ArviZ), plus point estimates
averaged over draws and chains after relabelling every chain's topics onto chain 0's
(Hungarian matching, :func:`ppltopics.diagnostics.relabel`).  Model-specific subclasses add
``top_words``, ``doc_topics`` and ``transform``; they register under the model's name
(:func:`register`) so :func:`ppltopics.load` can rebuild them from a saved bundle.

Posteriors are containers: the numerics they expose (fold-in, held-out estimators, Gaussian
log densities, tree summaries) live in :mod:`ppltopics.inference`, plots in
:mod:`ppltopics.diagnostics`.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ppltopics._validation import check_int, check_type, finite_float
from ppltopics.corpus import Corpus
from ppltopics.persistence import jsonable, load_bundle, reading, save_bundle

if TYPE_CHECKING:
    from ppltopics.inference.base import GibbsKernel

__all__ = ["Posterior", "register", "posterior_class", "GROUPS", "TOPIC_DIMS",
           "permute_topics", "map_to_vocab", "map_known", "check_corpus", "check_sweeps",
           "rank_words", "relevance", "RELEVANCE_WEIGHT", "check_heldout_args"]

_log = logging.getLogger("ppltopics")
_REGISTRY: dict[str, type[Posterior]] = {}
#: the ArviZ groups a Posterior holds, each a dict of arrays with leading dims (chain, draw)
GROUPS = ("posterior", "sample_stats", "log_likelihood")
#: dimension names indexed by topic (a topic-by-topic matrix has both)
TOPIC_DIMS = ("topic", "topic_b")

#: module defining each built-in model's Posterior subclass (imported on first use); the
#: names are those written in saved bundles and must not change
_MODULES = {"lda": "ppltopics.posteriors.lda", "glda": "ppltopics.posteriors.gaussian",
            "cgtm": "ppltopics.posteriors.gaussian", "hlda": "ppltopics.posteriors.tree",
            "ghlda": "ppltopics.posteriors.tree", "topclus": "ppltopics.posteriors.topclus"}


def register(name: str) -> Callable[[type[Posterior]], type[Posterior]]:
    """Class decorator: make a Posterior subclass loadable under the model name ``name``."""

    def deco(cls: type[Posterior]) -> type[Posterior]:
        cls.model = name
        _REGISTRY[name] = cls
        return cls

    return deco


def posterior_class(name: str) -> type[Posterior]:
    """The Posterior subclass registered under the model name ``name`` (built-in models are
    imported on first use).  Raises ``ValueError`` for an unknown name."""
    if name not in _REGISTRY and name in _MODULES:
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

    What evaluation relies on is declared here with a default or an error naming the model:
    :meth:`word_topic_table`, :meth:`heldout_per_doc` and :attr:`heldout_kind` (held-out
    likelihood), :attr:`is_tree`, :meth:`doc_paths` and :meth:`token_levels` (tree
    assignments).
    """

    model: ClassVar[str] = ""
    #: estimate used to match topics across chains, and its cost ("js" or "cosine")
    relabel_by: ClassVar[tuple[str, str]] = ("phi", "js")
    #: what :meth:`heldout_per_doc` estimates: "log probability" of word ids, or
    #: "log density" of word vectors (Gaussian topics; not comparable with the former)
    heldout_kind: ClassVar[str] = "log probability"
    #: True for models whose documents follow paths in a topic tree (:meth:`doc_paths`)
    is_tree: ClassVar[bool] = False

    def __init__(
        self,
        corpus: Corpus,
        groups: Mapping[str, Mapping[str, np.ndarray]],
        dims: Mapping[str, Sequence[str]],
        estimates: Mapping[str, np.ndarray],
        settings: Mapping[str, Any],
    ) -> None:
        self.corpus = corpus
        self.groups = {g: dict(groups.get(g, {})) for g in GROUPS}
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
            vals = [permute_topics(est[name], perm, edims, 0)
                    for est, perm in zip(per_chain, perms, strict=True)]
            estimates[name] = np.mean(vals, axis=0)
        groups: dict[str, dict[str, np.ndarray]] = {g: {} for g in GROUPS}
        for key_ in results[0].stats:
            groups["sample_stats"][key_] = np.stack([r.stats[key_] for r in results])
        for key_, vdims in dims.items():
            if key_ not in results[0].draws:
                continue
            groups["posterior"][key_] = np.stack([
                permute_topics(r.draws[key_], perm, vdims, 1)
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
        cls, kernel: GibbsKernel, spec: Any, settings: Mapping[str, Any] | None = None,
    ) -> Posterior:
        """Run ``spec.num_chains`` chains of ``kernel`` (:func:`ppltopics.inference.runner.
        run_chains`) and build the Posterior with :meth:`from_chains` on ``kernel.corpus``.

        Settings: ``kernel.config()``, the run's draw-determining settings
        (``spec.fingerprint()``), ``num_tokens``, then ``settings`` (extra, e.g. ``num_topics``
        when the config lacks it).  What every ``fit_model`` does after building its kernel.
        """
        from ppltopics.inference.base import GibbsKernel
        from ppltopics.inference.runner import run_chains

        check_type("kernel", kernel, GibbsKernel,
                   "a ppltopics.inference.GibbsKernel (which declares the training .corpus)")
        corpus = check_type("kernel.corpus", kernel.corpus, Corpus, "a ppltopics.Corpus")
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
        """The ``n`` top words of every topic (each model defines the ranking).

        ``n`` must be a positive integer (``ValueError`` otherwise, bools included); an ``n``
        larger than the vocabulary gives every word, ranked."""
        raise NotImplementedError(f"the {self.model!r} posterior defines no top_words")

    def doc_topics(self) -> np.ndarray:
        """Topic (or node) proportions of the training documents, (D, K)."""
        raise NotImplementedError(f"the {self.model!r} posterior defines no doc_topics")

    def transform(
        self, new_corpus: Corpus, num_sweeps: int = 100, burn_in: int = 50, seed: int = 0,
        batch_size: int = 4096,
    ) -> np.ndarray:
        """θ of unseen documents by fold-in Gibbs with the topics fixed at their posterior
        means (``word_topic_table``; :func:`ppltopics.inference._foldin.fold_in`):
        p(z_n = k | z_−n) ∝ (n_dk + α_k) p(w_n | k), θ̂_dk = (n_dk + α_k)/(N_d + α₀) averaged
        over the sweeps after ``burn_in``.

        Words unknown to the model are dropped; a document with no known word gets the prior
        mean α/α₀ (and a warning).  Documents are folded in ``batch_size`` at a time, one
        random stream throughout.  Raises ``TypeError`` unless ``new_corpus`` is a
        :class:`~ppltopics.Corpus`, ``ValueError`` unless ``num_sweeps > burn_in >= 0`` and
        ``batch_size >= 1`` are integers, and ``ValueError`` if no document has a known word.
        """
        from ppltopics.inference._foldin import fold_in

        num_sweeps, burn_in = check_sweeps(num_sweeps, burn_in)
        batch_size = check_int("batch_size", batch_size, 1)
        word_ids, offsets, unknown = map_known(new_corpus, self.corpus.vocab)
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
        """``(c_w · p(w | k) as a (V, K) table, log c_w)`` for fold-in and held-out code.

        Raises ``NotImplementedError`` for models without a flat bag-of-words likelihood.
        """
        raise NotImplementedError(f"the {self.model!r} posterior has no word-topic table "
                                  "(fold-in and held-out likelihood need one)")

    def heldout_per_doc(self, word_ids: np.ndarray, offsets: np.ndarray, particles: int,
                        rng: np.random.Generator) -> np.ndarray:
        """Estimate of log p(w_d | topics, α) per held-out document (word ids already in the
        model's vocabulary, documents delimited by ``offsets``).

        Default, for a Dirichlet θ: the left-to-right estimator with ``particles`` particles
        (Wallach et al., ICML 2009; :func:`ppltopics.inference._heldout.left_to_right`) on
        :meth:`word_topic_table` and :attr:`alpha`.  Models with another θ prior override it.
        The arguments are checked by :func:`check_heldout_args`.
        """
        from ppltopics.inference._heldout import left_to_right

        check_heldout_args(word_ids, offsets, particles, rng, self.corpus.vocab_size)
        table, log_scale = self.word_topic_table()
        return left_to_right(word_ids, offsets, table, log_scale,
                             np.asarray(self.alpha, dtype=np.float64), particles, rng)

    def doc_paths(self) -> np.ndarray:
        """(num_docs, L) node ids of every training document's path (tree models only;
        raises ``ValueError`` otherwise, see :attr:`is_tree`)."""
        raise ValueError(f"the {self.model!r} posterior is not a tree model: no document "
                         "paths")

    def token_levels(self) -> np.ndarray:
        """(num_tokens,) tree level of every training token (tree models only; raises
        ``ValueError`` otherwise, see :attr:`is_tree`)."""
        raise ValueError(f"the {self.model!r} posterior is not a tree model: no token levels")

    @property
    def alpha(self) -> np.ndarray:
        """Posterior-mean Dirichlet concentration α of the topic proportions, (K,)."""
        return self.estimates["alpha"]

    def to_pyldavis(self, smoothing: float = 0.01, **kwargs: Any) -> Any:
        """pyLDAvis prepared data (``pyLDAvis.prepare``) of this posterior, for
        ``pyLDAvis.display``/``save_html``: φ for LDA, smoothed posterior-mean word–topic
        counts for the Gaussian models (:mod:`ppltopics._pyldavis`).  ``ImportError`` when
        pyLDAvis is not installed (``pip install 'ppltopics[viz]'``)."""
        from ppltopics._pyldavis import to_pyldavis

        return to_pyldavis(self, smoothing, **kwargs)

    def to_datatree(self) -> Any:
        """An ArviZ ``xarray.DataTree`` with posterior, sample_stats and log_likelihood."""
        from arviz_base import from_dict

        data = {g: v for g, v in self.groups.items() if v}
        dims = {k: v for k, v in self.dims.items()
                if any(k in self.groups[g] for g in GROUPS)}
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
    def _extra_files(self) -> dict[str, bytes] | None:
        """Files a subclass saves beside the arrays (e.g. TopClus network weights)."""
        return None

    def _load_extra_files(self, path: Path, meta: dict[str, Any]) -> None:
        """Read back what :meth:`_extra_files` wrote (``meta["_files"]`` lists them)."""

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
            "settings": jsonable(self.settings),
            "corpus": corpus_meta,
        }
        extra = self._extra_files()
        return save_bundle(path, "posterior", arrays, meta, extra_files=extra, compress=True,
                           overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path) -> Posterior:
        """Rebuild a saved Posterior as the subclass registered under its model name; a
        damaged bundle raises :class:`~ppltopics.persistence.BundleError` (a ``ValueError``)."""
        arrays, meta = load_bundle(path, kind="posterior")
        with reading(path, "manifest.json"):
            klass = posterior_class(meta["model"])
        with reading(path, "arrays.npz"):
            corpus = Corpus.from_arrays(
                {k[7:]: v for k, v in arrays.items() if k.startswith("corpus.")}, meta["corpus"]
            )
            groups = {g: {k[len(g) + 1:]: v for k, v in arrays.items()
                          if k.startswith(g + ".")} for g in GROUPS}
            estimates = {k[9:]: v for k, v in arrays.items() if k.startswith("estimate.")}
            post = klass(corpus, groups, meta["dims"], estimates, meta["settings"])
        with reading(path, ", ".join(meta.get("_files", [])) or "manifest.json"):
            post._load_extra_files(Path(path), meta)
        return post


def permute_topics(a: np.ndarray, perm: np.ndarray | None, dims: Sequence[str],
                   lead: int) -> np.ndarray:
    """Apply a topic relabelling to every topic-indexed axis (``lead`` leading draw axes):
    ``a[..., perm, ...]`` on each axis named in :data:`TOPIC_DIMS`."""
    if perm is None:
        return a
    for i, d in enumerate(dims):
        if d in TOPIC_DIMS:
            a = np.take(a, perm, axis=lead + i)
    return a


def map_to_vocab(new_corpus: Corpus, vocab: Sequence[str]) -> tuple[np.ndarray, np.ndarray, int]:
    """Re-index ``new_corpus`` onto ``vocab`` keeping every document (unknown words dropped).

    Returns ``(word_ids (N',) int32, doc offsets (D + 1,), number of dropped tokens)``.
    """
    index = {w: i for i, w in enumerate(vocab)}
    lookup = np.array([index.get(w, -1) for w in new_corpus.vocab], dtype=np.int64)
    mapped = lookup[new_corpus.word_ids]
    keep = mapped >= 0
    lengths = np.bincount(new_corpus.token_docs[keep], minlength=new_corpus.num_docs)
    offsets = np.zeros(new_corpus.num_docs + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return mapped[keep].astype(np.int32), offsets, int((~keep).sum())


def map_known(new_corpus: Any, vocab: Sequence[str], name: str = "new_corpus",
              ) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`map_to_vocab` for documents given by a user: ``new_corpus`` must be a
    :class:`~ppltopics.Corpus` (``TypeError``) with at least one token whose word is in
    ``vocab`` (``ValueError`` naming ``name`` and some of its words otherwise)."""
    check_corpus(name, new_corpus)
    word_ids, offsets, unknown = map_to_vocab(new_corpus, vocab)
    if word_ids.size == 0:
        some = ", ".join(repr(w) for w in new_corpus.vocab[:5])
        more = ", ..." if len(new_corpus.vocab) > 5 else ""
        raise ValueError(
            f"no token of {name} is in the model's vocabulary: none of its "
            f"{len(new_corpus.vocab)} word types ({some}{more}) is among the {len(vocab)} "
            "words the model was fitted on")
    return word_ids, offsets, unknown


def check_corpus(name: str, corpus: Any) -> Corpus:
    """``corpus`` checked to be a :class:`~ppltopics.Corpus` (``TypeError`` naming ``name``
    otherwise; a ``Corpus`` is never empty, its constructor refuses that)."""
    return check_type(name, corpus, Corpus,
                      "a ppltopics.Corpus (build one with Corpus.from_tokens or "
                      "Corpus.from_texts)")


def check_sweeps(num_sweeps: Any, burn_in: Any) -> tuple[int, int]:
    """``(num_sweeps, burn_in)`` of a fold-in, checked to be integers with
    ``num_sweeps > burn_in >= 0`` (``ValueError`` naming both otherwise)."""
    num_sweeps = check_int("num_sweeps", num_sweeps, 1)
    burn_in = check_int("burn_in", burn_in, 0)
    if burn_in >= num_sweeps:
        raise ValueError(f"need num_sweeps > burn_in >= 0, got num_sweeps={num_sweeps}, "
                         f"burn_in={burn_in}")
    return num_sweeps, burn_in


def rank_words(score: np.ndarray, n: Any, vocab: Sequence[str]) -> list[list[str]]:
    """The words of the ``n`` largest entries of every row of ``score`` (topics × V), best
    first (ties: lower word id first).  ``n`` must be a positive integer; ``n > V`` gives all
    ``V`` words of each row."""
    n = check_int("n", n, 1)
    order = np.argsort(-score, axis=1, kind="stable")[:, :n]
    return [[vocab[i] for i in row] for row in order]


#: Sievert & Shirley's λ: the weight of a word's own probability in its relevance to a topic
#: (their user study's best value; ``top_words(by="relevance")``)
RELEVANCE_WEIGHT = 0.6


def relevance(phi: np.ndarray, word_freq: np.ndarray, weight: Any = RELEVANCE_WEIGHT
              ) -> np.ndarray:
    """Relevance of every word to every topic (Sievert & Shirley, LDAvis, 2014),

        r_kw = λ log φ_kw + (1 − λ) log(φ_kw / p_w),

    of topic–word probabilities ``phi`` (topics × V) and the words' corpus shares ``word_freq``
    (p_w, V; any positive scale: it is normalised here).  λ = ``weight`` = 1 ranks by φ_kw;
    smaller λ favours words specific to the topic (lift φ_kw / p_w) over frequent words every
    topic shares.  Words absent from the corpus (p_w = 0) get −inf.  ``weight`` must be a
    number in [0, 1] (``ValueError`` naming ``relevance_weight`` otherwise)."""
    lam = finite_float("relevance_weight", weight)
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"relevance_weight must lie in [0, 1] (Sievert & Shirley's λ; 1 ranks "
                         f"by probability), got {lam}")
    freq = np.asarray(word_freq, dtype=np.float64)
    seen = freq > 0
    logp = np.zeros(freq.shape)
    logp[seen] = np.log(freq[seen] / freq.sum())
    logphi = np.log(np.asarray(phi, dtype=np.float64))
    out = logphi - (1.0 - lam) * logp
    out[:, ~seen] = -np.inf
    return out


def check_heldout_args(word_ids: Any, offsets: Any, particles: Any, rng: Any,
                       vocab_size: int) -> None:
    """Check the arguments of :meth:`Posterior.heldout_per_doc`: ``word_ids`` a 1-d integer
    array with entries in [0, ``vocab_size``), ``offsets`` a 1-d integer array starting at 0,
    non-decreasing and ending at ``len(word_ids)``, ``particles`` an integer >= 1, ``rng`` a
    ``numpy.random.Generator``.  Out-of-range ids would be read outside the word tables by
    the compiled estimators, so they are refused here."""
    check_int("particles", particles, 1)
    check_type("rng", rng, np.random.Generator, "a numpy.random.Generator")
    for name, a in (("word_ids", word_ids), ("offsets", offsets)):
        check_type(name, a, np.ndarray, "a numpy integer array")
        if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"{name} must be a 1-d integer array, got shape {a.shape} and "
                             f"dtype {a.dtype}")
    if word_ids.size and (word_ids.min() < 0 or word_ids.max() >= vocab_size):
        raise ValueError(f"word_ids must lie in [0, {vocab_size}) (the model's vocabulary), "
                         f"got values from {word_ids.min()} to {word_ids.max()}")
    if (offsets.size < 1 or offsets[0] != 0 or offsets[-1] != word_ids.size
            or np.any(np.diff(offsets) < 0)):
        raise ValueError(f"offsets must be non-decreasing from 0 to len(word_ids) = "
                         f"{word_ids.size}, got {offsets.size} offsets from "
                         f"{offsets[0] if offsets.size else None} to "
                         f"{offsets[-1] if offsets.size else None}")
