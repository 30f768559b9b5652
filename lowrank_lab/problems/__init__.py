"""Ground truths and measurement models.

Problems know nothing of solvers: they hold the truth (when known), the data a
solver sees, and the operators to apply to candidate solutions.

``matrices``
    Low-rank ground truths with a chosen spectrum (:func:`low_rank_matrix`).
``sensing``
    Gaussian and fully observed sensing problems with noise and outliers
    (:func:`gaussian_sensing`, :func:`fully_observed`).
``observations``
    Observed entries for matrix completion (:class:`Observations`,
    :func:`sample_entries`, :func:`train_test_split`) and coherent truths.
"""

from .matrices import LowRankMatrix, low_rank_matrix
from .observations import (
    Observations,
    coherent_low_rank_matrix,
    incoherence,
    random_partition,
    sample_entries,
    train_test_split,
)
from .sensing import (
    GaussianOperator,
    IdentityOperator,
    SensingProblem,
    fully_observed,
    gaussian_sensing,
    sensing_operator_nbytes,
)

__all__ = [
    "Observations",
    "coherent_low_rank_matrix",
    "incoherence",
    "random_partition",
    "sample_entries",
    "train_test_split",
    "GaussianOperator",
    "IdentityOperator",
    "LowRankMatrix",
    "SensingProblem",
    "fully_observed",
    "gaussian_sensing",
    "low_rank_matrix",
    "sensing_operator_nbytes",
]
