"""Deprecated: the problems moved into their labs (kept for one release, see docs/deprecations.md).

==========================================  ===================================================
old                                         new
==========================================  ===================================================
``lowrank_lab.problems.matrices``           :mod:`lowrank_lab.matrices`
``lowrank_lab.problems.sensing``            :mod:`lowrank_lab.sensing.problems`
``lowrank_lab.problems.observations``       :mod:`lowrank_lab.completion.observations`
``incoherence``, ``coherent_low_rank_matrix``  :mod:`lowrank_lab.matrices`
==========================================  ===================================================
"""

from .._deprecation import moved_module

moved_module("lowrank_lab.problems", "lowrank_lab.matrices, lowrank_lab.sensing and lowrank_lab.completion")

from ..completion.observations import (  # noqa: E402
    Observations,
    random_partition,
    sample_entries,
    train_test_split,
)
from ..matrices import LowRankMatrix, coherent_low_rank_matrix, incoherence, low_rank_matrix  # noqa: E402
from ..sensing.problems import (  # noqa: E402
    GaussianOperator,
    IdentityOperator,
    SensingProblem,
    fully_observed,
    gaussian_sensing,
    sensing_operator_nbytes,
)

__all__ = [
    "GaussianOperator",
    "IdentityOperator",
    "LowRankMatrix",
    "Observations",
    "SensingProblem",
    "coherent_low_rank_matrix",
    "fully_observed",
    "gaussian_sensing",
    "incoherence",
    "low_rank_matrix",
    "random_partition",
    "sample_entries",
    "sensing_operator_nbytes",
    "train_test_split",
]
