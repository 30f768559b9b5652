"""The spectral atlas of a model's weights: one row of metrics per matrix (study D-6, ``docs/pretrained.md``)."""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import backend, linalg
from .._validation import check_array, check_choice, check_float, check_int
from ._powerlaw import powerlaw_alpha
from ._random_matrix import fit_marchenko_pastur
from ._ranks import effective_rank, spectral_entropy, welore_prune_rank

__all__ = ["atlas", "layer_index", "matrix_kind", "weight_spectrum"]

#: Eigenvalue conventions of the ESD: ``lambda_i = sigma_i^2 / N`` or ``sigma_i^2``.
EIGENVALUE_CONVENTIONS = ("normalized", "weightwatcher")
SVD_METHODS = ("auto", "exact", "gram", "randomized")
#: WeightWatcher's eigenvalue cut (``EVALS_THRESH``), applied to ``sigma^2`` in both conventions.
MIN_SIGMA_SQUARED = 1e-5

_LAYER = re.compile(r"(?:^|\.)(?:layer|layers|h|block|blocks)\.(\d+)(?:\.|$)")
_KINDS = {
    "attention.self.query": "query", "attention.self.key": "key", "attention.self.value": "value",
    "attention.output.dense": "attention_output", "intermediate.dense": "intermediate",
    "output.dense": "output",
    "self_attn.q_proj": "query", "self_attn.k_proj": "key", "self_attn.v_proj": "value",
    "self_attn.o_proj": "attention_output", "mlp.gate_proj": "gate", "mlp.up_proj": "intermediate",
    "mlp.down_proj": "output", "attn.c_attn": "qkv", "attn.c_proj": "attention_output",
    "mlp.c_fc": "intermediate", "mlp.c_proj": "output",
}


def layer_index(name: str) -> int | None:
    """Block index in a tensor name (``encoder.layer.3.…``, ``model.layers.3.…``, ``h.3.…``), else None.

    Examples
    --------
    >>> layer_index("encoder.layer.3.attention.self.query.weight"), layer_index("pooler.dense.weight")
    (3, None)
    """
    m = _LAYER.search(name)
    return int(m.group(1)) if m else None


def matrix_kind(name: str) -> str:
    """Matrix type of a tensor name: ``query``, ``key``, ``value``, ``attention_output``, ``intermediate``, ...

    Known BERT, LLaMA and GPT-2 module paths map to a common vocabulary; others keep
    their path after the block index (dots become underscores).

    Examples
    --------
    >>> matrix_kind("encoder.layer.0.attention.output.dense.weight"), matrix_kind("model.layers.1.mlp.down_proj.weight")
    ('attention_output', 'output')
    >>> matrix_kind("embeddings.word_embeddings.weight")
    'word_embeddings'
    """
    stem = name.removesuffix(".weight")
    m = _LAYER.search(stem)
    rest = stem[m.end():] if m else stem
    if rest in _KINDS:
        return _KINDS[rest]
    if not m and rest.startswith("embeddings."):
        rest = rest[len("embeddings."):]
    return rest.replace(".", "_") or "weight"


def _storage_eps(dtype: Any) -> float:
    try:
        return float(np.finfo(np.dtype(str(dtype).rsplit(".", 1)[-1])).eps)
    except TypeError:
        return float(np.finfo(np.float32).eps)


def _dtype_kind(dtype: Any) -> str:
    try:
        return np.dtype(str(dtype).rsplit(".", 1)[-1]).kind
    except TypeError:
        return "?"


def _resolve_method(method: str, shape: tuple[int, int], dtype: Any) -> str:
    if method != "auto":
        return method
    low_precision = _storage_eps(dtype) >= float(np.finfo(np.float32).eps)
    return "gram" if low_precision and max(shape) >= 2 * min(shape) else "exact"


def _spectrum(W: Any, method: str, k: int | None, rng: Any) -> tuple[np.ndarray, float]:
    """Descending float64 singular values on the host (top ``k`` for randomized) and ``||W||_F^2``."""
    xp = backend.array_namespace(W)
    W = W if W.dtype == xp.float64 else xp.astype(W, xp.float64)
    fro2 = float(xp.sum(W * W))
    if method == "exact":
        s = xp.linalg.svdvals(W)
    elif method == "gram":
        Wt = xp.matrix_transpose(W)
        G = Wt @ W if W.shape[0] >= W.shape[1] else W @ Wt
        s = xp.sqrt(xp.clip(xp.flip(xp.linalg.eigvalsh(G)), 0.0, None))
    else:
        s = linalg.randomized_svd(W, k, rng=rng).S
    s = np.asarray(backend.to_numpy(s), dtype=np.float64)  # q (or k) numbers: the one host transfer
    return np.sort(s)[::-1], fro2


