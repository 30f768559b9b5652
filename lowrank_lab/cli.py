"""Command line: ``lowrank-lab info | figures | notebooks | bench``.

Examples
--------
::

    lowrank-lab info                      # versions, backends, GPU found or not
    lowrank-lab figures                   # every notebook at full size -> figures/ + executed .ipynb
    lowrank-lab figures --smoke           # tiny sizes, writes nothing tracked (CI)
    lowrank-lab figures --only 04         # one notebook (prefix or full stem)
    lowrank-lab notebooks                 # list the notebooks
    lowrank-lab bench --quick             # run benchmarks/*.py (from a checkout)
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import subprocess
import sys
from collections.abc import Sequence

from . import __version__, backend, paths

__all__ = ["main"]

_PACKAGES = (
    "numpy", "scipy", "pandas", "matplotlib", "array_api_compat", "array_api_strict", "pyarrow",
    "tqdm", "jupytext", "nbclient", "dask", "distributed", "sklearn", "cupy",
)


def _version(module: str) -> str:
    try:
        return str(getattr(importlib.import_module(module), "__version__", "installed"))
    except Exception:
        return "not installed"


def cmd_info(args: argparse.Namespace) -> int:
    print(f"lowrank_lab {__version__}")
    print(f"python      {platform.python_version()} ({sys.executable})")
    print(f"platform    {platform.platform()}")
    print(f"root        {paths.project_root()}")
    print("packages:")
    for name in _PACKAGES:
        print(f"  {name:<17} {_version(name)}")
    gpu = backend.gpu_available()
    print(f"gpu         {'found (CuPy sees a CUDA device)' if gpu else 'not found'}")
    usable = ["numpy"] + (["array_api_strict"] if _version("array_api_strict") != "not installed" else [])
    usable += ["cupy"] if gpu else []
    print(f"backends    {', '.join(usable)}")
    print(f"compiled    {_compiled_kernels()}")
    try:
        selected = backend.default_backend()
        backend.get_namespace(selected)  # usable here, not only a valid name
    except (ValueError, RuntimeError) as exc:
        print(f"selected    not usable: {exc}")
        return 2
    print(f"selected    {selected} (LOWRANK_BACKEND)")
    return 0


def _compiled_kernels() -> str:
    """Whether the compiled (Numba) kernels of ``linalg`` are in use, and why not."""
    from .linalg import _jit  # noqa: PLC0415

    if os.environ.get("LOWRANK_NUMBA", "1").strip().lower() in ("0", "false", "no", "off"):
        return "disabled (LOWRANK_NUMBA=0): SciPy / NumPy kernels"
    if _version("numba") == "not installed":
        return "not available (Numba not installed; pip install 'lowrank_lab[fast]'): SciPy / NumPy kernels"
    if not _jit.numba_enabled():
        return "not available (Numba could not build them): SciPy / NumPy kernels"
    return f"available (Numba {_version('numba')}): AltMin normal equations and CG, fused residual checks"


def cmd_figures(args: argparse.Namespace) -> int:
    from .notebook_runner import execute_notebook, select_notebooks  # noqa: PLC0415

    try:
        chosen = select_notebooks(args.only)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:  # fail early with a clear message (the option, else LOWRANK_BACKEND)
        backend.get_namespace(args.backend)
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    mode = "smoke" if args.smoke else "full size"
    print(f"executing {len(chosen)} notebook(s) at {mode}")
    failures = 0
    for source in chosen:
        print(f"- {source.stem} ...", flush=True)
        run = execute_notebook(source, smoke=args.smoke, backend=args.backend, timeout=args.timeout)
        status = "ok" if run.ok else "FAILED"
        figs = f", {len(run.figures)} figure file(s)" if run.figures else ""
        print(f"  {status} in {run.seconds:.1f} s{figs}", flush=True)
        if not run.ok:
            failures += 1
            print(run.error, file=sys.stderr)
    return 1 if failures else 0


def cmd_notebooks(args: argparse.Namespace) -> int:
    from .notebook_runner import discover_notebooks  # noqa: PLC0415

    for source in discover_notebooks():
        title = ""
        for line in source.read_text().splitlines():
            if line.startswith("# # "):
                title = line[4:].strip()
                break
        print(f"{source.stem:<34} {title}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    bench_dir = paths.project_root() / "benchmarks"
    scripts = sorted(bench_dir.glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if any(o in s.stem for o in args.only)]
    if not scripts:
        print(f"error: no benchmarks found in {bench_dir}", file=sys.stderr)
        return 2
    rc = 0
    for script in scripts:
        cmd = [sys.executable, str(script), "--backend", args.backend or backend.default_backend()]
        if args.quick:
            cmd.append("--quick")
        print(f"$ {' '.join(cmd)}", flush=True)
        rc |= subprocess.call(cmd, env=os.environ.copy())
    return rc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lowrank-lab", description="lowrank_lab command line")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="versions, backends, GPU found or not").set_defaults(func=cmd_info)
    fig = sub.add_parser("figures", help="execute notebooks and regenerate figures")
    fig.add_argument("--smoke", action="store_true", help="tiny sizes; write nothing tracked (CI)")
    fig.add_argument("--only", nargs="+", metavar="NAME", help="notebook stems or prefixes, e.g. 04")
    fig.add_argument("--backend", choices=backend.BACKENDS, help="array backend for the kernels")
    fig.add_argument("--timeout", type=int, default=3600, help="seconds allowed per cell")
    fig.set_defaults(func=cmd_figures)
    sub.add_parser("notebooks", help="list the notebooks").set_defaults(func=cmd_notebooks)
    bench = sub.add_parser("bench", help="run benchmarks/bench_*.py (from a checkout)")
    bench.add_argument("--quick", action="store_true", help="small sizes")
    bench.add_argument("--only", nargs="+", metavar="NAME", help="benchmark names, e.g. svd")
    bench.add_argument("--backend", choices=["numpy", "cupy"], help="array backend")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
