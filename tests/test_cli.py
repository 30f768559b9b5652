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
