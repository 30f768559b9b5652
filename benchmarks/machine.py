"""Machine reference rates measured in the same run as a benchmark.

Every benchmark reports its speed against a named peer *and* against what this
machine can do at best: the dense matmul rate (GFLOP/s) and the memory copy
bandwidth (GB/s), both measured here, now, on the selected backend.

Usage from a benchmark script::

    from machine import machine_rates, sync, timeit
    rates = machine_rates(xp)        # {'matmul_gflops': ..., 'copy_gbs': ...}
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lowrank_lab import backend  # noqa: E402


def sync(xp: Any) -> None:
    """Wait for queued device work (no-op off GPU)."""
    if backend.is_cupy(xp):  # pragma: no cover - needs a GPU
        import cupy

        cupy.cuda.Stream.null.synchronize()


def timeit(fn: Callable[[], Any], xp: Any = None, *, repeat: int = 5, warmup: int = 1, min_time: float = 0.0) -> dict:
    """Run ``fn`` ``warmup`` times, then ``repeat`` timed runs; returns best/median seconds."""
    for _ in range(warmup):
        fn()
        if xp is not None:
            sync(xp)
    times = []
    start_all = time.perf_counter()
    while len(times) < repeat or (time.perf_counter() - start_all) < min_time:
        t0 = time.perf_counter()
        fn()
        if xp is not None:
            sync(xp)
        times.append(time.perf_counter() - t0)
        if len(times) >= 1000:
            break
    times.sort()
    return {"best_s": times[0], "median_s": times[len(times) // 2], "n": len(times)}


def machine_rates(xp: Any = None, *, n: int = 2048, copy_mb: int = 256) -> dict:
    """Measured float64 matmul rate (n x n x n, GFLOP/s) and copy bandwidth (GB/s, read + write)."""
    xp = xp or backend.get_namespace("numpy")
    A = backend.random_normal((n, n), rng=0, xp=xp)
    B = backend.random_normal((n, n), rng=1, xp=xp)
    t_mm = timeit(lambda: A @ B, xp, repeat=5)["best_s"]
    m = copy_mb * 2**20 // 8
    x = backend.random_normal((m,), rng=2, xp=xp)
    t_cp = timeit(lambda: xp.asarray(x, copy=True), xp, repeat=5)["best_s"]
    return {
        "backend": backend.backend_name(xp),
        "matmul_gflops": 2 * n**3 / t_mm / 1e9,
        "copy_gbs": 2 * m * 8 / t_cp / 1e9,
        "cpu": platform.processor() or platform.machine(),
    }


def add_backend_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", default="numpy", choices=["numpy", "cupy"], help="array backend (default numpy)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON here")


def write_json(path: Path | None, payload: dict) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=2, default=float))


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    add_backend_argument(p)
    args = p.parse_args()
    xp = backend.get_namespace(args.backend)
    print(json.dumps(machine_rates(xp), indent=2))
