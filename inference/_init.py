"""Starting states of the flat topic models' chains: ``init="random" | "kmeans" | "lda" | z``.

A start changes where a chain begins, never what it targets: every kernel's sweeps leave the
same posterior invariant whatever the first state.  A good start only shortens the way to the
posterior's high-probability region, which one-token-at-a-time Gibbs may otherwise not find
(two clusters sharing a topic while another is split over two topics is a state such a chain
rarely leaves).  Every start is drawn with the chain's own generator, inside the kernel's
``init_state(rng)``, so it is per chain and reproducible from the run's seed.

``"random"``
    z_n ~ Uniform{0, …, K−1} independently (the default; each kernel draws it itself, so its
    draws are those of earlier versions).
``"kmeans"``
    (models with word vectors) weighted k-means over the vocabulary: every word type w with
    c_w > 0 tokens is a point x_w of weight c_w, so the objective is the token-level one
    Σ_n ‖x_{w_n} − m_{z_n}‖² = Σ_w c_w ‖x_w − m_{k(w)}‖² at the cost of a pass over word
    types.  Centres are seeded by k-means++ (Arthur & Vassilvitskii, SODA 2007) with the
    draw of a new centre ∝ c_w·D(x_w)², D the distance to the nearest centre so far, then
    at most :data:`KMEANS_ITERATIONS` Lloyd iterations m_k = Σ_{w∈k} c_w x_w / Σ_{w∈k} c_w
    (Lloyd, IEEE Trans. Inf. Theory 1982); of :data:`KMEANS_RESTARTS` such runs the one with
    the least weighted within-cluster sum of squares is kept (one run may put two centres in
    one cluster).  Every token of word w starts in its word's cluster,
    z_n = k(w_n) (no further randomisation).
``"lda"``
    (any flat model) :data:`LDA_SWEEPS` collapsed Gibbs sweeps of LDA (Griffiths & Steyvers,
    PNAS 2004; the SparseLDA kernel of :mod:`ppltopics.inference.lda`) over the same corpus
    with the same K from a random start, α = the model's α (1/K where the model has none),
    β = :data:`LDA_BETA`; its last z starts the chain.
an integer array of length N
    the user's own assignments, each in [0, K); copied.

:func:`check_init` validates the option when the kernel is built (each problem a
``ValueError`` naming it) and :func:`init_config` is what the kernel's ``config()`` and the
posterior's settings record (an array as ``"array"`` plus a SHA-256 checksum, so a checkpoint
written from another start is refused).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

__all__ = ["INITS", "KMEANS_ITERATIONS", "KMEANS_RESTARTS", "LDA_SWEEPS", "LDA_BETA", "check_init",
           "check_tree_init", "gaussian_fit_init", "init_config",
           "initial_assignments", "weighted_kmeans", "kmeans_assignments", "lda_assignments"]

#: the named starts (an integer array is the fourth kind)
INITS = ("random", "kmeans", "lda")
#: most Lloyd iterations after the k-means++ seeding
KMEANS_ITERATIONS = 10
#: k-means++ runs of ``init="kmeans"``; the one of least within-cluster sum of squares wins
KMEANS_RESTARTS = 8
#: LDA sweeps of ``init="lda"``
LDA_SWEEPS = 50
#: topic-word Dirichlet concentration of ``init="lda"``'s LDA
LDA_BETA = 0.01


def check_init(init: Any, *, model: str, num_tokens: int, num_topics: int,
               has_vectors: bool) -> str | np.ndarray:
    """Validate ``init`` for a model and return it normalised (a name, or an int64 copy).

    Raises ``ValueError`` naming the problem: an unknown name, ``"kmeans"`` for a model
    without word vectors, an array that is not one-dimensional, not of integer dtype, not of
    length ``num_tokens`` or with a value outside [0, ``num_topics``).
    """
    if isinstance(init, str):
        if init not in INITS:
            raise ValueError(f"init={init!r} is not a start: choose 'random', 'kmeans' "
                             "(models with word vectors), 'lda' or an integer array of topic "
                             "assignments, one per token")
        if init == "kmeans" and not has_vectors:
            raise ValueError(f"init='kmeans' clusters word vectors, which {model} does not "
                             "have: use init='random', 'lda' or an array of assignments")
        return init
    if init is None or isinstance(init, bool | int | float | dict):
        raise ValueError(f"init must be 'random', 'kmeans', 'lda' or an integer array of "
                         f"topic assignments, got {init!r}")
    arr = np.asarray(init)
    if arr.ndim != 1:
        raise ValueError(f"init array must be one-dimensional (one topic per token), got "
                         f"shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise ValueError(f"init array must have an integer dtype, got {arr.dtype}")
    if arr.shape[0] != num_tokens:
        raise ValueError(f"init array has length {arr.shape[0]}, but the corpus has "
                         f"{num_tokens} tokens (one topic per token)")
    if arr.size and (arr.min() < 0 or arr.max() >= num_topics):
        raise ValueError(f"init array values must lie in [0, num_topics={num_topics}), got "
                         f"range [{arr.min()}, {arr.max()}]")
    return arr.astype(np.int64, copy=True)


def check_tree_init(init: Any, model: str, initial_tree: Any = None) -> str:
    """The start of a tree model (hLDA, GhLDA): ``"cluster"`` (paths from a hierarchy of the
    documents, :mod:`ppltopics.inference._tree_init`) or ``"random"`` (paths from the nCRP
    prior, or uniform over ``initial_tree``'s leaves).  ``None`` resolves to ``"cluster"``,
    or to ``"random"`` when ``initial_tree`` is given.  Anything else is a ``ValueError``
    naming the starts they take."""
    if init is None:
        return "random" if initial_tree is not None else "cluster"
    if not (isinstance(init, str) and init in ("random", "cluster")):
        shown = f"an array of shape {np.shape(init)}" if np.ndim(init) else repr(init)
        raise ValueError(f"{model} takes init='cluster' (a hierarchy of the documents) or "
                         f"'random' (paths from the nCRP prior), got {shown}; shape a start "
                         "with initial_tree=[...] and init_levels= instead")
    return init


def gaussian_fit_init(init: Any, word_view: bool) -> Any:
    """``pt.fit``'s start of GLDA and CGTM: ``None`` resolves to ``"kmeans"``, or to
    ``"random"`` with the word view (``beta`` given); anything else is returned as is (and
    validated by the kernel).

    Measured (Dec 2026): with the split–merge moves on (the default), planted Gaussian
    corpora of 6–20 clusters, well separated and overlapping (``bench_split_merge.py
    --init kmeans``, 30 corpus seeds), every planted topic found in 30/30 runs from the
    k-means start against 27/30 (GLDA) and 21/30 (CGTM) from uniform topics; held-out
    document NPMI on BBC and 20NG (``quality.py``, 8 seeds) level or higher (CGTM on BBC
    0.048 ± 0.017 against 0.012 ± 0.019), diversity higher.  The kernels keep ``"random"``
    as their own default (their draws from a given start are what the tests pin)."""
    if init is None:
        return "random" if word_view else "kmeans"
    return init


def init_config(init: str | np.ndarray) -> dict[str, Any]:
    """What ``config()`` records of a (validated) start: ``{"init": name}``, with
    ``"init_sweeps"`` for ``"lda"``, or ``{"init": "array", "init_sha256": checksum}``
    (SHA-256 of the int64 assignments, first 16 hex digits)."""
    if isinstance(init, str):
        return {"init": init, "init_sweeps": LDA_SWEEPS} if init == "lda" else {"init": init}
    digest = hashlib.sha256(np.ascontiguousarray(init, dtype=np.int64).tobytes()).hexdigest()
    return {"init": "array", "init_sha256": digest[:16]}


def weighted_kmeans(points: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator,
                    iterations: int = KMEANS_ITERATIONS) -> tuple[np.ndarray, np.ndarray]:
    """Weighted k-means++ seeding and Lloyd iterations (module docstring).

    ``points`` (P, M), ``weights`` (P,) > 0.  Returns ``(labels (P,), centres (k, M))``
    minimising Σ_p w_p ‖x_p − m_{label_p}‖² locally (one k-means++ seeding).  With fewer
    distinct points than ``k`` the surplus centres repeat a point and keep no member.
    """
    x = np.asarray(points, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    P = x.shape[0]
    centres = np.empty((k, x.shape[1]))
    first = rng.choice(P, p=w / w.sum())
    centres[0] = x[first]
    d2 = ((x - centres[0]) ** 2).sum(axis=1)
    for j in range(1, k):
        score = w * d2
        total = score.sum()
        idx = rng.choice(P, p=score / total) if total > 0 else rng.choice(P, p=w / w.sum())
        centres[j] = x[idx]
        d2 = np.minimum(d2, ((x - centres[j]) ** 2).sum(axis=1))
    labels = _nearest(x, centres)
    for _ in range(iterations):
        mass = np.bincount(labels, weights=w, minlength=k)
        sums = np.zeros_like(centres)
        np.add.at(sums, labels, w[:, None] * x)
        full = mass > 0
        centres[full] = sums[full] / mass[full, None]
        new = _nearest(x, centres)
        if np.array_equal(new, labels):
            break
        labels = new
    return labels, centres


def _nearest(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre of every row of ``x`` (squared Euclidean distance)."""
    d = (x * x).sum(axis=1)[:, None] - 2.0 * x @ centres.T + (centres * centres).sum(axis=1)
    return np.argmin(d, axis=1).astype(np.int64)


def kmeans_assignments(word_ids: np.ndarray, table: np.ndarray, num_topics: int,
                       rng: np.random.Generator) -> np.ndarray:
    """``init="kmeans"``: z_n = the cluster of word w_n from the best of
    :data:`KMEANS_RESTARTS` runs of :func:`weighted_kmeans` over the word types that occur,
    weighted by their token counts c_w."""
    word_ids = np.asarray(word_ids, dtype=np.int64)
    counts = np.bincount(word_ids, minlength=table.shape[0])
    used = np.flatnonzero(counts)
    x, c = table[used], counts[used].astype(np.float64)
    best, labels = np.inf, np.zeros(used.size, dtype=np.int64)
    for _ in range(KMEANS_RESTARTS):
        lab, centres = weighted_kmeans(x, c, num_topics, rng)
        sse = float((c * ((x - centres[lab]) ** 2).sum(axis=1)).sum())
        if sse < best:
            best, labels = sse, lab
    of_word = np.zeros(table.shape[0], dtype=np.int64)
    of_word[used] = labels
    return of_word[word_ids]


def lda_assignments(corpus: Any, num_topics: int, alpha: Any, rng: np.random.Generator,
                    sweeps: int = LDA_SWEEPS, beta: float = LDA_BETA) -> np.ndarray:
    """``init="lda"``: the topic assignments after ``sweeps`` collapsed Gibbs sweeps of LDA
    (α, β, K) from a random start, drawn with ``rng``."""
    from ppltopics.inference.lda import LDAKernel
    from ppltopics.models.lda import LDAHyper

    alpha_t = tuple(float(a) for a in np.broadcast_to(np.asarray(alpha, dtype=np.float64),
                                                      (num_topics,)))
    kernel = LDAKernel(corpus, LDAHyper(num_topics=num_topics, alpha=alpha_t, beta=beta))
    state = kernel.init_state(rng)
    for _ in range(sweeps):
        kernel.step(state, rng, warmup=False)
    return state["z"].astype(np.int64)


def initial_assignments(init: str | np.ndarray, corpus: Any, num_topics: int,
                        rng: np.random.Generator, alpha: Any, table: np.ndarray | None = None,
                        ) -> np.ndarray:
    """The start z (int64, one topic per token) of a validated ``init`` other than
    ``"random"`` (which the kernels draw themselves): see the module docstring."""
    if isinstance(init, np.ndarray):
        return init.copy()
    if init == "kmeans":
        if table is None:
            raise ValueError("init='kmeans' needs word vectors")
        return kmeans_assignments(corpus.word_ids, table, num_topics, rng)
    if init == "lda":
        return lda_assignments(corpus, num_topics, alpha, rng)
    raise ValueError(f"no assignments to draw for init={init!r}")
