"""Array namespaces, devices, host <-> device transfer and random numbers.

Library routines never pick a backend themselves: they take the namespace of
their inputs (:func:`array_namespace`) and return arrays of the same kind.
Notebooks and the command line choose a backend by name with
:func:`get_namespace` (``LOWRANK_BACKEND=numpy|cupy``).

Random numbers are always drawn on the host from a
:class:`numpy.random.Generator` and then moved to the target namespace and
device, so that the same seed gives the same problem on every backend.

Examples
--------
>>> import numpy as np
>>> from lowrank_lab import backend
>>> xp = backend.get_namespace("numpy")
>>> Z = backend.random_normal((2, 3), rng=0, xp=xp)
>>> backend.backend_name(backend.array_namespace(Z))
'numpy'
>>> backend.to_numpy(Z).shape
(2, 3)
"""

from __future__ import annotations

import collections
import functools
import os
from types import ModuleType
from typing import Any

import array_api_compat
import numpy as np

__all__ = [
    "BACKENDS",
    "array_namespace",
    "as_generator",
    "asarray",
    "backend_name",
    "default_backend",
    "device",
    "float_dtype",
    "get_namespace",
    "gpu_available",
    "is_cupy",
    "is_numpy",
    "random_normal",
    "random_uniform",
    "spawn_generators",
    "trial_streams",
    "to_numpy",
]

#: Backends the library is tested on ("cupy" only where a GPU is found).
BACKENDS = ("numpy", "array_api_strict", "cupy")

RNGLike = "int | numpy.random.Generator | numpy.random.SeedSequence | None"


def array_namespace(*arrays: Any) -> ModuleType:
    """Array API namespace shared by ``arrays`` (``None`` and Python scalars are ignored).

    NumPy and CuPy arrays give the ``array_api_compat`` wrapper namespaces, so the
    returned module always follows the Array API standard.

    Raises
    ------
    TypeError
        If no array is given or the arrays come from different libraries.
    """
    arrays = tuple(a for a in arrays if a is not None and not isinstance(a, (int, float, complex, bool)))
    if not arrays:
        raise TypeError("array_namespace needs at least one array argument")
    try:
        return array_api_compat.array_namespace(*arrays)
    except TypeError as exc:
        kinds = ", ".join(sorted({type(a).__name__ for a in arrays}))
        raise TypeError(f"arrays must be arrays of one library (NumPy, CuPy or Array API), got {kinds}") from exc


def _require_array(x: Any, name: str) -> None:
    """TypeError naming ``name`` unless ``x`` is an array of a supported library."""
    if not array_api_compat.is_array_api_obj(x):
        raise TypeError(f"{name} must be an array (NumPy, CuPy or Array API), got {type(x).__name__}")


def _refuse_text(x: Any, name: str) -> None:
    if x is None or isinstance(x, (str, bytes, dict)):
        raise TypeError(f"{name} must be an array or array-like numbers, got {type(x).__name__}")


def backend_name(xp: ModuleType) -> str:
    """Short name of a namespace: ``'numpy'``, ``'cupy'``, ``'array_api_strict'`` or the module name."""
    if array_api_compat.is_numpy_namespace(xp):
        return "numpy"
    if array_api_compat.is_cupy_namespace(xp):
        return "cupy"
    name = getattr(xp, "__name__", str(xp))
    return name.split(".")[0]


def is_numpy(xp: ModuleType) -> bool:
    """True for NumPy (plain or ``array_api_compat`` wrapped)."""
    return array_api_compat.is_numpy_namespace(xp)


def is_cupy(xp: ModuleType) -> bool:
    """True for CuPy (plain or ``array_api_compat`` wrapped)."""
    return array_api_compat.is_cupy_namespace(xp)


@functools.lru_cache(maxsize=1)
def gpu_available() -> bool:
    """Whether CuPy is importable and sees at least one CUDA device."""
    try:
        import cupy  # noqa: PLC0415

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # ImportError, CUDARuntimeError, missing driver...
        return False


