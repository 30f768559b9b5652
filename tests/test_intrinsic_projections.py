"""Random projections of subspace training (lowrank_lab.intrinsic.projections) and the flat parameter layout."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from helpers import assert_close, to_xp

from lowrank_lab import backend
from lowrank_lab.intrinsic import projections as pr

KINDS = ("dense", "sparse", "fastfood")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("D", [1000, 1024])
def test_adjoint_is_the_transpose(xp, rng, kind, D):
    """<P z, g> = <z, P^T g>, for single vectors and batches, on every backend."""
    d = 13
    P = pr.make_projection(kind, D, d, rng=1, xp=xp)
    z, g = rng.standard_normal(d), rng.standard_normal(D)
    lhs = float(backend.to_numpy(P.apply(to_xp(xp, z))) @ g)
    rhs = float(z @ backend.to_numpy(P.adjoint(to_xp(xp, g))))
    assert abs(lhs - rhs) <= 1e-12 * max(1.0, abs(lhs))
    Z, G = rng.standard_normal((d, 3)), rng.standard_normal((D, 3))
    PZ, PtG = backend.to_numpy(P.apply(to_xp(xp, Z))), backend.to_numpy(P.adjoint(to_xp(xp, G)))
    np.testing.assert_allclose(np.sum(PZ * G, axis=0), np.sum(Z * PtG, axis=0), rtol=1e-11)


@pytest.mark.parametrize("kind", KINDS)
def test_apply_and_adjoint_are_products_with_one_matrix(xp, rng, kind):
    P = pr.make_projection(kind, 300, 7, rng=2, xp=xp)
    M = backend.to_numpy(P.to_dense())
    assert M.shape == (300, 7)
    z, g = rng.standard_normal(7), rng.standard_normal(300)
    assert_close(P.apply(to_xp(xp, z)), M @ z, xp=xp, rtol=1e-12, atol=1e-12)
    assert_close(P.adjoint(to_xp(xp, g)), M.T @ g, xp=xp, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["dense", "sparse"])
@pytest.mark.parametrize("D", [37, 1000])
def test_dense_and_sparse_columns_have_unit_norm_over_all_rows(kind, D):
    M = pr.make_projection(kind, D, 20, rng=3).to_dense()
    np.testing.assert_allclose(np.linalg.norm(M, axis=0), 1.0, rtol=1e-12)


@pytest.mark.parametrize("D", [64, 1024])
def test_fastfood_columns_have_unit_norm_when_D_is_a_power_of_two(xp, D):
    P = pr.fastfood_projection(D, 16, rng=4, xp=xp)
    M = backend.to_numpy(P.to_dense())
    assert P.L == D
    np.testing.assert_allclose(np.linalg.norm(M, axis=0), 1.0, rtol=1e-12)


def test_fastfood_columns_have_norm_about_one_when_truncated():
    """D < L keeps ~D/L of each column's energy; the sqrt(D/L) factor restores unit norm on average."""
    norms = np.concatenate([np.linalg.norm(pr.fastfood_projection(1000, 64, rng=s).to_dense(), axis=0)
                            for s in range(5)])
    assert abs(np.mean(norms**2) - 1.0) < 0.01
    assert np.all(np.abs(norms - 1.0) < 0.05)


def test_fastfood_is_H_G_Pi_H_B_with_the_reference_normalization():
    """Rebuild P from its factors with SciPy's Hadamard matrix: (H G Pi H B)[:D, :d] / (sqrt(L sum G^2) sqrt(D/L))."""
    D, d = 100, 9
    P = pr.fastfood_projection(D, d, rng=5)
    L = P.L
    H = scipy.linalg.hadamard(L).astype(float)
    Pi = np.eye(L)[P.permutation]  # (Pi u)_i = u[permutation[i]]
    full = H @ np.diag(P.gaussian) @ Pi @ H @ np.diag(P.signs)
    expected = full[:D, :d] / (np.sqrt(L * np.sum(P.gaussian**2)) * np.sqrt(D / L))
    assert L == 128
    np.testing.assert_allclose(P.to_dense(), expected, rtol=1e-12, atol=1e-14)
    assert set(np.unique(P.signs)) <= {-1.0, 1.0}
    np.testing.assert_array_equal(np.sort(P.permutation), np.arange(L))
    np.testing.assert_array_equal(P.permutation[P.inverse_permutation], np.arange(L))


def test_sparse_density_and_entries_follow_the_very_sparse_projection():
    D, d = 10_000, 50
    P = pr.sparse_projection(D, d, rng=6)
    s = 1 / np.sqrt(D)
    expected, sd = D * d * s, np.sqrt(D * d * s * (1 - s))
    assert abs(P.nnz - expected) < 5 * sd
    M = P.to_dense()
    for j in range(d):  # entries +-1/sqrt(n_j), balanced signs overall
        col = M[:, j][M[:, j] != 0]
        np.testing.assert_allclose(np.abs(col), 1 / np.sqrt(col.size), rtol=1e-12)
    assert abs(np.mean(M[M != 0] > 0) - 0.5) < 0.05
    assert P.nbytes < 0.1 * D * d * 8


