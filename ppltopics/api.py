"""``ppltopics.fit`` and ``ppltopics.load``: one entry point for every model."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from ppltopics.corpus import Corpus
from ppltopics.posteriors import Posterior

__all__ = ["fit", "load", "MODELS", "available_models"]

#: model name -> (module with a ``fit_model`` function, issue that brings it)
MODELS: dict[str, tuple[str, str]] = {
    "lda": ("ppltopics.inference.lda", "LDA end to end"),
    "glda": ("ppltopics.inference.glda", "GLDA"),
    "cgtm": ("ppltopics.inference.cgtm", "CGTM"),
    "hlda": ("ppltopics.inference.hlda", "hLDA and GhLDA"),
    "ghlda": ("ppltopics.inference.ghlda", "hLDA and GhLDA"),
    "topclus": ("ppltopics.inference.topclus", "TopClus"),
}


def _fitter(model: str) -> Any:
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {sorted(MODELS)}")
    module, issue = MODELS[model]
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name != module:
            raise
        raise NotImplementedError(
            f"model {model!r} is not available yet (it arrives with the issue {issue!r})"
        ) from None
    return mod.fit_model


def available_models() -> list[str]:
    """Models whose kernels are installed."""
    out = []
    for m in MODELS:
        try:
            _fitter(m)
            out.append(m)
        except NotImplementedError:
            pass
    return out


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

    ``init`` (lda, glda, cgtm) chooses every chain's starting state, drawn with the chain's
    own generator and recorded in ``settings["init"]``: ``"random"`` (default; z_n uniform
    over the K topics), ``"kmeans"`` (models with word vectors: weighted k-means++ over the
    word vectors, z_n = the cluster of token n's word), ``"lda"`` (the last state of 50
    collapsed Gibbs sweeps of LDA with the same K) or an integer array of K-topic
    assignments, one per token (recorded as ``"array"`` with ``settings["init_sha256"]``);
    see :mod:`ppltopics.inference._init`.  A bad ``init`` is a ``ValueError`` naming the
    problem.  Tree models (hlda, ghlda) take ``init="random"`` only.
    """
    if not isinstance(corpus, Corpus):
        raise TypeError(f"corpus must be a ppltopics.Corpus, got {type(corpus).__name__}")
    from ppltopics.inference.runner import RunSpec

    run_keys = ("checkpoint_every", "callback", "executor")
    spec = RunSpec(
        num_chains=num_chains, num_samples=num_samples, warmup=warmup, thin=thin, seed=seed,
        checkpoint_dir=None if checkpoint_dir is None else str(checkpoint_dir),
        progress=progress, **{k: hyper.pop(k) for k in run_keys if k in hyper},
    )
    spec.validate()
    return _fitter(model)(corpus, vectors=vectors, num_topics=num_topics, spec=spec, **hyper)


def load(path: str | Path) -> Posterior:
    """Load a Posterior written by :meth:`Posterior.save`."""
    return Posterior.load(path)
