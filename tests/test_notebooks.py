"""Every notebook executes in smoke mode and writes its figures (to a scratch directory)."""

from __future__ import annotations

import pytest

from lowrank_lab import paths
from lowrank_lab.notebook_runner import discover_notebooks, execute_notebook

NOTEBOOKS = discover_notebooks(paths.project_root() / "notebooks")


@pytest.mark.notebooks
@pytest.mark.timeout(900)
@pytest.mark.parametrize("source", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_smoke_mode(source, tmp_path):
    run = execute_notebook(source, smoke=True, figures_dir=tmp_path / "figures", cache_dir=tmp_path / "sweeps")
    assert run.ok, run.error
    pngs = [f for f in run.figures if f.endswith(".png")]
    assert pngs, f"{source.stem} wrote no figure"
    assert all(f.startswith(source.stem[:2] + "_") for f in run.figures), run.figures
    for f in pngs:
        assert (tmp_path / "figures" / f).stat().st_size > 5_000
        assert (tmp_path / "figures" / f.replace(".png", ".pdf")).is_file()
    assert run.output is None  # smoke runs never rewrite the tracked .ipynb


def test_every_notebook_has_a_paired_source_and_parameters_cell():
    for source in NOTEBOOKS:
        text = source.read_text()
        assert "formats: ipynb,py:percent" in text, f"{source.name} is not paired with an .ipynb"
        assert '# %% tags=["parameters"]' in text, f"{source.name} lacks a tagged parameters cell"
        assert 'SMOKE = os.environ.get("LOWRANK_SMOKE") == "1"' in text, source.name


RUN_DEPENDENT = {
    "a memory address": r" at 0x[0-9a-f]{6,}",
    "a kernel's temporary file": r"/tmp/ipykernel_\d+",
    "a warning": r"\w+Warning: ",
    "a random pandas Styler id": r'id=\\"T_[0-9a-f]{5}[_\\]',
}


@pytest.mark.parametrize("source", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_executed_notebook_holds_nothing_that_changes_between_runs(source):
    """``make figures`` regenerates the .ipynb byte for byte only if its outputs hold no addresses,
    process ids, random ids or warnings (a warning is also a defect to fix, not to commit)."""
    import re

    executed = source.with_suffix(".ipynb")
    if not executed.is_file():
        pytest.skip(f"{executed.name} not executed yet")
    text = executed.read_text()
    found = {what: m.group(0) for what, pattern in RUN_DEPENDENT.items() if (m := re.search(pattern, text))}
    assert not found, f"{executed.name} holds {found}"
