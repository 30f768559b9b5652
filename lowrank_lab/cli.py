"""Command line: ``lowrank-lab info | figures | notebooks | bench | inspect``.

Examples
--------
::

    lowrank-lab info                      # versions, backends, GPU found or not
    lowrank-lab figures                   # every notebook at full size -> figures/ + executed .ipynb
    lowrank-lab figures --smoke           # tiny sizes, writes nothing tracked (CI)
    lowrank-lab figures --only 04         # one notebook (prefix or full stem)
    lowrank-lab notebooks                 # list the notebooks
    lowrank-lab bench --quick             # run benchmarks/*.py (from a checkout)
    lowrank-lab inspect all-MiniLM-L6-v2  # spectral atlas of a model -> table, CSV/Parquet, figures
    lowrank-lab inspect all-MiniLM-L6-v2 --adapter my_lora/   # a PEFT LoRA adapter against its base
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


_ATLAS_COLUMNS = ["name", "shape", "alpha", "xmin", "ks_distance", "stable_rank", "effective_rank",
                  "numerical_rank", "mp_spikes", "rand_spikes", "warning"]
_REPORT_COLUMNS = ["module", "rank", "scaling", "relative_norm", "delta_effective_rank", "delta_stable_rank",
                   "amplification", "intruders"]
_HEATMAP_METRICS = ("alpha", "stable_rank", "effective_rank", "mp_spikes")


def _slug(text: str) -> str:
    import re  # noqa: PLC0415

    return re.sub(r"[^A-Za-z0-9_.-]+", "_", os.path.basename(os.path.normpath(text))).strip("._") or "model"


def _write_table(frame, out, stem: str) -> list:
    import pandas as pd  # noqa: PLC0415

    frame = pd.DataFrame(frame)  # attrs hold tuples: written to neither file
    frame.attrs = {}
    csv, parquet = out / f"{stem}.csv", out / f"{stem}.parquet"
    frame.to_csv(csv, index=False)
    frame.to_parquet(parquet, index=False)
    return [csv, parquet]


def _atlas_figures(frame, weights, out, esd_names, eigenvalues: str, formats) -> list:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from . import plotting, spectral  # noqa: PLC0415

    plotting.use_style()
    written = []
    if frame["layer"].notna().any():
        metrics = [m for m in _HEATMAP_METRICS if m in frame and frame[m].notna().any()]
        n_kinds = frame.loc[frame["layer"].notna(), "kind"].nunique()
        n_layers = frame["layer"].nunique()
        fig, axes = plt.subplots(len(metrics), 1, figsize=(2.2 + 0.8 * n_layers, len(metrics) * (1.0 + 0.42 * n_kinds)),
                                 squeeze=False)
        for ax, metric in zip(axes[:, 0], metrics):
            spectral.plot_atlas_heatmap(frame, metric, ax=ax, fmt="{:.3g}")
        fig.tight_layout()
        written += plotting.savefig(fig, "atlas_heatmap", directory=out, formats=formats)
        plt.close(fig)
    for name in esd_names:
        fig, ax = plt.subplots(figsize=(4.6, 3.4))
        spectral.plot_esd(weights[name], ax=ax, name=name, eigenvalues=eigenvalues)
        written += plotting.savefig(fig, f"esd_{_slug(name)}", directory=out, formats=formats)
        plt.close(fig)
    return written


def cmd_inspect(args: argparse.Namespace) -> int:
    from pathlib import Path  # noqa: PLC0415

    import pandas as pd  # noqa: PLC0415

    from . import datasets, spectral  # noqa: PLC0415

    try:
        files = datasets.resolve_weight_files(args.model)
        weights = datasets.pretrained_weights(args.model)
        adapter = datasets.load_peft_adapter(args.adapter) if args.adapter else None
    except (FileNotFoundError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path.cwd() / f"inspect_{_slug(args.model)}"
    out.mkdir(parents=True, exist_ok=True)
    n_mat = sum(1 for v in weights.values() if getattr(v, "ndim", 0) == 2)
    print(f"{args.model}: {len(weights)} tensors ({n_mat} 2-D) from {', '.join(str(f) for f in files)}")
    written = []
    with pd.option_context("display.width", 200, "display.max_rows", 500, "display.max_colwidth", 60,
                           "display.float_format", "{:.4g}".format):
        if adapter is not None:
            try:
                report = spectral.adapter_report(weights, adapter, k=args.k, progress=not args.quiet)
            except (ValueError, KeyError) as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            print(f"adapter {args.adapter}: {len(report)} module(s), r = {adapter.config.get('r')}, "
                  f"lora_alpha = {adapter.config.get('lora_alpha')}, rsLoRA = {adapter.use_rslora}")
            print(report[[c for c in _REPORT_COLUMNS if c in report]].to_string(index=False))
            written += _write_table(report, out, "adapter_report")
            if not args.no_figures:
                import matplotlib  # noqa: PLC0415

                matplotlib.use("Agg")
                import matplotlib.pyplot as plt  # noqa: PLC0415

                from . import plotting  # noqa: PLC0415

                plotting.use_style()
                axes = spectral.plot_intruder_counts(report)
                written += plotting.savefig(axes[0].figure, "intruders", directory=out, formats=args.formats)
                plt.close(axes[0].figure)
        else:
            frame = spectral.atlas(weights, eigenvalues=args.eigenvalues, svd=args.svd, include=args.include,
                                   randomize=not args.no_randomize, progress=not args.quiet)
            print(frame[[c for c in _ATLAS_COLUMNS if c in frame]].to_string(index=False))
            skipped = frame.attrs.get("skipped", [])
            if skipped:
                print(f"skipped {len(skipped)} tensor(s) that are not 2-D floating matrices "
                      f"(e.g. {skipped[0][0]}: {skipped[0][1]})")
            written += _write_table(frame, out, "atlas")
            if not args.no_figures and len(frame):
                esd = args.esd
                if not esd:
                    fitted = frame.dropna(subset=["alpha"]).sort_values("alpha")
                    esd = list(dict.fromkeys([*fitted["name"].head(1), *fitted["name"].tail(1)]))
                unknown = [n for n in esd if n not in weights]
                if unknown:
                    print(f"error: --esd names unknown tensors: {unknown}", file=sys.stderr)
                    return 2
                written += _atlas_figures(frame, weights, out, esd, args.eigenvalues, args.formats)
    print(f"wrote {len(written)} file(s) to {out}: {', '.join(p.name for p in written)}")
    return 0


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
    ins = sub.add_parser("inspect", help="spectral atlas of a model, or a PEFT LoRA adapter against it")
    ins.add_argument("model", help="all-MiniLM-L6-v2, a .safetensors file or a Hugging Face model directory")
    ins.add_argument("--adapter", metavar="DIR", help="PEFT LoRA checkpoint (adapter_config.json + "
                     "adapter_model.safetensors): report intruders, ranks, amplification per module")
    ins.add_argument("--out", metavar="DIR", help="where tables and figures go (default ./inspect_<model>)")
    ins.add_argument("--eigenvalues", choices=["normalized", "weightwatcher"], default="normalized",
                     help="ESD convention: sigma^2/N (default) or sigma^2 as WeightWatcher")
    ins.add_argument("--svd", choices=["auto", "exact", "gram", "randomized"], default="auto",
                     help="how singular values are computed (see spectral.weight_spectrum)")
    ins.add_argument("--include", metavar="REGEX", help="only tensors whose name matches")
    ins.add_argument("--esd", nargs="+", metavar="NAME", help="tensors whose ESD to draw "
                     "(default: the lowest- and highest-alpha matrices)")
    ins.add_argument("--k", type=int, default=10, help="top singular vectors examined for intruders")
    ins.add_argument("--no-randomize", action="store_true", help="skip the shuffled-entries comparison")
    ins.add_argument("--no-figures", action="store_true", help="tables only")
    ins.add_argument("--formats", nargs="+", choices=["png", "pdf", "svg"], default=["png", "pdf"],
                     help="figure file formats (default: png pdf)")
    ins.add_argument("--quiet", action="store_true", help="no progress bar")
    ins.set_defaults(func=cmd_inspect)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
