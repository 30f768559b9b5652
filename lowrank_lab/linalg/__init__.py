"""Linear algebra the Array API standard lacks, in one place.

Every routine here works on any Array API namespace through a *standard
fallback* written with standard calls only, and takes a *fast path* on NumPy
(NumPy / SciPy kernels) and CuPy (``cupyx``) where one exists.  Tests check that
both paths agree.  Nothing else in the library imports ``cupy`` or ``scipy`` for
array work.

Contents
--------
segment_sum
    Sum rows of ``values`` that share a segment id (scatter-add).
csr_matmul, sampled_dot, rowwise_dot
    Sparse (CSR) times dense, entries of ``U @ V.T`` at given positions, row-wise dot products.
batched_solve, lstsq
    Solves for stacks of small systems, least squares.
segment_normal_equations, segment_least_squares, segment_cg, padded_layout, blocked_csr, batched_spd_solve
    Per-segment normal equations ``sum f f^T``, ``sum v f`` of gathered factor rows,
    their ridge solutions, exact or by a few CG steps (the alternating-minimization
    kernels), batched SPD solves.
svd, truncated_svd, randomized_svd, randomized_svd_operator, svd_flip
    SVD with a deterministic sign convention; exact and randomized truncation
    (of an array, or of an implicit operator given by its products).
krylov_svd, krylov_svd_operator, PartialSVDResult
    Top-k SVD iterated until the residuals meet a tolerance (thick-restarted block
    Lanczos bidiagonalization), reporting the residuals, products and iterations.
partial_svd, partial_svd_operator
    One entry point with ``method="randomized" | "krylov"`` (``"exact"`` for arrays),
    for the solvers' ``svd_method`` option.
orthonormalize
    Thin QR with a positive diagonal of R (a unique, backend-independent basis).
"""


from ._krylov import PartialSVDResult, krylov_svd, krylov_svd_operator
from ._partial import partial_svd, partial_svd_operator
from ._altmin import (
    BlockedCSR,
    PaddedLayout,
    blocked_csr,
    has_compiled_kernels,
    padded_layout,
    segment_cg,
    segment_least_squares,
    segment_normal_equations,
)
from ._segment import csr_matmul, rowwise_dot, sampled_dot, segment_sum
from ._solve import batched_solve, batched_spd_solve, lstsq
from ._svd import SVDResult, orthonormalize, randomized_svd, randomized_svd_operator, svd, svd_flip, truncated_svd


__all__ = [
    "SVDResult",
    "BlockedCSR",
    "PaddedLayout",
    "PartialSVDResult",
    "batched_solve",
    "batched_spd_solve",
    "blocked_csr",
    "csr_matmul",
    "has_compiled_kernels",
    "krylov_svd",
    "krylov_svd_operator",
    "lstsq",
    "orthonormalize",
    "randomized_svd",
    "randomized_svd_operator",
    "padded_layout",
    "partial_svd",
    "partial_svd_operator",
    "rowwise_dot",
    "sampled_dot",
    "segment_cg",
    "segment_least_squares",
    "segment_normal_equations",
    "segment_sum",
    "svd",
    "svd_flip",
    "truncated_svd",
]