def weight_spectrum(W: Any, *, method: str = "auto", n_components: int | None = None, rng: Any = None) -> np.ndarray:
    """Singular values of a stored weight matrix, descending, as host float64.

    Parameters
    ----------
    W : array, shape (m, n)
        Any namespace and floating dtype; computed in float64.
    method : {"auto", "exact", "gram", "randomized"}
        * ``"exact"``: LAPACK's singular values of ``W`` (``svdvals``).
        * ``"gram"``: square roots of the eigenvalues of the Gram matrix of the
          small side (``W^T W`` for a tall ``W``), O(m n^2 + n^3) instead of a
          bidiagonalization of ``W``.  Eigenvalues carry an absolute error of
          about ``eps64 * sigma_1^2``, so ``sigma_i`` has relative error about
          ``eps64 * (sigma_1 / sigma_i)^2``: below ``1e-7`` for every singular value
          above the float32 numerical-rank threshold ``sigma_1 max(m, n) eps32``
          (``docs/pretrained.md``).  Use it for float32 (or narrower) weights.
        * ``"randomized"``: the top ``n_components`` only, by
          :func:`lowrank_lab.linalg.randomized_svd` (Halko et al. 2011).
        * ``"auto"`` (default): ``"gram"`` for float32-or-narrower weights with
          ``max(m, n) >= 2 min(m, n)`` (the 30,522 x 384 embedding of MiniLM: about
          5x faster than ``"exact"``), ``"exact"`` otherwise.
    n_components : int, optional
        Number of values for ``"randomized"`` (default ``ceil(q / 2)``, ``q = min(m, n)``).
    rng : int, Generator or None
        Seed of the randomized method.

    Returns
    -------
    numpy.ndarray
        ``q`` values (``n_components`` for ``"randomized"``).

    Examples
    --------
    >>> import numpy as np
    >>> W = np.diag([3.0, 2.0, 1.0]).astype(np.float32)
    >>> weight_spectrum(W, method="gram")
    array([3., 2., 1.])
    """
    W = check_array(W, "W", ndim=2)
    method = check_choice(method, "method", SVD_METHODS)
    q = min(W.shape)
    k = None
    if _resolve_method(method, tuple(W.shape), W.dtype) == "randomized":
        k = math.ceil(q / 2) if n_components is None else check_int(
            n_components, "n_components", low=1, high=q, high_label="min(m, n)")
    return _spectrum(W, _resolve_method(method, tuple(W.shape), W.dtype), k, rng)[0]


def _shuffle(W: Any, seed: Any) -> Any:
    xp = backend.array_namespace(W)
    perm = np.random.default_rng(seed).permutation(W.shape[0] * W.shape[1])
    flat = xp.reshape(W, (-1,))
    return xp.reshape(xp.take(flat, backend.asarray(perm, like=flat), axis=0), tuple(W.shape))


