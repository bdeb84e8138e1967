"""``ppltopics.fit`` and ``ppltopics.load``: one entry point for every model."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from ppltopics._validation import check_choice
from ppltopics.corpus import Corpus
from ppltopics.posteriors import Posterior

__all__ = ["fit", "load", "MODELS", "OPTIONAL_DEPENDENCIES", "available_models"]

#: model name -> module with its ``fit_model`` function
MODELS: dict[str, str] = {
    "lda": "ppltopics.inference.lda",
    "glda": "ppltopics.inference.glda",
    "cgtm": "ppltopics.inference.cgtm",
    "hlda": "ppltopics.inference.hlda",
    "ghlda": "ppltopics.inference.ghlda",
    "topclus": "ppltopics.inference.topclus",
}

#: model name -> optional packages it needs to fit from text (``pip install ppltopics[plm]``);
#: TopClus embeds the documents with a transformers encoder unless given ``embeddings=``
OPTIONAL_DEPENDENCIES: dict[str, tuple[str, ...]] = {"topclus": ("transformers",)}


def _fitter(model: str) -> Any:
    """The ``fit_model`` function of ``model``'s kernel module."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {sorted(MODELS)}")
    return importlib.import_module(MODELS[model]).fit_model


def available_models() -> list[str]:
    """Models that can be fitted from a corpus here: all of :data:`MODELS` whose optional
    dependencies (:data:`OPTIONAL_DEPENDENCIES`) are installed."""
    return [m for m in MODELS
            if all(importlib.util.find_spec(dep) is not None
                   for dep in OPTIONAL_DEPENDENCIES.get(m, ()))]