def get_namespace(name: str | None = None) -> ModuleType:
    """Array API namespace for a backend name.

    Parameters
    ----------
    name : {"numpy", "cupy", "array_api_strict"}, optional
        Backend to use.  ``None`` reads ``LOWRANK_BACKEND`` (default ``"numpy"``).

    Raises
    ------
    ValueError
        For an unknown name.
    RuntimeError
        If ``"cupy"`` is requested on a machine without CuPy or a CUDA device.

    Examples
    --------
    >>> get_namespace("numpy").__name__
    'array_api_compat.numpy'
    """
    if name is None:
        name = default_backend()
    name = str(name).lower()
    if name == "numpy":
        import array_api_compat.numpy as xp  # noqa: PLC0415

        return xp
    if name == "array_api_strict":
        try:
            import array_api_strict as xp  # noqa: PLC0415
        except ImportError as exc:  # pragma: no cover - test extra missing
            raise RuntimeError(
                "backend 'array_api_strict' needs the array-api-strict package "
                "(pip install 'lowrank_lab[test]')"
            ) from exc
        return xp
    if name == "cupy":
        if not gpu_available():
            raise RuntimeError(
                "backend 'cupy' was requested but no CUDA device is usable here: install "
                "the 'gpu' extra (pip install 'lowrank_lab[gpu]') on a machine with an "
                "NVIDIA GPU, or use LOWRANK_BACKEND=numpy"
            )
        import array_api_compat.cupy as xp  # noqa: PLC0415

        return xp
    raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")


def default_backend() -> str:
    """Backend named by ``LOWRANK_BACKEND`` (default ``"numpy"``)."""
    name = os.environ.get("LOWRANK_BACKEND", "numpy").strip().lower() or "numpy"
    if name not in BACKENDS:
        raise ValueError(f"LOWRANK_BACKEND must be one of {BACKENDS}, got {name!r}")
    return name


def device(x: Any) -> Any:
    """Device of an array (``'cpu'`` for NumPy)."""
    _require_array(x, "x")
    return array_api_compat.device(x)


def float_dtype(xp: ModuleType, x: Any = None) -> Any:
    """Floating dtype to compute in: that of ``x`` if it is real floating, else float64."""
    if x is not None and hasattr(x, "dtype") and xp.isdtype(x.dtype, "real floating"):
        return x.dtype
    return xp.float64


def to_numpy(x: Any) -> np.ndarray:
    """Copy (or view) an array of any supported backend as a NumPy array on the host.

    Use outside of iterations only: on a GPU this synchronizes and copies.
    """
    if isinstance(x, np.ndarray):
        return x
    _refuse_text(x, "x")
    if array_api_compat.is_cupy_array(x):
        return x.get()
    if hasattr(x, "__dlpack__") and not np.isscalar(x):
        try:
            return np.from_dlpack(x)
        except (TypeError, RuntimeError, BufferError):
            pass
    return np.asarray(x)


def asarray(x: Any, *, xp: ModuleType | None = None, like: Any = None, dtype: Any = None) -> Any:
    """Move host data (or an array of another backend) into ``xp`` / onto ``like``'s device.

    Exactly one of ``xp`` and ``like`` gives the target; ``like`` also fixes the device.
    """
    _refuse_text(x, "x")
    if like is not None:
        _require_array(like, "like")
        xp = array_namespace(like)
        dev = device(like)
    elif xp is None:
        raise TypeError("asarray needs xp= or like=")
    else:
        dev = None
    if not isinstance(x, (np.ndarray, np.generic, list, tuple, int, float)):
        if backend_name(array_namespace(x)) != backend_name(xp):
            x = to_numpy(x)  # cross-backend moves go through the host
    if dev is None:
        return xp.asarray(x, dtype=dtype)
    return xp.asarray(x, dtype=dtype, device=dev)


