"""The package's layers (docs/architecture.md), read from its imports with ``ast``.

Imports only go down the floors: foundations <- platform <- shared science <- labs <-
faces.  Labs never import each other (except ``intrinsic -> adapters``), ``datasets``
imports no lab and no science, there is no cycle between top-level units, and the old
import paths of the first half still work and warn.
"""

from __future__ import annotations

import ast
import importlib
import sys
import warnings
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lowrank_lab"

#: Floors, bottom to top; a unit may import units of its own floor or below.
FLOORS = {
    "foundations": {"backend", "_validation", "paths", "analysis", "_deprecation"},
    "platform": {"results", "iteration", "linalg", "experiments", "datasets", "plotting"},
    "science": {"matrices", "spectral"},
    "labs": {"sensing", "completion", "adapters", "intrinsic"},
    "faces": {"cli", "notebook_runner", "__init__"},
}
LABS = FLOORS["labs"]
#: Lab -> labs it may import (docs/architecture.md).
LAB_EDGES = {("intrinsic", "adapters")}
#: Old import paths kept for one release (docs/deprecations.md); they may import anything.
SHIMS = {"problems", "sensing_trials", "completion_trials", "spectral_trials"}
#: Deprecated lazy forwards that point upwards, each removed with the shims.
DEPRECATED_EDGES = {("datasets", "completion")}


def _floor(unit: str) -> int:
    for i, names in enumerate(FLOORS.values()):
        if unit in names:
            return i
    raise AssertionError(f"lowrank_lab.{unit} is in no floor of docs/architecture.md: add it to FLOORS")


def _unit(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Top-level lowrank_lab units imported anywhere in ``path`` (functions included)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    return _imports_of(path.read_text(), package)


def _imports_of(source: str, package: str) -> set[str]:
    tree = ast.parse(source)
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "lowrank_lab" and len(parts) > 1 and _is_unit(parts[1]):
                found.add(parts[1])
    return found


def _is_unit(name: str) -> bool:
    return (PACKAGE / f"{name}.py").is_file() or (PACKAGE / name / "__init__.py").is_file()


def _edges() -> dict[tuple[str, str], list[str]]:
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        src = _unit(path)
        for dst in _imports(path):
            if dst != src:
                edges.setdefault((src, dst), []).append(str(path.relative_to(PACKAGE.parent)))
    return edges


EDGES = _edges()


def test_every_unit_has_a_floor():
    units = {_unit(p) for p in PACKAGE.rglob("*.py")} - SHIMS
    for unit in units:
        _floor(unit)


def test_imports_only_go_down():
    upward = [
        f"{src} -> {dst} ({', '.join(files)})"
        for (src, dst), files in EDGES.items()
        if src not in SHIMS and (src, dst) not in DEPRECATED_EDGES and _floor(dst) > _floor(src)
    ]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_labs_do_not_import_each_other():
    crossing = [
        f"{src} -> {dst}" for (src, dst) in EDGES
        if src in LABS and dst in LABS and (src, dst) not in LAB_EDGES
    ]
    assert not crossing, f"labs importing labs: {crossing}"


def test_datasets_is_a_loader():
    bad = [dst for (src, dst) in EDGES if src == "datasets" and dst not in FLOORS["foundations"]
           and (src, dst) not in DEPRECATED_EDGES]
    assert not bad, f"datasets imports {bad}: loaders return host data and import no solver or model"


def test_no_cycles_between_units():
    graph: dict[str, set[str]] = {}
    for src, dst in EDGES:
        if src in SHIMS or (src, dst) in DEPRECATED_EDGES:
            continue
        graph.setdefault(src, set()).add(dst)
    seen: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        seen[node] = 1
        for nxt in graph.get(node, ()):
            if seen.get(nxt) == 1:
                raise AssertionError(f"import cycle: {' -> '.join([*stack, node, nxt])}")
            if nxt not in seen:
                visit(nxt, [*stack, node])
        seen[node] = 2

    for node in list(graph):
        if node not in seen:
            visit(node, [])


def test_the_checker_sees_relative_absolute_and_lazy_imports():
    source = (
        "from . import backend\n"
        "from ..sensing import solvers\n"
        "import lowrank_lab.spectral\n"
        "def f():\n"
        "    from lowrank_lab.completion import altmin\n"
        "    from .. import adapters\n"
    )
    assert _imports_of(source, "lowrank_lab.intrinsic") == {"intrinsic", "sensing", "spectral", "completion",
                                                            "adapters"}
    assert _imports_of("from . import backend", "lowrank_lab") == {"backend"}


def test_no_library_module_is_too_long():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 900}
    assert not long, f"modules over ~900 lines (split them by subject): {long}"