def fit(
    model: str,
    corpus: Corpus,
    vectors: Any = None,
    num_topics: int = 20,
    num_chains: int = 4,
    num_samples: int = 200,
    warmup: int = 200,
    thin: int = 1,
    seed: int = 0,
    checkpoint_dir: str | Path | None = None,
    progress: bool = True,
    **hyper: Any,
) -> Posterior:
    """Fit ``model`` to ``corpus`` with ``num_chains`` chains and return its Posterior.

    ``hyper`` holds model-specific hyperparameters and kernel options (e.g. ``alpha``,
    ``beta``, ``optimize_alpha`` for LDA); run options ``checkpoint_every``, ``callback`` and
    ``executor`` are passed to the runner (:class:`ppltopics.inference.runner.RunSpec`).

    ``split_merge`` (``"lda"``, ``"glda"``, ``"cgtm"``; default True for ``"glda"`` and
    ``"cgtm"``: measured to recover planted topics from random starts at ~24 % (GLDA) and
    ~9 % (CGTM) of sweep time; False for ``"lda"``, whose True means its own settings
    ``LDA_SPLIT_MERGE``, the document proposal every max(2, ⌈30/K⌉) sweeps): True, or a
    dict of
    :class:`~ppltopics.inference._split_merge.SplitMerge` fields (``moves``, ``every``,
    ``scans``, ...), adds exact split–merge Metropolis–Hastings moves every ``every`` sweeps
    (a merge of two topics paired with a split of a third; restricted-Gibbs proposals, Jain
    & Neal 2004, for Gaussian topics a mixture of sharp and tempered scans from a word-type
    launch), recorded in the settings; the
    per-draw ``split_merge_accept`` counts go to ``sample_stats``.  Anything other than a
    bool, a dict or a ``SplitMerge`` raises ValueError.  For ``"hlda"`` and ``"ghlda"``
    ``split_merge`` takes :class:`~ppltopics.inference._tree_moves.TreeMoves` fields
    (``moves``, ``every``, ``refresh_share``, ``level_scans``, ``doc_moves``): exact
    split–merge moves of sibling nodes, subtree regrafts and document moves (one document's
    path and a relabelling of its levels).
    ``init`` (lda, glda, cgtm) chooses every chain's starting state, drawn with the chain's
    own generator and recorded in ``settings["init"]``: ``"random"`` (LDA's default; z_n
    uniform over the K topics), ``"kmeans"`` (models with word vectors, GLDA's and CGTM's
    default except with the word view: weighted k-means++ over the word vectors, z_n = the
    cluster of token n's word; every planted topic found in 30/30 runs against 27/30 and
    21/30 from uniform topics), ``"lda"`` (the last state of 50
    collapsed Gibbs sweeps of LDA with the same K) or an integer array of K-topic
    assignments, one per token (recorded as ``"array"`` with ``settings["init_sha256"]``);
    see :mod:`ppltopics.inference._init`.  A bad ``init`` is a ``ValueError`` naming the
    problem.  Tree models (hlda, ghlda) start by default from a Ward hierarchy of the
    documents (``init="cluster"``: planted trees found from it, never from nCRP-prior paths;
    :mod:`ppltopics.inference._tree_init`), or take ``init="random"`` (paths from the nCRP
    prior, or ``initial_tree``'s).
    ``workers`` (lda, glda, cgtm, ghlda; default 1): threads per chain, an approximate
    parallel sweep reproducible for a given value (:mod:`ppltopics.inference._partition`); 1
    is the exact serial sweep (GLDA and CGTM make a chain's first 2 / 5 sweeps serially, which keeps
    blocks from breaking a random start's symmetry each their own way; GhLDA draws its paths
    serially and only its levels on the threads).  ``executor`` may also be
    a ``dask.distributed.Client``: each chain runs as a task on the cluster; for ``"lda"``
    with ``workers`` > 1 each chain is instead spread over the cluster (W document shards
    pinned to workers, word chunks travelling; the same chain as the threaded one,
    checkpointed, surviving lost workers: :mod:`ppltopics.inference._dask_lda`).
    ``beta`` and ``vector_weight`` (glda, cgtm): the word view — each token also emits its
    word from a Dirichlet–multinomial topic φ_k ~ Dirichlet(β), and the vectors' log density
    is weighed by λ = ``vector_weight`` (:mod:`ppltopics.models.glda`, "Word view"); default
    ``beta=None``, ``vector_weight=1``: Das et al.'s GLDA.
    ``anneal`` (glda, cgtm; default 0): the first ``anneal`` warm-up sweeps target the vector
    density to a power rising geometrically from 0.1 to 1 (an annealed warm-up, recorded in
    the settings; CGTM's draw z there as GLDA's do, θ integrated out under Dirichlet(1/K));
    the sweeps after it, and every draw kept, are the exact kernel's.

    Models over word vectors (glda, cgtm, ghlda) also take ``min_count`` / ``min_df`` (fit
    on ``corpus.prune(min_count, min_df)``: the posterior's ``corpus`` is then the pruned
    one, documents left empty dropped) and ``prepare`` (steps of
    :meth:`ppltopics.WordVectors.prepare`, e.g. ``"abtt"``, applied to the vectors of the
    kept words; the vectors passed in are not modified), ``prepare_weights`` (``"words"``,
    the default: ``abtt``/``pca`` fitted to the word list alike; ``"tokens"``: each word
    weighted by its token count in the corpus fitted).  The default ``prepare="auto"``
    is :func:`auto_prepare`: All-but-the-Top and PCA to 10 dimensions for vectors of more
    than 20 (``prepare=None`` keeps the raw vectors; ``preset=`` implies None).  GhLDA
    without a preset also defaults to ``psi0="within"``, ν0 =
    :func:`ppltopics.models.gaussian_prior.tree_nu0` and κ0 =
    :func:`~ppltopics.models.gaussian_prior.tree_kappa0` (a prior as strong as a few
    documents, so that one document cannot grow its own branch).  All are recorded in
    ``post.settings``.
    """
    if not isinstance(corpus, Corpus):
        raise TypeError(f"corpus must be a ppltopics.Corpus, got {type(corpus).__name__}")
    from ppltopics.inference.runner import RunSpec

    if "workers" in hyper and model not in THREADED_MODELS:
        raise ValueError(f"workers (threads per chain) is not available for {model!r}: "
                         f"one of {', '.join(THREADED_MODELS)}; chains run in parallel with "
                         "num_chains and executor")
    prep = _prepare_embedding_inputs(model, corpus, vectors, hyper)
    if prep is not None:
        corpus, vectors, recorded = prep

    run_keys = ("checkpoint_every", "callback", "executor")
    spec = RunSpec(
        num_chains=num_chains, num_samples=num_samples, warmup=warmup, thin=thin, seed=seed,
        checkpoint_dir=None if checkpoint_dir is None else str(checkpoint_dir),
        progress=progress, **{k: hyper.pop(k) for k in run_keys if k in hyper},
    )
    spec.validate()
    post = _fitter(model)(corpus, vectors=vectors, num_topics=num_topics, spec=spec, **hyper)
    if prep is not None:
        post.settings.update(recorded)
    return post


