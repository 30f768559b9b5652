"""environment.yml (conda users) must install what pyproject.toml's default extras declare."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]
# the extras `make` installs (Makefile: EXTRAS ?= ...) are the "default" install
DEFAULT_EXTRAS = tuple(re.search(r"^EXTRAS \?= *(\S+)", (ROOT / "Makefile").read_text(), re.M).group(1).split(","))
# PyPI requirement name -> conda-forge package name(s)
CONDA_NAMES = {"dask[distributed]": ("dask", "distributed")}


def _split(req: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+(?:\[[^\]]+\])?)\s*(.*)$", req)
    assert match, req
    return match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in DEFAULT_EXTRAS:
        reqs += project["optional-dependencies"][extra]
    wanted: dict[str, str] = {}
    for req in reqs:
        name, spec = _split(req)
        for conda_name in CONDA_NAMES.get(name, (name,)):
            wanted[conda_name] = spec
    return wanted


def _conda_requirements() -> tuple[dict[str, str], list]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda: dict[str, str] = {}
    pip_section: list = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip_section = dep.get("pip", [])
            continue
        name, spec = _split(dep)
        conda[name] = spec
    return conda, pip_section


def test_environment_lists_every_default_dependency_with_the_same_bound():
    wanted = _pyproject_requirements()
    conda, _ = _conda_requirements()
    missing = sorted(set(wanted) - set(conda))
    assert not missing, f"environment.yml lacks {missing}"
    mismatched = {n: (wanted[n], conda[n]) for n in wanted if wanted[n] != conda[n]}
    assert not mismatched, f"version bounds differ (pyproject, environment.yml): {mismatched}"


def test_environment_has_nothing_extra_and_installs_the_package_itself():
    wanted = _pyproject_requirements()
    conda, pip_section = _conda_requirements()
    extra = sorted(set(conda) - set(wanted) - {"python", "pip"})
    assert not extra, f"environment.yml installs packages pyproject.toml does not declare: {extra}"
    assert conda["python"].startswith("=3.11")
    assert any(line.replace(" ", "").endswith("-e.") for line in pip_section), "environment.yml must pip-install the package"


def test_gpu_extra_is_opt_in():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(r.startswith("cupy") for r in project["optional-dependencies"]["gpu"])
    default = project["dependencies"] + sum((project["optional-dependencies"][e] for e in DEFAULT_EXTRAS), [])
    assert not any(r.startswith("cupy") for r in default)


def test_pip_section_is_a_valid_requirements_file(tmp_path):
    """conda writes the pip section to a requirements file and runs ``pip install -r``; parse it as pip does."""
    pytest.importorskip("pip")
    from pip._internal.network.session import PipSession
    from pip._internal.req.constructors import install_req_from_parsed_requirement
    from pip._internal.req.req_file import parse_requirements

    _, pip_section = _conda_requirements()
    assert pip_section, "environment.yml must have a pip section"
    req_file = tmp_path / "condaenv.requirements.txt"
    req_file.write_text("\n".join(pip_section) + "\n")
    parsed = [install_req_from_parsed_requirement(r) for r in parse_requirements(str(req_file), session=PipSession())]
    assert len(parsed) == len(pip_section)
    assert any(r.editable for r in parsed), "the package itself must be installed editable (-e .)"
