"""Where the suite reads and writes: project root, figures, data, sweep caches.

Each location can be redirected with an environment variable, which is how the
notebook runner keeps smoke-mode runs from touching ``figures/`` and ``data/``:

=====================  ===============================  ============================
function               environment variable             default
=====================  ===============================  ============================
:func:`project_root`   ``LOWRANK_ROOT``                 the checkout holding the package
:func:`figures_dir`    ``LOWRANK_FIGURES_DIR``          ``<root>/figures``
:func:`data_dir`       ``LOWRANK_DATA_DIR``             ``<root>/data``
:func:`cache_dir`      ``LOWRANK_CACHE_DIR``            ``<data>/sweeps``
=====================  ===============================  ============================
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir", "data_dir", "figures_dir", "notebooks_dir", "project_root", "smoke_mode"]


def project_root() -> Path:
    """The checkout root (holds ``pyproject.toml`` and ``notebooks/``), else the working directory."""
    env = os.environ.get("LOWRANK_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").is_file() and (here / "notebooks").is_dir():
        return here
    for candidate in [Path.cwd(), *Path.cwd().parents]:
        if (candidate / "pyproject.toml").is_file() and (candidate / "notebooks").is_dir():
            return candidate
    return Path.cwd()


def figures_dir() -> Path:
    """Directory figures are written to (created on demand by ``plotting.savefig``)."""
    return Path(os.environ.get("LOWRANK_FIGURES_DIR") or project_root() / "figures")


def data_dir() -> Path:
    """Directory of shipped data sets (``data/``)."""
    return Path(os.environ.get("LOWRANK_DATA_DIR") or project_root() / "data")


def cache_dir() -> Path:
    """Root of the sweep cache (one sub-directory per sweep)."""
    return Path(os.environ.get("LOWRANK_CACHE_DIR") or data_dir() / "sweeps")


def notebooks_dir() -> Path:
    """Directory of the notebook sources (``notebooks/``)."""
    return project_root() / "notebooks"


def smoke_mode() -> bool:
    """True when ``LOWRANK_SMOKE=1``: notebooks use tiny sizes (CI)."""
    return os.environ.get("LOWRANK_SMOKE") == "1"
