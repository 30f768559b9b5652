"""Spectral metrics: ranks, subspace angles, intruder dimensions, ESDs, Marchenko-Pastur and power-law fits.

One documented definition per metric (study D; the papers are in docs/references.md), validated on spectra
with known answers in ``tests/test_spectral.py``.  The atlas of real weights
(:func:`atlas`, one row of these metrics per matrix of a model) and the report on
real LoRA adapters (:func:`adapter_report`, :func:`merge_adapter`) build on them
(``docs/pretrained.md``, ``tests/test_atlas.py``).

Conventions
-----------
* **Inputs.** Metrics of a matrix take a 2-D array ``W`` (any Array API
  namespace) *or* a 1-D array of precomputed **singular values** (any order;
  they are sorted).  The ESD fits (:func:`fit_marchenko_pastur`,
  :func:`powerlaw_alpha`) take a 2-D matrix or a 1-D array of precomputed
  **eigenvalues** of ``X = W^T W / N`` (see :func:`esd`).
* **sigma or sigma^2.**  Each docstring says which one a metric uses.
* **Tolerances.**  "Zero" singular values are those ``<= tol``; the default
  ``tol`` is NumPy's numerical-rank convention ``sigma_1 * max(m, n) * eps``
  (``max(m, n)`` is taken as ``len(s)`` for 1-D input); ``rtol`` replaces it by
  ``rtol * sigma_1``.
* **Outputs.**  Scalar metrics are Python ``float``/``int``: converting them is
  one host synchronization, at the function boundary.  Array outputs
  (singular values, vectors, angles, ESD) stay in the input's namespace and on
  its device.  The fits (Marchenko-Pastur, power law, which work on the short
  eigenvalue vector) move that vector to NumPy **once**, at the start, and
  return host results.
* **The zero matrix** has every rank-like metric equal to 0 (``effective_rank``,
  ``stable_rank``, ``participation_ratio``, ``numerical_rank``, ``energy_rank``)
  and ``spectral_entropy`` 0, rather than NaN.

Only Array API standard calls and :mod:`lowrank_lab.linalg` helpers touch the
input arrays; SciPy is not imported here.

Examples
--------
>>> import numpy as np
>>> from lowrank_lab import spectral
>>> W = np.diag([3.0, 3.0, 3.0, 0.0])
>>> spectral.effective_rank(W), spectral.stable_rank(W), spectral.numerical_rank(W)
(3.0, 3.0, 3)
"""

from __future__ import annotations

from ._adapter_report import DEFAULT_EPS, adapter_report, merge_adapter
from ._atlas import atlas, layer_index, matrix_kind, weight_spectrum
from ._atlas_plots import METRIC_LABELS, plot_atlas_heatmap, plot_esd, plot_intruder_counts
from ._powerlaw import PowerLawFit, powerlaw_alpha
from ._random_matrix import (
    MarchenkoPasturFit,
    correlation_traps,
    esd,
    fit_marchenko_pastur,
    marchenko_pastur_density,
    marchenko_pastur_edge,
    tracy_widom_quantile,
)
from ._ranks import (
    eckart_young_tail,
    effective_rank,
    energy_rank,
    nuclear_norm,
    numerical_rank,
    participation_ratio,
    singular_values,
    singular_vectors,
    spectral_entropy,
    stable_rank,
    welore_prune_rank,
)
from ._subspaces import (
    grassmann_distance,
    principal_angles,
    projection_distance,
    subspace_overlap,
    subspace_similarity,
    subspace_similarity_grid,
)
from ._tracy_widom import spiked_overlap, tracy_widom_cdf, tracy_widom_density, tracy_widom_scaling
from ._updates import AmplificationResult, IntruderResult, amplification_factor, intruder_dimensions
from ._welore import LRC_THRESHOLD, WeLoreSelection, captured_energy, uniform_ranks, welore_ranks

__all__ = [
    "DEFAULT_EPS",
    "LRC_THRESHOLD",
    "METRIC_LABELS",
    "AmplificationResult",
    "IntruderResult",
    "MarchenkoPasturFit",
    "PowerLawFit",
    "adapter_report",
    "amplification_factor",
    "captured_energy",
    "atlas",
    "correlation_traps",
    "eckart_young_tail",
    "effective_rank",
    "energy_rank",
    "esd",
    "fit_marchenko_pastur",
    "grassmann_distance",
    "intruder_dimensions",
    "layer_index",
    "marchenko_pastur_density",
    "marchenko_pastur_edge",
    "matrix_kind",
    "merge_adapter",
    "nuclear_norm",
    "numerical_rank",
    "participation_ratio",
    "plot_atlas_heatmap",
    "plot_esd",
    "plot_intruder_counts",
    "powerlaw_alpha",
    "principal_angles",
    "projection_distance",
    "singular_values",
    "singular_vectors",
    "spectral_entropy",
    "stable_rank",
    "subspace_overlap",
    "subspace_similarity",
    "subspace_similarity_grid",
    "tracy_widom_quantile",
    "uniform_ranks",
    "weight_spectrum",
    "welore_prune_rank",
    "welore_ranks",
    "WeLoreSelection",
    # appended (issue 10): Tracy-Widom law and spiked-model overlaps
    "spiked_overlap",
    "tracy_widom_cdf",
    "tracy_widom_density",
    "tracy_widom_scaling",
]

# issue 10: Halko, Martinsson & Tropp's expected-error bound of the randomized range finder
from ._sketch_bounds import randomized_svd_error_bound  # noqa: E402

__all__ += ["randomized_svd_error_bound"]