def _row(name: str, W: Any, *, method: str, k: int | None, normalized: bool, randomize: bool, seed: int,
         fix_fingers: bool, ks: str, tw_quantile: float, min_size: int, welore_tau: float | None) -> dict:
    m, n = (int(d) for d in W.shape)
    N, q = max(m, n), min(m, n)
    eps_store = _storage_eps(W.dtype)
    scale = 1.0 / N if normalized else 1.0  # eigenvalue = scale * sigma^2
    method = _resolve_method(method, (m, n), W.dtype)
    kk = None if method != "randomized" else (math.ceil(q / 2) if k is None else min(k, q))
    s, fro2 = _spectrum(W, method, kk, seed)
    full = method != "randomized"
    warnings: list[str] = []
    row: dict[str, Any] = {
        "name": name, "layer": layer_index(name), "kind": matrix_kind(name), "rows": m, "cols": n,
        "shape": f"{m}x{n}", "dtype": str(W.dtype).rsplit(".", 1)[-1], "svd": method, "n_eigenvalues": int(s.size),
    }
    lam = scale * s * s
    lam_max = float(lam[0]) if lam.size else 0.0
    rtol = min(1.0, N * eps_store)
    numerical = int(np.count_nonzero(s > s[0] * rtol)) if full and s[0] > 0 else (0 if full else np.nan)
    row.update({
        "lambda_max": lam_max,
        "stable_rank": fro2 / float(s[0]) ** 2 if s[0] > 0 else 0.0,
        "effective_rank": effective_rank(s, rtol=rtol) if full else np.nan,
        "numerical_rank": numerical,
        "spectral_entropy": spectral_entropy(s, rtol=rtol) if full else np.nan,
        "log_norm": math.log10(scale * fro2) if fro2 > 0 else -math.inf,
        "log_spectral_norm": math.log10(lam_max) if lam_max > 0 else -math.inf,
    })
    if full and numerical < q:
        warnings.append(f"rank-deficient (numerical rank {numerical} < {q})")
    fit_cols = ("alpha", "alpha_sigma", "xmin", "n_tail", "ks_distance", "alpha_weighted", "log_alpha_norm")
    if q < min_size:
        row.update(dict.fromkeys(fit_cols, np.nan))
        warnings.append(f"too small for ESD fits (min(m, n) = {q} < min_size = {min_size})")
    else:
        try:
            fit = powerlaw_alpha(lam, min_eigenvalue=MIN_SIGMA_SQUARED * scale, fix_fingers=fix_fingers, ks=ks)
            row.update({"alpha": fit.alpha, "alpha_sigma": fit.sigma, "xmin": fit.xmin, "n_tail": fit.n_tail,
                        "ks_distance": fit.ks_distance, "alpha_weighted": fit.alpha_weighted,
                        "log_alpha_norm": fit.log_alpha_norm})
            if fit.alpha < 2.0:
                warnings.append("over-trained (alpha < 2)")
            elif fit.alpha > 6.0:
                warnings.append("under-trained (alpha > 6)")
            if not full and fit.n_tail >= lam.size - 1:
                warnings.append(f"xmin at the edge of the top-{lam.size} window: raise n_components")
        except ValueError as exc:
            row.update(dict.fromkeys(fit_cols, np.nan))
            warnings.append(f"power-law fit failed: {exc}")
    mp_cols = ("mp_bulk_edge", "mp_threshold", "mp_spikes", "mp_softrank")
    if full and q >= min_size:
        try:
            mp = fit_marchenko_pastur(s * s / N, aspect_ratio=N / q, tw_quantile=tw_quantile)
            spikes = mp.n_spikes
            if spikes > numerical:
                warnings.append(f"MP spikes capped at the numerical rank ({spikes} -> {numerical}): round-off "
                                "eigenvalues counted as signal")
                spikes = numerical
            unit = 1.0 if normalized else float(N)
            row.update({"mp_bulk_edge": mp.lambda_plus * unit, "mp_threshold": mp.threshold * unit,
                        "mp_spikes": spikes, "mp_softrank": mp.mp_softrank})
        except ValueError as exc:
            row.update(dict.fromkeys(mp_cols, np.nan))
            warnings.append(f"MP fit failed: {exc}")
    else:
        row.update(dict.fromkeys(mp_cols, np.nan))
    rand_cols = ("rand_lambda_max", "rand_softrank", "rand_spikes", "n_above_random")
    if randomize:
        shuffled = _shuffle(W, seed)
        s_r, _ = _spectrum(shuffled, method, kk, seed + 1)
        lam_r = scale * s_r * s_r
        rand_max = float(lam_r[0])
        rand_spikes = np.nan
        if full and q >= min_size:
            try:
                rand_spikes = fit_marchenko_pastur(s_r * s_r / N, aspect_ratio=N / q, tw_quantile=tw_quantile).n_spikes
            except ValueError:
                pass
        row.update({"rand_lambda_max": rand_max, "rand_softrank": rand_max / lam_max if lam_max > 0 else np.nan,
                    "rand_spikes": rand_spikes, "n_above_random": int(np.count_nonzero(lam > rand_max))})
        if isinstance(rand_spikes, int) and rand_spikes > 0:
            warnings.append(f"{rand_spikes} correlation trap(s)")
    else:
        row.update(dict.fromkeys(rand_cols, np.nan))
    if welore_tau is not None:
        row["welore_prune_ratio"] = welore_prune_rank(s, welore_tau) / q if full else np.nan
    row["warning"] = "; ".join(warnings)
    return row


def _seed_of(rng: Any) -> int:
    if rng is None:
        return 0
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**31))
    return check_int(rng, "rng", low=0)