OLD_PATHS = [
    ("lowrank_lab.problems", "low_rank_matrix", "lowrank_lab.matrices"),
    ("lowrank_lab.problems", "Observations", "lowrank_lab.completion"),
    ("lowrank_lab.problems", "gaussian_sensing", "lowrank_lab.sensing"),
    ("lowrank_lab.problems.matrices", "LowRankMatrix", "lowrank_lab.matrices"),
    ("lowrank_lab.problems.sensing", "SensingProblem", "lowrank_lab.sensing"),
    ("lowrank_lab.problems.observations", "sample_entries", "lowrank_lab.completion"),
    ("lowrank_lab.problems.observations", "incoherence", "lowrank_lab.matrices"),
    ("lowrank_lab.sensing_trials", "sensing_summary_trial", "lowrank_lab.sensing.trials"),
    ("lowrank_lab.sensing_trials", "late_phase_rate", "lowrank_lab.analysis"),
    ("lowrank_lab.completion_trials", "recovery_trial", "lowrank_lab.completion.trials"),
    ("lowrank_lab.spectral_trials", "spiked_noise_trial", "lowrank_lab.spectral.trials"),
]


@pytest.mark.parametrize("old, name, new", OLD_PATHS)
def test_old_import_paths_still_work_and_warn(old, name, new):
    for mod in [m for m in sys.modules if m == old or m.startswith(old + ".")]:
        del sys.modules[mod]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    assert any(issubclass(w.category, DeprecationWarning) and "docs/deprecations.md" in str(w.message)
               for w in caught), f"importing {old} did not warn"
    assert getattr(module, name) is getattr(importlib.import_module(new), name)


@pytest.mark.parametrize("name", ["fit_ratings_model", "evaluate", "fit_biases", "movielens_split", "BiasModel",
                                  "RatingsModel", "SOLVERS"])
def test_names_moved_out_of_datasets_still_work_and_warn(name):
    from lowrank_lab import datasets
    from lowrank_lab.completion import ratings

    with pytest.warns(DeprecationWarning, match="lowrank_lab.completion.ratings"):
        value = getattr(datasets, name)
    assert value is getattr(ratings, name)


def test_deprecated_movielens_observations_attribute():
    from lowrank_lab import completion, datasets

    data = datasets.movielens_small()
    with pytest.warns(DeprecationWarning, match="movielens_observations"):
        obs = data.observations
    assert obs.nnz == completion.movielens_observations(data).nnz == 100836


def test_renamed_solver_keywords_still_work_and_warn():
    from lowrank_lab.completion import sample_entries, scaled_gd, svp, svt
    from lowrank_lab.matrices import low_rank_matrix

    obs = sample_entries(low_rank_matrix(20, 20, 2, rng=0), p=0.6, rng=1)
    for fn, old, new, value in [(svp, "step", "step_size", 0.5), (scaled_gd, "step", "step_size", 0.3),
                                (svt, "max_rank", "rank", 4), (svt, "step", "step_size", 2.0)]:
        args = (obs, 2) if fn is not svt else (obs,)
        with pytest.warns(DeprecationWarning, match=f"{fn.__name__}\\({old}=...\\)"):
            res = fn(*args, max_iter=3, rng=0, **{old: value})
        assert res.params[new] == value
        with pytest.raises(TypeError, match="got both"):
            fn(*args, max_iter=3, rng=0, **{old: value, new: value})
