from __future__ import annotations

import pytest

from lowrank_lab import cli, paths
from lowrank_lab.notebook_runner import discover_notebooks, select_notebooks


def test_info_reports_backends(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "numpy" in out and "gpu" in out and "backends" in out


def test_info_flags_a_bad_backend_variable(capsys, monkeypatch):
    monkeypatch.setenv("LOWRANK_BACKEND", "fortran")
    assert cli.main(["info"]) == 2


def test_figures_rejects_unknown_notebooks(capsys):
    assert cli.main(["figures", "--smoke", "--only", "99_nothing"]) == 2
    assert "only must name existing notebooks" in capsys.readouterr().err


def test_notebook_selection_by_prefix():
    found = discover_notebooks()
    assert found, "no notebooks found"
    first = found[0].stem
    assert select_notebooks([first[:2]])[0].stem == first
    assert select_notebooks(None) == found


def test_notebooks_lists_titles(capsys):
    assert cli.main(["notebooks"]) == 0
    out = capsys.readouterr().out
    assert discover_notebooks()[0].stem in out


def test_paths_follow_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LOWRANK_FIGURES_DIR", str(tmp_path / "f"))
    monkeypatch.setenv("LOWRANK_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.delenv("LOWRANK_CACHE_DIR", raising=False)
    assert paths.figures_dir() == tmp_path / "f"
    assert paths.cache_dir() == tmp_path / "d" / "sweeps"
    monkeypatch.setenv("LOWRANK_SMOKE", "1")
    assert paths.smoke_mode()
    assert (paths.project_root() / "pyproject.toml").is_file()


def test_missing_command_is_an_error():
    with pytest.raises(SystemExit):
        cli.main([])


def test_executed_notebooks_are_normalized():
    """Positional ids, merged stream chunks, no progress-bar widgets (diff-stable .ipynb)."""
    nbformat = pytest.importorskip("nbformat")
    from lowrank_lab.notebook_runner import _normalize

    widget = nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "abc"}, "text/plain": "sweep:   0%|"})
    cell = nbformat.v4.new_code_cell("print(1)", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="a\n"), widget,
        nbformat.v4.new_output("stream", name="stdout", text="b\n"),
        nbformat.v4.new_output("display_data", data={"text/plain": "figure"})])
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# t"), cell])
    _normalize(nb, "03_demo")
    assert [c["id"] for c in nb.cells] == ["03_demo-000", "03_demo-001"]
    outs = nb.cells[1]["outputs"]
    assert [o["output_type"] for o in outs] == ["stream", "display_data"]
    assert outs[0]["text"] == "a\nb\n" and outs[1]["data"] == {"text/plain": "figure"}