def atlas(
    weights: Any,
    *,
    eigenvalues: str = "normalized",
    svd: str = "auto",
    n_components: int | None = None,
    randomize: bool = True,
    include: str | None = None,
    min_size: int = 10,
    fix_fingers: bool = False,
    ks: str = "two-sided",
    tw_quantile: float = 0.999,
    welore_tau: float | None = None,
    rng: Any = 0,
    progress: bool = True,
) -> pd.DataFrame:
    """Spectral atlas of a model: one row of metrics per 2-D weight matrix (HT-SR, as WeightWatcher; study D-6).

    For each floating 2-D tensor ``W`` (``N x M`` after transposing to
    ``N >= M``), from its singular values ``sigma`` (float64, see
    :func:`weight_spectrum`):

    * **ESD** ``lambda_i = sigma_i^2 / N`` (``eigenvalues="normalized"``, the
      default) or ``sigma_i^2`` (``"weightwatcher"``).  WeightWatcher's code
      divides by nothing (its ``/N`` line is commented out), while the papers and
      :func:`lowrank_lab.spectral.esd` use ``X = W^T W / N``: with the
      normalization an i.i.d. matrix of entry variance ``s^2`` has mean
      eigenvalue ``s^2`` and MP edge ``s^2 (1 + Q^{-1/2})^2`` whatever its size,
      so layers of different shapes share one scale.  ``alpha``, ``xmin``'s rank,
      the ranks and the entropy do not depend on the convention; ``alpha_weighted``,
      ``log_norm``, ``log_spectral_norm`` and ``log_alpha_norm`` shift by
      ``-alpha log10 N``, ``-log10 N``, ``-log10 N`` and ``-alpha log10 N``.
    * **Power law** (:func:`powerlaw_alpha`): ``alpha``, ``alpha_sigma``, ``xmin``,
      ``n_tail``, ``ks_distance``, ``alpha_weighted = alpha log10 lambda_max``,
      ``log_alpha_norm = log10 sum lambda^alpha``; WeightWatcher's cut
      ``sigma^2 > 1e-5`` (scaled with the convention, so the same eigenvalues are
      fitted in both).  ``ks="weightwatcher"`` uses its KS distance (left limits of
      the ECDF), which reproduces its ``alpha`` exactly.
    * **Ranks** (uses sigma or sigma^2 as in :mod:`lowrank_lab.spectral`):
      ``stable_rank`` (``||W||_F^2 / sigma_1^2``), ``effective_rank`` (Roy and
      Vetterli), ``numerical_rank`` ``#{sigma_i > sigma_1 max(m, n) eps}`` with the
      eps of the **stored** dtype (float32 weights carry no information below it),
      ``spectral_entropy`` (WeightWatcher's normalized entropy, same tolerance).
    * **Marchenko-Pastur** (:func:`fit_marchenko_pastur` on ``sigma^2 / N``):
      ``mp_bulk_edge`` ``lambda_+`` and ``mp_threshold`` (``lambda_+`` plus the
      Tracy-Widom margin) in the chosen convention, ``mp_spikes`` (capped at the
      numerical rank: on rank-deficient input the bulk is round-off and its values
      would count as spikes; the row's ``warning`` says so), ``mp_softrank``.
    * **Randomized ESD** (``randomize``): the entries of ``W`` shuffled (seeded per
      matrix from ``rng`` and its name): ``rand_lambda_max``, ``rand_softrank``
      ``= rand_lambda_max / lambda_max`` (WeightWatcher's ``ww_softrank``),
      ``rand_spikes`` (MP spikes of the shuffled matrix: correlation traps, as
      :func:`correlation_traps`), ``n_above_random`` (eigenvalues of ``W`` above
      the largest shuffled one: structure that a matrix with the same entries but no
      correlations lacks).

    Matrices with ``min(m, n) < min_size`` keep their ranks but no fits, and say so
    in ``warning``; non-floating or non-2-D tensors are listed in
    ``frame.attrs["skipped"]`` (never dropped silently).  The columns ``layer``
    and ``kind`` come from :func:`layer_index` and :func:`matrix_kind`.

    Parameters
    ----------
    weights : mapping, array or str/path
        Name -> array (any namespace), a single 2-D array (named ``"W"``), or
        anything :func:`lowrank_lab.datasets.pretrained_weights` reads.
    eigenvalues : {"normalized", "weightwatcher"}, default "normalized"
    svd : {"auto", "exact", "gram", "randomized"}, default "auto"
        See :func:`weight_spectrum`.  With ``"randomized"`` only the top
        ``n_components`` values are computed: the power-law fit then scans ``xmin``
        among them only (it equals the exact fit whenever the exact ``n_tail`` is at
        most ``n_components``), ``stable_rank`` stays exact (``||W||_F`` from the
        entries), and the metrics that need the whole spectrum are NaN.
    n_components : int, optional
        For ``svd="randomized"`` (default ``ceil(min(m, n) / 2)`` per matrix).
    randomize : bool, default True
        Compute the shuffled-entries comparison (a second SVD per matrix).
    include : str, optional
        Regular expression on names (``re.search``).
    min_size : int, default 10
    fix_fingers : bool, default False
        See :func:`powerlaw_alpha`.
    ks : {"two-sided", "weightwatcher"}, default "two-sided"
    tw_quantile : float, default 0.999
    welore_tau : float, optional
        Adds ``welore_prune_ratio`` = :func:`welore_prune_rank` / q at this ``tau``.
    rng : int, Generator or None, default 0
        Seed of the shuffles (and of the randomized SVD).
    progress : bool, default True
        ``tqdm`` bar over the matrices (silenced by ``TQDM_DISABLE=1``).

    Returns
    -------
    pandas.DataFrame
        One row per matrix, in the input order; ``frame.attrs`` records
        ``eigenvalues``, ``svd``, ``ks`` and ``skipped``.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.random.default_rng(0).standard_normal((200, 100))
    >>> row = atlas({"noise": W}, progress=False).iloc[0]
    >>> int(row.mp_spikes), int(row.numerical_rank), round(float(row.mp_bulk_edge), 1)
    (0, 100, 2.9)
    """
    eigenvalues = check_choice(eigenvalues, "eigenvalues", EIGENVALUE_CONVENTIONS)
    svd = check_choice(svd, "svd", SVD_METHODS)
    ks = check_choice(ks, "ks", ("two-sided", "weightwatcher"))
    min_size = check_int(min_size, "min_size", low=3)
    tw_quantile = check_float(tw_quantile, "tw_quantile", low=0.5, high=0.9999)
    if n_components is not None:
        n_components = check_int(n_components, "n_components", low=1)
    if welore_tau is not None:
        welore_tau = check_float(welore_tau, "welore_tau", low=0.0, high=1.0)
    seed = _seed_of(rng)
    if isinstance(weights, Mapping):
        items = list(weights.items())
    elif isinstance(weights, (str, bytes)) or hasattr(weights, "__fspath__"):
        from ..datasets import pretrained_weights  # noqa: PLC0415

        items = list(pretrained_weights(weights).items())
    else:
        items = [("W", weights)]
    pattern = re.compile(include) if include is not None else None
    chosen, skipped = [], []
    for name, value in items:
        if pattern is not None and not pattern.search(name):
            continue
        if isinstance(value, (list, tuple)):
            value = np.asarray(value)
        ndim = getattr(value, "ndim", None)
        dtype = getattr(value, "dtype", None)
        is_float = dtype is not None and _dtype_kind(dtype) == "f"
        if ndim != 2:
            skipped.append((name, f"{ndim}-D" if ndim is not None else type(value).__name__))
        elif not is_float:
            skipped.append((name, f"dtype {dtype}"))
        else:
            chosen.append((name, check_array(value, f"weights[{name!r}]", ndim=2)))
    from ..iteration import progress_bar  # noqa: PLC0415

    bar = progress_bar(len(chosen), progress, "atlas")
    rows = []
    try:
        for name, W in chosen:
            rows.append(_row(
                name, W, method=svd, k=n_components, normalized=eigenvalues == "normalized", randomize=randomize,
                seed=(seed * 1_000_003 + zlib.crc32(name.encode())) % 2**31, fix_fingers=fix_fingers, ks=ks,
                tw_quantile=tw_quantile, min_size=min_size, welore_tau=welore_tau,
            ))
            bar.update(1)
    finally:
        bar.close()
    frame = pd.DataFrame(rows)
    if not rows:
        frame = pd.DataFrame(columns=["name", "layer", "kind", "rows", "cols", "shape", "warning"])
    frame["layer"] = frame["layer"].astype("Int64")
    frame.attrs.update({"eigenvalues": eigenvalues, "svd": svd, "ks": ks, "skipped": skipped,
                        "randomize": bool(randomize)})
    return frame
