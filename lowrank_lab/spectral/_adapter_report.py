"""Real LoRA adapters against their base weights: merge by module name, report intruders, ranks, amplification."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_int
from ._atlas import layer_index, matrix_kind
from ._ranks import effective_rank, stable_rank
from ._updates import _check_eps, amplification_factor, intruder_dimensions

__all__ = ["DEFAULT_EPS", "adapter_report", "merge_adapter"]

#: The epsilon sweep of the intruder counts (Shuttleworth et al. 2024 report counts against eps in [0.1, 0.9]).
DEFAULT_EPS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def _load(base: Any, adapter: Any) -> tuple[Mapping, Any]:
    from ..datasets import PeftAdapter, load_peft_adapter, pretrained_weights  # noqa: PLC0415

    if not isinstance(base, Mapping):
        base = pretrained_weights(base)
    if not isinstance(adapter, PeftAdapter):
        if isinstance(adapter, (str, Path)):
            adapter = load_peft_adapter(adapter)
        else:
            raise TypeError(f"adapter must be a PeftAdapter or a PEFT checkpoint directory, got {type(adapter).__name__}")
    return base, adapter


def _pairs(base: Mapping, adapter: Any) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    """(module, base name, W0 as float64, dW) per adapted module, shapes checked."""
    where = adapter.path / "adapter_model.safetensors" if adapter.path is not None else "adapter"
    out = []
    for module, base_name in adapter.match(base.keys()).items():
        W0 = np.asarray(base[base_name])
        lora = adapter.modules[module]
        if W0.ndim != 2 or tuple(W0.shape) != lora.shape:
            raise ValueError(
                f"{where}: shape mismatch for module {module!r}: key '{module}.lora_B.weight' @ 'lora_A.weight' "
                f"gives dW of shape {lora.shape} but base tensor {base_name!r} has shape {tuple(W0.shape)}"
            )
        out.append((module, base_name, W0.astype(np.float64), lora.delta()))
    return out


def merge_adapter(base: Any, adapter: Any, *, dtype: Any = "stored") -> dict[str, np.ndarray]:
    """Base weights with a PEFT LoRA adapter merged in: ``W = W0 + s * B @ A`` per adapted module.

    Modules are matched to base tensors by name
    (:meth:`lowrank_lab.datasets.PeftAdapter.match`); the scaling ``s`` is
    ``lora_alpha / r`` or, with ``use_rslora``, ``lora_alpha / sqrt(r)``
    (Kalajdzievski 2023).  The sum is formed in float64.

    Parameters
    ----------
    base : mapping or str/path
        Name -> array, or anything :func:`lowrank_lab.datasets.pretrained_weights` reads.
    adapter : PeftAdapter or path
        An adapter, or a PEFT checkpoint directory (:func:`lowrank_lab.datasets.load_peft_adapter`).
    dtype : "stored", None or NumPy dtype, default "stored"
        Dtype of the merged matrices: that of the base tensor (as
        ``merge_and_unload`` would store it), float64 (``None``), or the given one.

    Returns
    -------
    dict
        Every base tensor, the adapted ones replaced (the others are the same objects).

    Raises
    ------
    ValueError
        Naming the adapter file, the module and the base tensor, if ``dW`` and ``W0``
        differ in shape; ``KeyError`` if a module matches no base tensor.
    """
    base, adapter = _load(base, adapter)
    merged = dict(base)
    for _, base_name, W0, dW in _pairs(base, adapter):
        W = W0 + dW
        target = np.asarray(base[base_name]).dtype if isinstance(dtype, str) and dtype == "stored" else dtype
        merged[base_name] = W if target is None else W.astype(target)
    return merged


def adapter_report(
    base: Any,
    adapter: Any,
    *,
    eps: Any = DEFAULT_EPS,
    k: int = 10,
    rng: Any = 0,
    progress: bool = True,
) -> pd.DataFrame:
    """Per-module diagnostics of a real LoRA adapter merged into its base weights.

    For each adapted module, with ``W0`` the base weight and
    ``dW = s * B @ A`` (see :func:`merge_adapter`), in float64:

    * ``intruders_eps_<e>``: :func:`intruder_dimensions` of the merged
      ``W0 + dW`` against ``W0`` among the top ``k`` left singular vectors, for
      each ``e`` of the sweep ``eps`` (Shuttleworth et al. 2024, reference-code
      convention); ``intruders`` is the count at ``eps = 0.5`` when it is in the sweep;
    * ``delta_effective_rank``, ``delta_stable_rank`` of ``dW``;
    * ``amplification`` = ``||dW||_F / ||U_r^T W0 V_r||_F`` with the adapter's rank
      ``r`` (Hu et al. 2021, Sec. 7; :func:`amplification_factor`);
    * ``relative_norm`` = ``||dW||_F / ||W0||_F`` and ``relative_spectral_norm``
      = ``||dW||_2 / ||W0||_2``; also ``delta_norm``, ``weight_norm``.

    Parameters
    ----------
    base : mapping or str/path
    adapter : PeftAdapter or path
    eps : float or sequence of floats in (0, 1], default 0.1, 0.2, ..., 0.9
    k : int, default 10
        Top tuned singular vectors examined (clipped to ``min(m, n)``).
    rng : int, Generator or None
        Seed of the random directions of the amplification baseline.
    progress : bool, default True

    Returns
    -------
    pandas.DataFrame
        One row per module, in natural name order; ``frame.attrs`` has ``eps``,
        ``k``, ``use_rslora`` and the adapter path.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_lab.datasets import LoraModule, PeftAdapter
    >>> W0 = np.diag(np.linspace(3.0, 1.0, 20))
    >>> u = np.ones((20, 1)) / np.sqrt(20)             # far from every singular vector of W0
    >>> lora = LoraModule("q", 3 * u.T, 3 * u, rank=1, alpha=1.0, scaling=1.0)   # dW = 9 u u^T
    >>> adapter = PeftAdapter({"r": 1, "lora_alpha": 1}, {"q": lora})
    >>> row = adapter_report({"q.weight": W0}, adapter, eps=0.5, k=3, progress=False).iloc[0]
    >>> int(row.intruders), round(float(row.delta_effective_rank), 6)
    (1, 1.0)
    """
    base, adapter = _load(base, adapter)
    eps_val, scalar = _check_eps(eps)
    sweep = [float(eps_val)] if scalar else [float(e) for e in eps_val]
    k = check_int(k, "k", low=1)
    from ..iteration import progress_bar  # noqa: PLC0415

    pairs = _pairs(base, adapter)
    bar = progress_bar(len(pairs), progress, "adapter")
    rows = []
    try:
        for i, (module, base_name, W0, dW) in enumerate(pairs):
            lora = adapter.modules[module]
            m, n = W0.shape
            q = min(m, n)
            kk = min(k, q)
            res = intruder_dimensions(W0 + dW, W0, k=kk, eps=np.asarray(sweep))
            counts = np.atleast_1d(np.asarray(res.count))
            amp = amplification_factor(dW, W0, min(lora.rank, q), rng=None if rng is None else np.random.default_rng(
                [int(rng) if not isinstance(rng, np.random.Generator) else int(rng.integers(2**31)), i]))
            s_d = np.linalg.svd(dW, compute_uv=False)
            s_0 = np.linalg.svd(W0, compute_uv=False)
            row = {
                "module": module, "base_name": base_name, "layer": layer_index(base_name),
                "kind": matrix_kind(base_name), "rows": m, "cols": n, "rank": lora.rank, "alpha": lora.alpha,
                "scaling": lora.scaling, "delta_norm": amp.delta_norm, "weight_norm": amp.weight_norm,
                "relative_norm": amp.delta_norm / amp.weight_norm if amp.weight_norm > 0 else math.inf,
                "relative_spectral_norm": float(s_d[0] / s_0[0]) if s_0[0] > 0 else math.inf,
                "delta_effective_rank": effective_rank(dW), "delta_stable_rank": stable_rank(s_d),
                "amplification": amp.amplification, "k": kk,
            }
            for e, c in zip(sweep, counts):
                row[f"intruders_eps_{e:g}"] = int(c)
            rows.append(row)
            bar.update(1)
    finally:
        bar.close()
    frame = pd.DataFrame(rows)
    if 0.5 in sweep:
        frame["intruders"] = frame["intruders_eps_0.5"]
    frame["layer"] = frame["layer"].astype("Int64")
    frame.attrs.update({"eps": sweep, "k": k, "use_rslora": adapter.use_rslora,
                        "adapter": str(adapter.path) if adapter.path is not None else None})
    return frame
