"""Gradient-projection benchmark: time per optimizer step on one large layer, refresh costs, state bytes.

On one ``n x n`` weight (default 2048 x 2048, rank 256; ``--quick``: 512 x 512, rank 64)
with a dense Gaussian gradient, on the selected backend (``--backend numpy|cupy``):

1. **Time per step** (``update`` + ``apply_updates``) of every transform of
   ``lowrank_lab.adapters.projection`` *between* refreshes, as a ratio to Adam measured in
   the same run (``lowrank_lab.adapters.adam``; and ``torch.optim.Adam`` on the CPU when
   PyTorch is installed, the peer of ``benchmarks/requirements-peers.txt``).  DCT
   selection reselects every step (the reference's default), so its step includes its
   selection.  Next to each: the optimizer state in floats (``state_floats``) and in
   bytes (every array, integer codes and indices included) and as a fraction of Adam's.
2. **Refresh cost**: one projector computation (exact SVD, randomized SVD, DCT
   selection, random orthonormal, Gaussian), in ms and in Adam steps, and the
   **amortized** GaLore step ``step + refresh / T`` for ``T`` in {10, 50, 200}, as a
   ratio to Adam.
3. The machine's matmul and copy rates (``benchmarks/machine.py``), measured now; the
   projection products ``P^T G`` and ``P N`` (``4 n^2 r`` flops) against the matmul rate.

Usage::

    python benchmarks/bench_projection.py --quick          # 512 x 512, seconds
    python benchmarks/bench_projection.py                  # 2048 x 2048 (the exact SVD dominates: minutes on 2 cores)
    python benchmarks/bench_projection.py --backend cupy   # on a GPU
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import add_backend_argument, machine_rates, sync, timeit, write_json  # noqa: E402

from lowrank_lab import backend, linalg  # noqa: E402
from lowrank_lab.adapters import adam, apply_updates, state_floats  # noqa: E402
from lowrank_lab.adapters import projection as P  # noqa: E402

NEVER = 10**9  # a gap no run reaches: steps between refreshes


def state_nbytes(state: object) -> int:
    """Bytes of every array in an optimizer state (floats and the integer codes / indices alike)."""
    if hasattr(state, "shape") and hasattr(state, "dtype") and hasattr(state, "nbytes"):
        return int(state.nbytes)
    if isinstance(state, dict):
        return sum(state_nbytes(v) for v in state.values())
    if isinstance(state, (tuple, list)):
        return sum(state_nbytes(v) for v in state)
    return 0


def contenders(rank: int) -> list[tuple[str, object]]:
    return [
        ("adam", adam(1e-3)),
        ("galore (svd)", P.galore(1e-3, rank, update_gap=NEVER)),
        ("galore (dct, every step)", P.galore(1e-3, rank, update_gap=1, projector="dct")),
        ("galore (random)", P.galore(1e-3, rank, update_gap=NEVER, projector="random")),
        ("fira", P.fira(1e-3, rank, update_gap=NEVER)),
        ("frugal (sign)", P.frugal(1e-3, rank, update_gap=NEVER)),
        ("apollo", P.apollo(1e-3, rank, update_gap=NEVER)),
        ("apollo-mini", P.apollo_mini(1e-3, update_gap=NEVER)),
        ("q-galore (int4 P, int8 W)", P.q_galore(1e-3, rank, update_gap=NEVER)),
    ]


def step_time(opt: object, W: object, G: object, xp: object, repeat: int) -> tuple[float, int]:
    params = {"W": W}
    state = opt.init(params)
    u, state = opt.update({"W": G}, state, params)  # the first step computes the projector
    sync(xp)
    box = {"state": state, "params": params}

    def one() -> None:
        u, box["state"] = opt.update({"W": G}, box["state"], box["params"])
        box["params"] = apply_updates(box["params"], u)

    return timeit(one, xp, repeat=repeat, warmup=1)["best_s"], state_floats(box["state"]), state_nbytes(box["state"])


def torch_adam_time(n: int, repeat: int) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    W = torch.zeros(n, n, dtype=torch.float64, requires_grad=True)
    W.grad = torch.randn(n, n, dtype=torch.float64)
    opt = torch.optim.Adam([W], lr=1e-3)
    opt.step()
    return timeit(opt.step, repeat=repeat, warmup=1)["best_s"]


def refresh_times(G: object, rank: int, xp: object, repeat: int, exact_repeat: int) -> dict:
    gen = np.random.default_rng(0)
    d = int(G.shape[0])
    out = {"exact svd": timeit(lambda: linalg.svd(G), xp, repeat=exact_repeat, warmup=0)["best_s"]}
    out["randomized svd"] = timeit(lambda: linalg.randomized_svd(G, rank, rng=gen), xp, repeat=repeat)["best_s"]

    def dct_select() -> None:
        S = linalg.dct(G, axis=0)
        idx = xp.argsort(xp.sum(xp.abs(S), axis=1), descending=True)[:rank]
        xp.take(S, idx, axis=0)

    out["dct selection"] = timeit(dct_select, xp, repeat=repeat)["best_s"]
    out["random orthonormal"] = timeit(
        lambda: linalg.orthonormalize(backend.random_normal((d, rank), rng=gen, like=G)), xp, repeat=repeat)["best_s"]
    out["gaussian (apollo)"] = timeit(lambda: backend.random_normal((d, rank), rng=gen, like=G), xp,
                                      repeat=repeat)["best_s"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_backend_argument(parser)
    parser.add_argument("--quick", action="store_true", help="512 x 512, rank 64")
    parser.add_argument("--n", type=int, default=None, help="layer size (default 2048, quick 512)")
    parser.add_argument("--rank", type=int, default=None, help="projection rank (default 256, quick 64)")
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: the library's own)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.threads)
    xp = backend.get_namespace(args.backend)
    n = args.n or (512 if args.quick else 2048)
    rank = args.rank or (64 if args.quick else 256)
    repeat = args.repeat or (5 if args.quick else 3)
    rates = machine_rates(xp, n=1024 if args.quick else 2048, copy_mb=64 if args.quick else 256)
    print(f"backend {rates['backend']} | cpu {rates['cpu']} | matmul {rates['matmul_gflops']:.1f} GFLOP/s | "
          f"copy {rates['copy_gbs']:.1f} GB/s (read + write)")
    print(f"layer {n} x {n}, rank {rank}, float64, dense Gaussian gradient; peer: Adam in the same run")
    G = backend.random_normal((n, n), rng=1, xp=xp)
    W = xp.zeros((n, n), dtype=xp.float64)
    rows = []
    t_adam = None
    print()
    print(f"{'transform':<27} {'ms/step':>9} {'x Adam':>7} {'state floats':>13} {'state MB':>9} {'/ Adam':>7} "
          f"{'proj GFLOP/s':>13}")
    for name, opt in contenders(rank):
        t, floats, nbytes = step_time(opt, W, G, xp, repeat)
        if name == "adam":
            t_adam, bytes_adam = t, nbytes
        proj = "" if name in ("adam",) else f"{4 * n * n * rank / t / 1e9:>13.1f}"
        rows.append({"transform": name, "ms_per_step": 1e3 * t, "ratio_to_adam": t / t_adam, "state_floats": floats,
                     "state_bytes": nbytes, "state_fraction_of_adam": nbytes / bytes_adam})
        print(f"{name:<27} {1e3 * t:>9.2f} {t / t_adam:>7.2f} {floats:>13,} {nbytes / 2**20:>9.2f} "
              f"{nbytes / bytes_adam:>7.3f} {proj}")
    t_torch = torch_adam_time(n, repeat) if backend.is_numpy(xp) else None
    if t_torch is not None:
        print(f"{'torch.optim.Adam (CPU)':<27} {1e3 * t_torch:>9.2f} {t_torch / t_adam:>7.2f}")

    print()
    print("Refresh: one projector computation, and GaLore's amortized step (step + refresh / T) / Adam step")
    step_galore = next(r["ms_per_step"] for r in rows if r["transform"] == "galore (svd)") / 1e3
    refresh = refresh_times(G, rank, xp, repeat, 2 if n >= 2048 else repeat)
    gaps = (10, 50, 200)
    print(f"{'projector':<22} {'ms':>10} {'Adam steps':>11} " + " ".join(f"{'T=' + str(T):>8}" for T in gaps))
    refresh_rows = []
    for name, t in refresh.items():
        amortized = {T: (step_galore + t / T) / t_adam for T in gaps}
        refresh_rows.append({"projector": name, "ms": 1e3 * t, "adam_steps": t / t_adam,
                             **{f"amortized_T{T}": v for T, v in amortized.items()}})
        print(f"{name:<22} {1e3 * t:>10.1f} {t / t_adam:>11.1f} " + " ".join(f"{amortized[T]:>8.2f}" for T in gaps))
    print("(x Adam, / Adam: ratios to Adam's step time and state in this run; GaLore's step between refreshes is "
          "the 'galore (svd)' row)")
    write_json(args.json, {"machine": rates, "n": n, "rank": rank, "steps": rows, "refresh": refresh_rows,
                           "torch_adam_ms": None if t_torch is None else 1e3 * t_torch, "quick": args.quick})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
