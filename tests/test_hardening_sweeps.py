"""Issue 9 (hardening): sweeps under concurrency and kills; what the sidecar records."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest
import sweep_trials

from lowrank_lab.experiments import SweepWarning, load_sweep, run_sweep

TESTS_DIR = Path(__file__).resolve().parent
REPO_DIR = TESTS_DIR.parent


def _env(**extra):
    path = os.pathsep.join([str(TESTS_DIR), str(REPO_DIR), os.environ.get("PYTHONPATH", "")])
    return dict(os.environ, PYTHONPATH=path, TQDM_DISABLE="1", **extra)


@pytest.mark.timeout(180)
def test_two_processes_on_one_cache_compute_each_trial_once_and_leave_no_mismatched_entry(tmp_path):
    cache, counter = tmp_path / "cache", tmp_path / "counter.txt"
    grid = {"a": list(range(4)), "b": [0.5, 1.5]}
    script = (
        "import sys, sweep_trials\n"
        "from lowrank_lab.experiments import run_sweep\n"
        f"df = run_sweep('both', {grid!r}, sweep_trials.noisy_product, seeds=[0, 1], cache_dir={str(cache)!r}, "
        "progress=False)\n"
        "df.to_pickle(sys.argv[1])\n"
    )
    env = _env(SWEEP_SLEEP="0.05", SWEEP_COUNTER=str(counter))
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path / f"out{i}.pkl")], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for i in range(2)]
    for proc in procs:
        out = proc.communicate(timeout=150)[0].decode()
        assert proc.returncode == 0, out
    lines = counter.read_text().splitlines()
    assert len(lines) == 16 and len(set(lines)) == 16, "a trial was computed twice (or not at all)"
    reference = run_sweep("both", grid, sweep_trials.noisy_product, seeds=[0, 1], cache_dir=False, progress=False)
    for i in range(2):
        pd.testing.assert_frame_equal(pd.read_pickle(tmp_path / f"out{i}.pkl"), reference)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SweepWarning)  # a damaged (mismatched) entry would warn
        loaded = load_sweep("both", cache_dir=cache)
    assert len(loaded) == 16 and (loaded["status"] == "ok").all()
    assert not [p for p in cache.iterdir() if p.name.endswith(".tmp")]


def _children(pid: int) -> set[int]:
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.add(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.timeout(120)
def test_process_workers_exit_when_the_sweep_is_killed(tmp_path):
    counter = tmp_path / "counter.txt"
    script = (
        "import sweep_trials\n"
        "from lowrank_lab.experiments import run_sweep\n"
        "run_sweep('orphans', {'a': list(range(40)), 'b': [1.0]}, sweep_trials.noisy_product, executor='process', "
        f"n_workers=2, cache_dir={str(tmp_path / 'cache')!r}, progress=False)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], env=_env(SWEEP_SLEEP="0.5", SWEEP_COUNTER=str(counter)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while len(workers) < 2 or not counter.exists():  # both workers started, and one trial at least
            assert proc.poll() is None, "the sweep ended before it was killed"
            assert time.monotonic() < deadline, "the workers did not start within 60 s"
            workers = {p for p in _children(proc.pid) if _alive(p)}
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = [p for p in workers if _alive(p)]
    for p in survivors:  # do not leave them to the next test
        os.kill(p, signal.SIGKILL)
    assert not survivors, f"worker processes {survivors} outlived the killed sweep"


def test_worker_watchdog_exits_a_worker_whose_parent_is_gone(tmp_path):
    """The portable fallback alone: a child that saw its parent die exits (no prctl needed)."""
    from lowrank_lab.experiments import _executors

    script = (
        "import os, sys, time\n"
        "from lowrank_lab.experiments import _executors\n"
        "_executors.WATCHDOG_INTERVAL = 0.05\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    _executors._worker_init(os.getppid())\n"
        "    print(os.getpid(), flush=True)\n"
        "    time.sleep(30)\n"
        "    os._exit(0)\n"
        "time.sleep(30)\n"
    )
    if not hasattr(os, "fork"):
        pytest.skip("no fork")
    assert _executors.WATCHDOG_INTERVAL > 0
    proc = subprocess.Popen([sys.executable, "-c", script], env=_env(), stdout=subprocess.PIPE)
    child = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = _alive(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive


def test_sidecar_records_blas_threads_and_compiled_kernels(tmp_path):
    from lowrank_lab.linalg import _jit

    run_sweep("numerics", {"x": [1]}, sweep_trials.fragile, cache_dir=tmp_path, progress=False)
    meta = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert meta["compiled_kernels"] is _jit.numba_enabled()
    assert isinstance(meta["blas_threads"], dict) and meta["blas_threads"]
    assert all(isinstance(n, int) and n >= 1 for n in meta["blas_threads"].values())
