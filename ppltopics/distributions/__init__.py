"""Distributions the generative stories need and Pyro lacks, one module per family.

* :class:`InverseWishart` (:mod:`~ppltopics.distributions.inverse_wishart`) — ``Σ ~ IW(Ψ, ν)``;
* :class:`NormalInverseWishart` (:mod:`~ppltopics.distributions.normal_inverse_wishart`) —
  ``(μ, Σ) ~ NIW(μ0, κ0, Ψ0, ν0)``, drawn in a story as two Pyro sites;
* :class:`PolyaGamma` (:mod:`~ppltopics.distributions.polya_gamma`) — ``ω ~ PG(b, c)``, with
  the numpy sampler :func:`sample_polyagamma` and density :func:`polyagamma_log_density`;
* :class:`GEM` (:mod:`~ppltopics.distributions.gem`) — truncated stick breaking over levels,
  with the collapsed :func:`gem_level_log_prob` and :func:`gem_level_predictive`;
* :class:`NestedCRP` (:mod:`~ppltopics.distributions.nested_crp`) — nCRP(γ) over document
  paths, its log probability :func:`ncrp_log_prob`, and the tree arrays of a set of paths
  (:func:`parent_level_from_paths`, :func:`canonical_paths`);
* :class:`VonMisesFisher` (:mod:`~ppltopics.distributions.von_mises_fisher`) — vMF(μ, κ) on
  the sphere, with :func:`vmf_log_normalizer`, :func:`mean_resultant_length` and
  :func:`inverse_mean_resultant_length` (from :mod:`ppltopics.ops.special`);
* :class:`RowCategorical` (:mod:`~ppltopics.distributions.row_categorical`) —
  ``Categorical(table[index])`` without gathering the rows.

Parameters are validated on construction (``validate_args=False`` skips it) with
``ValueError`` messages naming the parameter.
"""

from __future__ import annotations

import warnings

import numpy as np

from ppltopics.distributions.gem import GEM, gem_level_log_prob, gem_level_predictive
from ppltopics.distributions.inverse_wishart import InverseWishart
from ppltopics.distributions.nested_crp import (
    NestedCRP,
    canonical_paths,
    ncrp_log_prob,
    parent_level_from_paths,
)
from ppltopics.distributions.normal_inverse_wishart import NormalInverseWishart
from ppltopics.distributions.polya_gamma import (
    PG_FRACTION_TERMS,
    PG_METHODS,
    PG_SERIES_MAX_DIGITS,
    PG_SERIES_MAX_TERMS,
    PG_SERIES_RTOL,
    PolyaGamma,
    polyagamma_log_density,
    sample_polyagamma,
)
from ppltopics.distributions.row_categorical import RowCategorical
from ppltopics.distributions.von_mises_fisher import VonMisesFisher
from ppltopics.ops.special import (
    inverse_mean_resultant_length,
    mean_resultant_length,
    vmf_log_normalizer,
)

__all__ = [
    "InverseWishart",
    "NormalInverseWishart",
    "PolyaGamma",
    "sample_polyagamma",
    "polyagamma_log_density",
    "PG_METHODS",
    "PG_SERIES_RTOL",
    "PG_SERIES_MAX_TERMS",
    "PG_SERIES_MAX_DIGITS",
    "PG_FRACTION_TERMS",
    "GEM",
    "gem_level_log_prob",
    "gem_level_predictive",
    "NestedCRP",
    "ncrp_log_prob",
    "parent_level_from_paths",
    "canonical_paths",
    "VonMisesFisher",
    "mean_resultant_length",
    "inverse_mean_resultant_length",
    "vmf_log_normalizer",
    "RowCategorical",
]


def tree_from_paths(paths, num_nodes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Deprecated name of :func:`parent_level_from_paths` (same arguments and result)."""
    warnings.warn("ppltopics.distributions.tree_from_paths is deprecated: use "
                  "parent_level_from_paths (it returns the (parent, node_level) arrays)",
                  DeprecationWarning, stacklevel=2)
    return parent_level_from_paths(paths, num_nodes)
