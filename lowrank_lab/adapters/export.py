"""Export trained adapters as PEFT LoRA checkpoints (``adapter_config.json`` + ``adapter_model.safetensors``).

:func:`to_peft` turns the update ``dW`` of each adapted layer into LoRA factors and writes
them with :func:`lowrank_lab.datasets.save_peft_adapter` (PEFT's layout, written with the
``safetensors`` library; no PyTorch or PEFT needed).  Every adapter of the lab that
declares :attr:`~lowrank_lab.adapters.Adapter.factors` is exported **exactly**
(``scale * B @ A == delta(state)``): LoRA and rsLoRA, PiSSA and CorDA (rank ``2r``, as
PEFT converts them back to a LoRA on the untouched base weights), LoRA-XS and LoRA-SB
(``B R`` and ``A``), VeRA, NOLA, RandLoRA (rank ``N r``), SVFit, LoLDU, EVA, orthogonal
LoRA, DyLoRA and Maestro (at their current gate).  Adapters without a LoRA form (full
fine-tuning, DoRA) are exported only when ``rank=`` asks for the truncated SVD of their
update (lossy: Eckart-Young).  Loading the directory with
:func:`lowrank_lab.datasets.load_peft_adapter` and merging with
:func:`lowrank_lab.spectral.merge_adapter` gives back ``W0 + dW``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend, linalg
from .._validation import check_int
from ..datasets import save_peft_adapter
from .parameterizations import Adapter, AdapterState, _sub_state

__all__ = ["peft_factors", "to_peft"]


def _layers(state: Any, adapters: Any) -> list[tuple[str, Adapter, AdapterState]]:
    if isinstance(adapters, Adapter):
        if adapters.scope != "layer":
            raise TypeError("a model-scope adapter does not expose its layers: pass the mapping layer -> Adapter "
                            "given to per_layer / finetune")
        if not isinstance(state, AdapterState):
            raise TypeError(f"state must be an AdapterState, got {type(state).__name__}")
        return [("W", adapters, state)]
    if not isinstance(adapters, Mapping):
        raise TypeError(f"adapters must be an Adapter or a mapping layer -> Adapter | None, got {type(adapters).__name__}")
    out = []
    for layer, a in adapters.items():
        if a is None:
            continue
        if not isinstance(a, Adapter) or a.scope != "layer":
            raise TypeError(f"adapters[{layer!r}] must be a layer-scope Adapter or None, got {a!r}")
        if isinstance(state, Mapping):
            if layer not in state:
                raise ValueError(f"state has no entry for layer {layer!r} (layers: {list(state)})")
            sub = state[layer]
        elif isinstance(state, AdapterState):
            sub = _sub_state(state, layer)
            if not sub.params:
                raise ValueError(f"state has no parameters '{layer}/...' for layer {layer!r}")
        else:
            raise TypeError(f"state must be an AdapterState or a mapping layer -> AdapterState, got "
                            f"{type(state).__name__}")
        out.append((layer, a, sub))
    if not out:
        raise ValueError("adapters must name at least one adapted layer")
    return out


def _host(x: Any) -> np.ndarray:
    return np.asarray(backend.to_numpy(x), dtype=np.float64)


def peft_factors(adapter: Adapter, state: AdapterState, *, rank: int | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Host ``(B, A, scale)`` with ``scale * B @ A = delta(state)`` (float64).

    Uses :attr:`Adapter.factors`; adapters without one need ``rank``: the update's truncated
    SVD ``U_k S_k V_k^T`` (``B = U_k S_k``, ``A = V_k^T``, ``scale = 1``).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_lab.adapters import full
    >>> state = full().init(np.zeros((3, 3)), rng=0).replace_params({"delta": np.diag([2.0, 1.0, 0.0])})
    >>> B, A, s = peft_factors(full(), state, rank=1)
    >>> (s * B @ A).tolist()[0]
    [2.0, 0.0, 0.0]
    """
    if adapter.factors is not None and rank is None:
        B, A, scale = adapter.factors(state)
        return _host(B), _host(A), float(scale)
    if rank is None:
        raise ValueError(f"adapter {adapter.name!r} has no LoRA factorization: pass rank= to export the truncated "
                         "SVD of its update")
    dW = adapter.delta(state)
    rank = check_int(rank, "rank", low=1, high=min(dW.shape), high_label="min(m, n)")
    U, S, Vt = linalg.truncated_svd(dW, rank)
    return _host(U) * _host(S)[None, :], _host(Vt), 1.0


def to_peft(state: Any, adapters: Any, directory: str | Path, *, module_names: Mapping[str, str] | None = None,
            rank: int | None = None, base_model_name_or_path: str | None = None, dtype: Any = np.float32) -> Path:
    """Write trained adapters as a PEFT LoRA checkpoint in ``directory``.

    Parameters
    ----------
    state : AdapterState or mapping layer -> AdapterState
        The trained state: a layer state (with a layer ``adapters``), the model-scope state of
        :func:`~lowrank_lab.adapters.finetune` (``res.state``, keys ``"W1/B"``), or one
        state per layer.
    adapters : Adapter or mapping layer -> Adapter | None
        The layer adapter(s) the state belongs to (the mapping given to ``finetune``; a
        single layer adapter is the layer ``"W"``).
    directory : path
    module_names : dict layer -> str, optional
        Module name of each layer in the base model (default: the layer name, so PEFT's key
        is ``base_model.model.<layer>.lora_A.weight`` and the base tensor ``<layer>.weight``).
    rank : int, optional
        Export adapters without a LoRA form (full fine-tuning, DoRA) as the truncated SVD of
        their update at this rank (ignored by adapters that have one).
    base_model_name_or_path : str, optional
        Recorded in ``adapter_config.json``.
    dtype : NumPy float dtype or None, default float32
        Storage dtype (PEFT's default float32; ``None`` keeps float64).

    Returns
    -------
    pathlib.Path

    Notes
    -----
    The scaling is folded into the config: module ``i`` with factors of rank ``r_i`` and
    scale ``s_i`` gets ``lora_alpha = s_i r_i`` (``alpha_pattern`` where it differs from the
    first module's; ranks other than the first go to ``rank_pattern``), so PEFT's
    ``lora_alpha / r`` reproduces ``s_i`` exactly; ``use_rslora`` stays false (an rsLoRA
    adapter is written with the equivalent ``lora_alpha``).

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from lowrank_lab.adapters import lora
    >>> from lowrank_lab.datasets import load_peft_adapter
    >>> adapter = lora(2, alpha=4.0)
    >>> state = adapter.init(np.zeros((3, 5)), rng=0)
    >>> state = state.replace_params({"B": np.ones((3, 2)), "A": state.params["A"]})
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = to_peft(state, adapter, d, dtype=None)
    ...     dW = load_peft_adapter(d).delta("W")
    >>> bool(np.allclose(dW, adapter.delta(state)))
    True
    """
    layers = _layers(state, adapters)
    names = dict(module_names or {})
    factors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    alphas: dict[str, float] = {}
    for layer, a, sub in layers:
        B, A, scale = peft_factors(a, sub, rank=rank if a.factors is None else None)
        module = names.get(layer, layer)
        factors[module] = (A, B)
        alphas[module] = scale * A.shape[0]
    first = next(iter(factors))
    r0, alpha0 = int(factors[first][0].shape[0]), alphas[first]
    config: dict[str, Any] = {"r": r0, "lora_alpha": alpha0, "base_model_name_or_path": base_model_name_or_path,
                              "alpha_pattern": {m: al for m, al in alphas.items() if m != first and al != alpha0}}
    return save_peft_adapter(directory, factors, config, dtype=dtype)
