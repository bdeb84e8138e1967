"""Re-exports of :mod:`ppltopics.posteriors` under the module name used before it was split
(``from ppltopics.posterior import Posterior, register`` keeps working)."""

from __future__ import annotations

from typing import Any

from ppltopics.inference._gaussian import gaussian_logpdf_table
from ppltopics.posteriors import (
    CGTMPosterior,
    GaussianPosterior,
    LDAPosterior,
    Posterior,
    posterior_class,
    register,
)

__all__ = ["Posterior", "LDAPosterior", "GaussianPosterior", "CGTMPosterior", "register",
           "posterior_class", "gaussian_logpdf_table"]


def __getattr__(name: str) -> Any:
    import ppltopics.posteriors as _posteriors

    return getattr(_posteriors, name)
