"""Execute the suite's notebooks: smoke mode for CI, full size for the figures.

The source of truth of each notebook is ``notebooks/NN_name.py`` (jupytext
``py:percent``).  :func:`execute_notebook` runs it in a fresh Jupyter kernel
with the environment that selects the mode:

* **full** (``make figures``): figures go to ``figures/``, sweep caches to
  ``data/sweeps/``, and the executed notebook (with its outputs and figures) is
  written next to the source as ``notebooks/NN_name.ipynb`` for readers on GitHub.
* **smoke** (``LOWRANK_SMOKE=1``, used by ``make test``): tiny sizes, and figures,
  caches and the executed notebook go to a scratch directory, so a test run never
  touches tracked files.

Examples
--------
>>> [p.name for p in discover_notebooks()][:1]  # doctest: +SKIP
['00_tour.py']
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import paths

__all__ = ["NotebookRun", "discover_notebooks", "execute_notebook", "select_notebooks"]

_NOTEBOOK = re.compile(r"^\d\d_[A-Za-z0-9_]+\.py$")


@dataclass(frozen=True)
class NotebookRun:
    """Outcome of executing one notebook."""

    name: str
    ok: bool
    seconds: float
    smoke: bool
    figures: tuple[str, ...] = ()  # file names written (in the figures directory)
    output: Path | None = None
    error: str | None = None
    extra: dict = field(default_factory=dict)


def discover_notebooks(directory: str | Path | None = None) -> list[Path]:
    """Notebook sources ``NN_name.py`` in ``directory`` (default ``notebooks/``), sorted by name."""
    directory = Path(directory) if directory is not None else paths.notebooks_dir()
    if not directory.is_dir():
        raise FileNotFoundError(f"notebooks directory not found: {directory}")
    return sorted(p for p in directory.iterdir() if _NOTEBOOK.match(p.name))


def select_notebooks(only: Sequence[str] | None = None, directory: str | Path | None = None) -> list[Path]:
    """Notebooks named by ``only``: each name is a stem or a prefix of exactly one (``"04"``).

    ``None`` selects every notebook.  An empty name, a name that matches no notebook
    and a prefix that matches several (``"0"``) are refused with a ``ValueError``:
    a typo must never start a run of the whole suite.
    """
    found = discover_notebooks(directory)
    if only is None:
        return found
    if isinstance(only, str) or not only:
        raise ValueError(f"only must be a non-empty list of notebook names, got {only!r}")
    names = ", ".join(p.stem for p in found)
    chosen: list[Path] = []
    for name in only:
        name = str(name).strip()
        if not name:
            raise ValueError(f"only must name notebooks ({names}), got an empty name")
        exact = [p for p in found if p.stem == name]
        matches = exact or [p for p in found if p.stem.startswith(name)]
        if not matches:
            raise ValueError(f"only must name existing notebooks ({names}), got unknown {name!r}")
        if len(matches) > 1:
            raise ValueError(f"only: {name!r} is ambiguous, it matches {', '.join(p.stem for p in matches)}; "
                             f"give a longer prefix, e.g. {matches[0].stem[:2]!r}")
        if matches[0] not in chosen:
            chosen.append(matches[0])
    return [p for p in found if p in chosen]


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def execute_notebook(
    source: str | Path,
    *,
    smoke: bool,
    figures_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    write_notebook: bool | None = None,
    timeout: int = 1800,
    backend: str | None = None,
) -> NotebookRun:
    """Run one notebook source in a fresh kernel and report what it produced.

    Parameters
    ----------
    source : path
        ``notebooks/NN_name.py``.
    smoke : bool
        Tiny sizes (``LOWRANK_SMOKE=1``), scratch output directories.
    figures_dir, cache_dir : path, optional
        Override where figures and sweep caches go (defaults: see module docstring).
    write_notebook : bool, optional
        Write the executed ``.ipynb`` next to the source (default: only in full mode).
    timeout : int
        Seconds allowed per cell.
    backend : str, optional
        ``LOWRANK_BACKEND`` for the kernel (default: inherited, i.e. numpy).
    """
    import jupytext  # noqa: PLC0415
    import nbformat  # noqa: PLC0415
    from jupyter_client.manager import KernelManager  # noqa: PLC0415
    from nbclient import NotebookClient  # noqa: PLC0415
    from nbclient.exceptions import CellExecutionError  # noqa: PLC0415

    source = Path(source).resolve()
    if not source.is_file():
        raise FileNotFoundError(f"source must be an existing notebook file, got {source}")
    write_notebook = (not smoke) if write_notebook is None else write_notebook
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lowrank_nb_")))
        fig_dir = Path(figures_dir) if figures_dir is not None else (scratch / "figures" if smoke else paths.figures_dir())
        env = {
            "LOWRANK_SMOKE": "1" if smoke else "0",
            "LOWRANK_FIGURES_DIR": str(fig_dir),
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        }
        if cache_dir is not None or smoke:
            env["LOWRANK_CACHE_DIR"] = str(cache_dir if cache_dir is not None else scratch / "sweeps")
        if smoke:
            env["TQDM_DISABLE"] = "1"
        if backend is not None:
            env["LOWRANK_BACKEND"] = backend
        env["LOWRANK_ROOT"] = str(paths.project_root())
        before = _snapshot(fig_dir)
        notebook = jupytext.read(source)
        # IPC sockets in the scratch directory: local-only, and no "TCP without
        # encryption" warning from the kernel on every run.
        manager = KernelManager(kernel_name="python3", transport="ipc", ip=str(scratch / "kernel"))
        client = NotebookClient(
            notebook,
            km=manager,
            timeout=timeout,
            kernel_name="python3",
            record_timing=False,
            resources={"metadata": {"path": str(source.parent)}},
        )
        start = time.perf_counter()
        error = None
        with _environment(env):
            try:
                client.execute()
            except CellExecutionError as exc:
                error = _short_error(str(exc))
            except Exception as exc:  # kernel died, timeout...
                error = f"{type(exc).__name__}: {exc}"
            finally:
                if manager.has_kernel:  # nbclient leaves a kernel it did not create running
                    manager.shutdown_kernel(now=True)
        seconds = time.perf_counter() - start
        figures = tuple(sorted(p for p, stamp in _snapshot(fig_dir).items() if before.get(p) != stamp))
        output = None
        if write_notebook and error is None:
            _normalize(notebook, source.stem)
            _paired_metadata(notebook)
            output = source.with_suffix(".ipynb")
            tmp = output.with_name(f".{output.name}.tmp")
            nbformat.write(notebook, str(tmp))
            tmp.replace(output)
        return NotebookRun(
            name=source.stem,
            ok=error is None,
            seconds=seconds,
            smoke=smoke,
            figures=tuple(p.name for p in figures),
            output=output,
            error=error,
        )


def _paired_metadata(notebook) -> None:
    """Notebook metadata exactly as jupytext writes the ``.ipynb`` half of a pair.

    Opening the pair in JupyterLab and saving it unchanged must change neither file:
    jupytext keeps ``text_representation`` only in the text file (the
    ``notebook_metadata_filter`` of the ``.py`` headers keeps its version numbers out
    of both, see ``notebooks/jupytext.toml``), so it is dropped here; widget state is
    never saved.
    """
    meta = notebook.metadata.setdefault("jupytext", {})
    meta["formats"] = "ipynb,py:percent"
    meta.pop("text_representation", None)
    notebook.metadata.pop("widgets", None)


def _normalize(notebook, stem: str) -> None:
    """Make the executed notebook diff-stable: positional cell ids, merged stream outputs.

    jupytext draws random cell ids and the kernel splits printed text into stream
    chunks by timing; neither should make a regenerated notebook differ from the last.
    Progress-bar widgets (tqdm) are dropped: their state is not saved, so they would
    only show as a frozen "0%" line, and only in runs whose sweeps were not cached.
    """
    for i, cell in enumerate(notebook.cells):
        cell["id"] = f"{stem[:40]}-{i:03d}"
        outputs = cell.get("outputs")
        if not outputs:
            continue
        merged = []
        for out in outputs:
            if "application/vnd.jupyter.widget-view+json" in out.get("data", {}):
                continue
            if (merged and out.get("output_type") == "stream" and merged[-1].get("output_type") == "stream"
                    and merged[-1].get("name") == out.get("name")):
                merged[-1]["text"] = merged[-1]["text"] + out["text"]
            else:
                merged.append(out)
        cell["outputs"] = merged


def _snapshot(directory: Path) -> dict[Path, tuple[int, int]]:
    if not directory.is_dir():
        return {}
    return {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in directory.iterdir() if p.is_file()}


def _short_error(text: str, limit: int = 4000) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # strip ANSI colours from tracebacks
    return text if len(text) <= limit else text[:limit] + "\n... (truncated)"