def test_sparse_segments_draw_each_tensor_like_one_reference_layer():
    """Per-segment density 1/sqrt(D_i): the small segment gets a larger share of non-zeros and larger entries."""
    sizes = [100, 9900]
    P = pr.sparse_projection(10_000, 400, segments=sizes, rng=7)
    M = P.to_dense()
    small, large = M[:100], M[100:]
    np.testing.assert_allclose(np.mean(small != 0), 1 / np.sqrt(100), rtol=0.1)
    np.testing.assert_allclose(np.mean(large != 0), 1 / np.sqrt(9900), rtol=0.1)
    np.testing.assert_allclose(np.linalg.norm(M, axis=0), 1.0, rtol=1e-12)
    ratio = np.abs(large[large != 0]).mean() / np.abs(small[small != 0]).mean()
    np.testing.assert_allclose(ratio, (9900 / 100) ** 0.25, rtol=0.05)  # entries scale as 1/sqrt(density)


def test_sparse_never_has_an_empty_direction():
    P = pr.sparse_projection(4, 4, density=0.01, rng=0)
    np.testing.assert_allclose(np.linalg.norm(P.to_dense(), axis=0), 1.0)


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_projection_on_every_backend(kind):
    strict = backend.get_namespace("array_api_strict")
    a = pr.make_projection(kind, 200, 5, rng=8).to_dense()
    b = backend.to_numpy(pr.make_projection(kind, 200, 5, rng=8, xp=strict).to_dense())
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    c = pr.make_projection(kind, 200, 5, rng=9).to_dense()
    assert not np.allclose(a, c)


def test_structured_projections_never_hold_a_dense_matrix():
    D, d = 1 << 16, 200
    assert pr.fastfood_projection(D, d, rng=0).nbytes == 4 * D * 8
    assert pr.sparse_projection(D, d, rng=0).nbytes < 0.05 * D * d * 8  # ~4 / sqrt(D) of dense
    assert pr.dense_projection(2048, d, rng=0).nbytes == 2048 * d * 8


@pytest.mark.parametrize("kind", KINDS)
def test_float32_projections(xp, rng, kind):
    P = pr.make_projection(kind, 256, 4, rng=1, xp=xp, dtype=xp.float32)
    z = rng.standard_normal(4)
    out = P.apply(to_xp(xp, z, dtype=xp.float32))
    reference = pr.make_projection(kind, 256, 4, rng=1).apply(z)
    assert_close(out, reference.astype(np.float32), xp=xp, rtol=1e-4, atol=1e-5)


def test_projections_refuse_bad_arguments():
    with pytest.raises(ValueError, match=r"d must be in \[1, D=10\], got 11"):
        pr.dense_projection(10, 11)
    with pytest.raises(ValueError, match="D must be in"):
        pr.fastfood_projection(0, 1)
    with pytest.raises(ValueError, match="kind must be one of"):
        pr.make_projection("gaussian", 10, 2)
    with pytest.raises(ValueError, match="density must be a finite number in"):
        pr.sparse_projection(10, 2, density=0.0)
    with pytest.raises(ValueError, match="segments must be positive sizes summing to D=10"):
        pr.sparse_projection(10, 2, segments=[4, 5])
    P = pr.fastfood_projection(10, 3, rng=0)
    with pytest.raises(ValueError, match=r"z must have shape \(3,\) or \(3, k\)"):
        P.apply(np.ones(4))
    with pytest.raises(ValueError, match=r"g must have shape \(10,\)"):
        P.adjoint(np.ones(3))


# ----------------------------------------------------------------- layout
def test_flatten_and_unflatten_round_trip_in_dict_order(xp, rng):
    params = {"W1": rng.standard_normal((3, 4)), "b1": rng.standard_normal(3), "s": np.array(2.0),
              "W2": rng.standard_normal((2, 3))}
    vec, layout = pr.flatten_params({k: to_xp(xp, v) for k, v in params.items()})
    assert layout.names == ("W1", "b1", "s", "W2")
    assert layout.sizes == (12, 3, 1, 6) and layout.size == 22 and layout.n_tensors == 4
    assert_close(vec, np.concatenate([v.ravel() for v in params.values()]), xp=xp)
    back = layout.unflatten(vec)
    for name, value in params.items():
        assert_close(back[name], value, xp=xp)


def test_segment_scaling_and_dots_are_said_building_blocks(xp, rng):
    layout = pr.ParameterLayout.from_params({"a": np.zeros((2, 2)), "b": np.zeros(3)})
    u, v = rng.standard_normal(7), rng.standard_normal(7)
    lam = np.array([2.0, -0.5])
    assert_close(layout.scale_segments(to_xp(xp, u), to_xp(xp, lam)), u * np.repeat(lam, [4, 3]), xp=xp)
    assert_close(layout.segment_dots(to_xp(xp, u), to_xp(xp, v)), [u[:4] @ v[:4], u[4:] @ v[4:]], xp=xp,
                 rtol=1e-12)


def test_layout_refuses_mismatches():
    layout = pr.ParameterLayout.from_params({"a": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="params must have the keys"):
        layout.flatten({"b": np.zeros((2, 2))})
    with pytest.raises(ValueError, match=r"params\['a'\] must have shape \(2, 2\)"):
        layout.flatten({"a": np.zeros(4)})
    with pytest.raises(ValueError, match=r"vector must have shape \(4,\)"):
        layout.unflatten(np.zeros(5))
    with pytest.raises(TypeError, match="non-empty mapping"):
        pr.ParameterLayout.from_params({})
    with pytest.raises(ValueError, match=r"scales must have shape \(1,\)"):
        layout.scale_segments(np.zeros(4), np.ones(2))