def as_generator(rng: Any = None) -> np.random.Generator:
    """A NumPy ``Generator`` from ``None``, an int seed, a ``SeedSequence`` or a ``Generator``.

    Raises
    ------
    TypeError
        For anything else (notably the legacy ``numpy.random.RandomState``).
    """
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(_seed_sequence(rng))


def _seed_sequence(rng: Any) -> Any:
    """``None``, a non-negative int seed or a ``SeedSequence``, checked (the ``rng`` argument's errors)."""
    if rng is None or isinstance(rng, np.random.SeedSequence):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        if rng < 0:
            raise ValueError(f"rng seed must be a non-negative integer, got {rng}")
        return int(rng)
    raise TypeError(
        f"rng must be None, an int seed, a numpy.random.SeedSequence or a numpy.random.Generator, "
        f"got {type(rng).__name__}"
    )


def spawn_generators(rng: Any, n: int) -> list[np.random.Generator]:
    """``n`` statistically independent generators derived from ``rng`` (``SeedSequence.spawn``)."""
    if isinstance(rng, np.random.Generator):
        seq = rng.bit_generator.seed_seq
        children = seq.spawn(n)
    else:
        seq = _seed_sequence(rng)
        seq = seq if isinstance(seq, np.random.SeedSequence) else np.random.SeedSequence(seq)
        children = seq.spawn(n)
    return [np.random.default_rng(c) for c in children]


def trial_streams(seed: Any, *names: str) -> tuple:
    """Named, statistically independent generators for one trial, from one seed.

    ``trial_streams(seed, "truth", "sample", "solver")`` returns a named tuple whose
    ``i``-th field is child ``i`` of ``numpy.random.SeedSequence(seed).spawn``: a stream
    never depends on the names after it, so a trial can add a stream without changing
    the existing ones.  This is the suite's one seed contract: every trial derives its
    streams here, and no stream is shared between the data and the solver.

    Examples
    --------
    >>> streams = trial_streams(0, "truth", "solver")
    >>> streams._fields
    ('truth', 'solver')
    >>> float(streams.truth.random()) == float(trial_streams(0, "truth").truth.random())
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not names:
        raise ValueError("trial_streams needs at least one stream name")
    for name in names:
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
            raise ValueError(f"stream names must be identifiers not starting with '_', got {name!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"stream names must be distinct, got {names}")
    fields = collections.namedtuple("Streams", names)
    return fields(*spawn_generators(np.random.SeedSequence(int(seed)), len(names)))


def _target(xp: ModuleType | None, like: Any) -> tuple[ModuleType, Any]:
    if like is not None:
        _require_array(like, "like")
        return array_namespace(like), like
    if xp is None:
        return get_namespace("numpy"), None
    return xp, None


def random_normal(
    shape: tuple[int, ...],
    *,
    rng: Any = None,
    xp: ModuleType | None = None,
    like: Any = None,
    dtype: Any = None,
    scale: float = 1.0,
) -> Any:
    """Standard normal samples drawn on the host, then moved to ``xp`` (or ``like``'s device).

    The same ``rng`` gives the same numbers on every backend.  ``dtype`` defaults to
    float64 (or ``like``'s floating dtype).
    """
    gen = as_generator(rng)
    xp, like = _target(xp, like)
    host = gen.standard_normal(size=shape)
    if scale != 1.0:
        host *= scale
    if dtype is None:
        dtype = float_dtype(xp, like)
    return asarray(host, xp=xp, like=like, dtype=dtype)


def random_uniform(
    shape: tuple[int, ...],
    *,
    rng: Any = None,
    xp: ModuleType | None = None,
    like: Any = None,
    dtype: Any = None,
    low: float = 0.0,
    high: float = 1.0,
) -> Any:
    """Uniform ``[low, high)`` samples drawn on the host, then moved to ``xp`` / ``like``."""
    gen = as_generator(rng)
    xp, like = _target(xp, like)
    host = gen.uniform(low, high, size=shape)
    if dtype is None:
        dtype = float_dtype(xp, like)
    return asarray(host, xp=xp, like=like, dtype=dtype)
