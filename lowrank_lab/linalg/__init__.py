"""Linear algebra the Array API standard lacks, in one place.

Every routine here works on any Array API namespace through a *standard
fallback* written with standard calls only, and takes a *fast path* on NumPy
(NumPy / SciPy kernels) and CuPy (``cupyx``) where one exists.  Tests check that
both paths agree.  Nothing else in the library imports ``cupy`` or ``scipy`` for
array work.

Contents
--------
segment_sum, stable_argsort, column_order
    Sum rows of ``values`` that share a segment id (scatter-add); stable argsort of bounded
    integer keys (radix passes on NumPy); entries in column order (a counting sort).
csr_matmul, sampled_dot, sampled_squared_error, rowwise_dot
    Sparse (CSR) times dense, entries of ``U @ V.T`` at given positions, the squared error
    of ``U @ V.T`` on given entries (fused, nothing materialized), row-wise dot products.
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
orthonormalize, thin_qr
    Thin QR with a positive diagonal of R (a unique, backend-independent basis); thin QR
    without a convention (tall-skinny panels on one BLAS thread).
fwht
    Fast Walsh-Hadamard transform (unnormalized, Sylvester order) along one axis:
    a compiled kernel (Numba) or an in-place butterfly on NumPy, one elementwise
    kernel per stage on CuPy, standard calls elsewhere.
dct_matrix, dct, idct
    The orthonormal DCT-II (SciPy's ``norm="ortho"`` convention) and its matrix: SciPy's
    FFT on NumPy, ``cupyx.scipy.fft`` on CuPy, a matrix product elsewhere.
stochastic_round, quantize_minmax, dequantize, Quantized
    Unbiased stochastic rounding (host-drawn uniforms) and group-wise asymmetric min-max
    quantization (round-to-nearest or stochastic), as in the reference code of Q-GaLore.
knn_distances, Neighbors
    Exact k-nearest-neighbour distances within a point cloud, self excluded:
    SciPy's KD-tree or scikit-learn's brute force on NumPy, blocked distance
    matrices on other backends.
solve_sylvester, lu
    Sylvester equations ``A X + X B = C`` (SciPy's Bartels-Stewart on NumPy; an
    eigendecomposition or Kronecker fallback elsewhere) and LU with partial pivoting.
"""


from ._altmin import (
    PACKED_MAX_K,
    BlockedCSR,
    KernelPlan,
    PaddedLayout,
    altmin_kernel_plan,
    blocked_csr,
    has_compiled_kernels,
    padded_layout,
    segment_cg,
    segment_least_squares,
    segment_normal_equations,
)
from ._dct import dct, dct_matrix, idct
from ._hadamard import fwht
from ._krylov import PartialSVDResult, krylov_svd, krylov_svd_operator
from ._neighbors import Neighbors, knn_distances
from ._partial import partial_svd, partial_svd_operator
from ._quantize import ROUNDINGS, Quantized, dequantize, quantize_minmax, stochastic_round
from ._segment import (
    column_order,
    csr_matmul,
    first_distinct,
    rowwise_dot,
    sampled_dot,
    sampled_squared_error,
    segment_sum,
    stable_argsort,
)
from ._solve import batched_solve, batched_spd_solve, lstsq
from ._svd import (
    SVDResult,
    orthonormalize,
    randomized_svd,
    randomized_svd_operator,
    svd,
    svd_flip,
    thin_qr,
    truncated_svd,
)

__all__ = [
    "ROUNDINGS",
    "SVDResult",
    "Quantized",
    "PACKED_MAX_K",
    "BlockedCSR",
    "KernelPlan",
    "Neighbors",
    "altmin_kernel_plan",
    "PaddedLayout",
    "PartialSVDResult",
    "batched_solve",
    "batched_spd_solve",
    "blocked_csr",
    "column_order",
    "csr_matmul",
    "dct",
    "dct_matrix",
    "dequantize",
    "first_distinct",
    "fwht",
    "has_compiled_kernels",
    "idct",
    "knn_distances",
    "krylov_svd",
    "krylov_svd_operator",
    "lstsq",
    "orthonormalize",
    "randomized_svd",
    "randomized_svd_operator",
    "padded_layout",
    "partial_svd",
    "partial_svd_operator",
    "quantize_minmax",
    "rowwise_dot",
    "sampled_dot",
    "sampled_squared_error",
    "segment_cg",
    "segment_least_squares",
    "segment_normal_equations",
    "segment_sum",
    "stable_argsort",
    "stochastic_round",
    "svd",
    "svd_flip",
    "thin_qr",
    "truncated_svd",
]

# Sylvester equations and LU (issue 11: LoRA-Pro's X, LoLDU's factors)
from ._sylvester import LUResult, lu, solve_sylvester  # noqa: E402

__all__ += ["LUResult", "lu", "solve_sylvester"]
