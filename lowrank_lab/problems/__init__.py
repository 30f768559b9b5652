"""Ground truths and measurement models.

Problems know nothing of solvers: they hold the truth (when known), the data a
solver sees, and the operators to apply to candidate solutions.

``matrices``
    Low-rank ground truths with a chosen spectrum (:func:`low_rank_matrix`).
"""

from .matrices import LowRankMatrix, low_rank_matrix

__all__ = ["LowRankMatrix", "low_rank_matrix"]
