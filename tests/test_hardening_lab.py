"""Issue 9 (hardening): the command line, the environment files, ``make lab`` and the jupytext pairing."""

from __future__ import annotations

import pytest

from lowrank_lab import backend, cli

needs_no_gpu = pytest.mark.skipif(backend.gpu_available(), reason="checks the behaviour without a GPU")


# --------------------------------------------------------------------------- #
# command line
# --------------------------------------------------------------------------- #
@needs_no_gpu
def test_figures_with_an_unusable_backend_is_a_clear_error_without_a_traceback(capsys, monkeypatch):
    import lowrank_lab.notebook_runner as runner

    monkeypatch.setattr(runner, "execute_notebook", lambda *a, **k: pytest.fail("nothing may run"))
    assert cli.main(["figures", "--backend", "cupy", "--only", "04"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: backend 'cupy' was requested but no CUDA device is usable here")
    assert "Traceback" not in err
    monkeypatch.setenv("LOWRANK_BACKEND", "cupy")  # the environment variable is checked the same way
    assert cli.main(["figures", "--only", "04"]) == 2
    assert "no CUDA device" in capsys.readouterr().err


@pytest.mark.parametrize(("only", "message"), [
    ("", "got an empty name"),
    ("0", "'0' is ambiguous, it matches 00_"),
    ("99", "got unknown '99'"),
])
def test_figures_refuses_an_empty_ambiguous_or_unknown_selection(capsys, monkeypatch, only, message):
    import lowrank_lab.notebook_runner as runner

    monkeypatch.setattr(runner, "execute_notebook", lambda *a, **k: pytest.fail("nothing may run"))
    assert cli.main(["figures", "--smoke", "--only", only]) == 2
    assert message in capsys.readouterr().err


def test_notebook_selection_is_unique_per_name():
    from lowrank_lab.notebook_runner import discover_notebooks, select_notebooks

    found = discover_notebooks()
    assert select_notebooks(["04", "04_spectral_toolkit", "00"]) == [found[0], found[4]]
    with pytest.raises(ValueError, match="non-empty list"):
        select_notebooks([])


def test_info_says_whether_the_compiled_kernels_are_used(capsys, monkeypatch):
    from lowrank_lab.linalg import _jit

    monkeypatch.delenv("LOWRANK_BACKEND", raising=False)
    assert cli.main(["info"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("compiled"))
    assert ("available (Numba" in line) == _jit.numba_enabled()
    monkeypatch.setenv("LOWRANK_NUMBA", "0")
    assert cli.main(["info"]) == 0
    assert "disabled (LOWRANK_NUMBA=0)" in capsys.readouterr().out


@needs_no_gpu
def test_info_with_cupy_selected_and_no_gpu_fails(capsys, monkeypatch):
    monkeypatch.setenv("LOWRANK_BACKEND", "cupy")
    assert cli.main(["info"]) == 2
    out = capsys.readouterr().out
    assert "selected    not usable: backend 'cupy' was requested" in out
    assert "selected    cupy" not in out


# --------------------------------------------------------------------------- #
# make lab
# --------------------------------------------------------------------------- #
def _make_dry_run(*variables: str, tmp_path) -> str:
    import shutil
    import subprocess

    from lowrank_lab import paths

    if shutil.which("make") is None:
        pytest.skip("make not installed")
    out = subprocess.run(["make", "-n", "lab", f"VENV={tmp_path / 'venv'}", *variables], cwd=paths.project_root(),
                         capture_output=True, text=True, check=True).stdout
    return next(line for line in out.splitlines() if "jupyter lab" in line)


def test_make_lab_passes_port_browser_root_and_extra_options(tmp_path):
    from lowrank_lab import paths

    plain = _make_dry_run(tmp_path=tmp_path)
    assert plain.endswith("/bin/jupyter lab notebooks/")
    line = _make_dry_run("LAB_PORT=8890", "NO_BROWSER=1", "ALLOW_ROOT=1", "LAB_IP=0.0.0.0",
                         "LAB_ARGS=--ServerApp.token=abc", tmp_path=tmp_path)
    assert line.endswith("jupyter lab --port=8890 --no-browser --allow-root --ip=0.0.0.0 --ServerApp.token=abc "
                         "notebooks/")
    readme = (paths.project_root() / "README.md").read_text()
    assert all(v in readme for v in ("LAB_PORT=", "NO_BROWSER=1", "ALLOW_ROOT=1", "LAB_ARGS="))


# --------------------------------------------------------------------------- #
# jupytext pairing: open and save an unedited notebook, nothing changes
# --------------------------------------------------------------------------- #
def test_jupytext_load_save_cycle_leaves_both_files_of_every_pair_unchanged(tmp_path):
    jupytext = pytest.importorskip("jupytext")
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("jupyter_server")
    import os
    import shutil

    from lowrank_lab import paths
    from lowrank_lab.notebook_runner import _normalize, _paired_metadata, discover_notebooks

    shutil.copy(paths.project_root() / "notebooks" / "jupytext.toml", tmp_path / "jupytext.toml")
    names = []
    for source in discover_notebooks():
        shutil.copy(source, tmp_path / source.name)
        # the .ipynb exactly as `make figures` writes it (outputs aside: the cells are not executed here)
        notebook = jupytext.read(source)
        _normalize(notebook, source.stem)
        _paired_metadata(notebook)
        nbformat.write(notebook, str(tmp_path / f"{source.stem}.ipynb"))
        os.utime(tmp_path / source.name)  # checkout order: the .py may be the older file, or the newer
        names += [source.name, f"{source.stem}.ipynb"]
    before = {name: (tmp_path / name).read_bytes() for name in names}
    manager = jupytext.TextFileContentsManager(root_dir=str(tmp_path))
    for name in names:  # what JupyterLab does on open, then on save of an unedited notebook
        manager.save(manager.get(name), name)
    changed = [name for name in names if (tmp_path / name).read_bytes() != before[name]]
    assert not changed, f"a load-save cycle changed {changed}"