#: models whose chains take ``workers`` (threads per chain)
THREADED_MODELS = ("lda", "glda", "cgtm", "ghlda")
#: models over word vectors that take ``min_count``, ``min_df`` and ``prepare``
EMBEDDING_MODELS = ("glda", "cgtm", "ghlda")
#: ``prepare="auto"`` (the default of the embedding models): All-but-the-Top then PCA to
#: :data:`AUTO_PCA_DIM` dimensions for vectors of more than ``2·AUTO_PCA_DIM`` dimensions,
#: the raw vectors otherwise (measured in ``benchmarks/quality.py``; see the README)
AUTO_PCA_DIM = 10


def auto_prepare(dim: int) -> str | None:
    """The steps of ``prepare="auto"`` for vectors of dimension ``dim``."""
    return f"abtt,pca:{AUTO_PCA_DIM}" if dim > 2 * AUTO_PCA_DIM else None


def _prepare_embedding_inputs(model: str, corpus: Corpus, vectors: Any,
                              hyper: dict[str, Any]) -> tuple[Corpus, Any, dict] | None:
    """Pop the embedding-model options ``min_count``, ``min_df`` (vocabulary threshold,
    :meth:`Corpus.prune`) and ``prepare`` (word-vector steps, :meth:`WordVectors.prepare`)
    from ``hyper``; return the pruned corpus, the prepared vectors (new objects: the
    caller's are untouched) and what to record in the settings, or None when none is given.
    Other models given these options raise ``ValueError``."""
    keys = [k for k in ("min_count", "min_df", "prepare", "prepare_weights") if k in hyper]
    if model not in EMBEDDING_MODELS:
        if keys:
            raise ValueError(f"{keys} apply to the models over word vectors "
                             f"{EMBEDDING_MODELS}, not to {model!r}")
        return None
    if hyper.get("preset") is not None and "prepare" not in hyper:
        hyper["prepare"] = None  # a published preset keeps the raw vectors
    min_count = hyper.pop("min_count", 1)
    min_df = hyper.pop("min_df", 1)
    steps = hyper.pop("prepare", "auto")
    # "words" (default): abtt/pca fitted to the word list; "tokens": to the token counts
    # (measured in benchmarks/README.md, "Token-weighted preparation")
    weighting = check_choice("prepare_weights", hyper.pop("prepare_weights", "words"),
                             ("tokens", "words"))
    if steps == "auto":
        steps = auto_prepare(vectors.dim) if hasattr(vectors, "dim") else None
    recorded: dict[str, Any] = {"min_count": min_count, "min_df": min_df, "prepare": steps}
    if min_count != 1 or min_df != 1:
        before = corpus.num_docs
        corpus = corpus.prune(min_count=min_count, min_df=min_df)
        recorded["pruned_vocab_size"] = corpus.vocab_size
        recorded["pruned_dropped_docs"] = before - corpus.num_docs
    recorded["prepare"] = steps
    if steps is not None and vectors is not None and hasattr(vectors, "prepare"):
        recorded["prepare_weights"] = weighting
        counts = np.bincount(corpus.word_ids, minlength=corpus.vocab_size) \
            if weighting == "tokens" else None
        vectors = vectors.select(corpus.vocab).prepare(steps, counts)
    if model == "ghlda" and hyper.get("preset") is None and vectors is not None and hasattr(
            vectors, "dim"):
        from ppltopics.models.gaussian_prior import tree_kappa0, tree_nu0

        if hyper.get("nu0") is None:
            hyper["nu0"] = tree_nu0(vectors.dim, corpus)
            recorded["nu0_rule"] = "tree_nu0"
        if hyper.get("kappa0") is None:
            hyper["kappa0"] = tree_kappa0(corpus)
            recorded["kappa0_rule"] = "tree_kappa0"
        if hyper.get("psi0") is None:
            hyper["psi0"] = "within"
    return corpus, vectors, recorded


def load(path: str | Path) -> Posterior:
    """Load a Posterior written by :meth:`Posterior.save`."""
    return Posterior.load(path)
