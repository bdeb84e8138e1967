"""Machine facts recorded with every benchmark result (shared by the bench_*.py scripts)."""

from __future__ import annotations

import importlib
import os
import platform
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine_facts(*packages: str) -> dict[str, Any]:
    """CPU, platform, thread settings and the versions of numpy/scipy/numba and ``packages``
    (e.g. the peers a benchmark runs against)."""
    facts: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    for name in ("numpy", "scipy", "numba", *packages):
        mod = importlib.import_module(name)
        facts[name] = getattr(mod, "__version__", "?")
        if hasattr(mod, "isa"):
            facts[f"{name}_isa"] = mod.isa
    facts["thread_env"] = {v: os.environ.get(v) for v in (
        "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}
    return facts


def bertopic_model(k: int, seed: int, kmeans: bool, vectorizer: Any, **kw: Any) -> Any:
    """BERTopic as the TopClus benchmarks configure it: UMAP (15 neighbours, 5 components,
    cosine, ``random_state=seed``), then HDBSCAN with ``nr_topics=k`` or, with ``kmeans``,
    BERTopic's documented alternative KMeans(k) as the clustering model (k topics); c-TF-IDF
    over ``vectorizer``; top 25 words."""
    from bertopic import BERTopic
    from umap import UMAP

    umap = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine",
                random_state=seed)
    extra: dict[str, Any] = {"nr_topics": k}
    if kmeans:
        from sklearn.cluster import KMeans

        extra = {"hdbscan_model": KMeans(n_clusters=k, n_init=10, random_state=seed)}
    return BERTopic(umap_model=umap, vectorizer_model=vectorizer, top_n_words=25, **extra,
                    **kw)
