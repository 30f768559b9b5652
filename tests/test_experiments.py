"""Tests for lowrank_lab.experiments: grids, cache, resume after a kill, failures, executors."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sweep_trials

from lowrank_lab.experiments import SweepWarning, expand_grid, load_sweep, run_sweep, trial_key

TESTS_DIR = Path(__file__).resolve().parent
REPO_DIR = TESTS_DIR.parent
CACHE_FILE = re.compile(r"^[0-9a-f]{64}\.(parquet|json)$")


@pytest.fixture
def counter(tmp_path, monkeypatch):
    """Path of the file trials append to (one line per call), and a reader of its lines."""
    path = tmp_path / "counter.txt"
    monkeypatch.setenv("SWEEP_COUNTER", str(path))
    monkeypatch.delenv("SWEEP_SLEEP", raising=False)
    monkeypatch.delenv("SWEEP_FIXED", raising=False)

    def lines():
        return path.read_text().splitlines() if path.exists() else []

    lines.path = path
    return lines


@pytest.fixture
def worker_pythonpath(monkeypatch):
    """Let freshly started worker processes import ``sweep_trials`` and ``lowrank_lab`` (restored afterwards)."""
    parts = [str(TESTS_DIR), str(REPO_DIR)]
    if os.environ.get("PYTHONPATH"):
        parts.append(os.environ["PYTHONPATH"])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(parts))


def _sweep(name, grid, trial, **kwargs):
    kwargs.setdefault("progress", False)
    return run_sweep(name, grid, trial, **kwargs)


def _cache_files(directory):
    """The cache's entries (``<key>.parquet``, ``<key>.json``) and leftovers; not the hidden claim locks."""
    return sorted(p.name for p in Path(directory).iterdir() if not (p.name.startswith(".") and p.name.endswith(".lock")))


# --------------------------------------------------------------------------- grids and keys


def test_expand_grid_is_the_cartesian_product_in_key_order():
    configs = expand_grid({"b": [2, 1], "a": ["x", "y", "z"]})
    assert configs == [
        {"b": 2, "a": "x"}, {"b": 2, "a": "y"}, {"b": 2, "a": "z"},
        {"b": 1, "a": "x"}, {"b": 1, "a": "y"}, {"b": 1, "a": "z"},
    ]
    assert all(list(c) == ["b", "a"] for c in configs)


def test_expand_grid_normalizes_values():
    configs = expand_grid({"p": np.array([0.5, 1.5]), "n": range(2), "fixed": "als", "shape": [(2, 3)],
                           "flag": [np.bool_(True)], "k": [np.int64(4)]})
    assert len(configs) == 4
    first = configs[0]
    assert first == {"p": 0.5, "n": 0, "fixed": "als", "shape": (2, 3), "flag": True, "k": 4}
    assert type(first["p"]) is float and type(first["k"]) is int and type(first["flag"]) is bool
    assert type(first["shape"]) is tuple


def test_expand_grid_list_of_dicts_keeps_explicit_configs():
    grid = [{"method": "als"}, {"method": "gd", "lr": 0.1}, {"method": "gd", "lr": [0.1, 0.2]}]
    assert expand_grid(grid) == [{"method": "als"}, {"method": "gd", "lr": 0.1}, {"method": "gd", "lr": (0.1, 0.2)}]


def test_trial_key_is_canonical():
    base = trial_key({"a": 0.1, "b": (1, 2), "c": "x"}, 0)
    assert trial_key({"c": "x", "b": [1, 2], "a": 0.10}, 0) == base  # key order, tuple == list
    assert trial_key({"a": np.float64(0.1), "b": np.array([1, 2]), "c": "x"}, 0) == base
    assert trial_key({"a": 0.3}, 0) == trial_key({"a": 0.1 + 0.2}, 0)  # float noise below 15 digits
    assert trial_key({"a": 0.0}, 0) == trial_key({"a": -0.0}, 0)
    assert trial_key({"a": 1}, 0) != trial_key({"a": 1.0}, 0)  # the trial gets a different type
    assert trial_key({"a": 1}, 0) != trial_key({"a": True}, 0)
    assert trial_key({"a": 0.1}, 0) != trial_key({"a": 0.1000001}, 0)
    assert len({base, trial_key({"a": 0.1, "b": (1, 2), "c": "x"}, 1),
                trial_key({"a": 0.1, "b": (1, 2), "c": "x"}, 0, cache_version=1)}) == 3
    # The documented format: sha256 of the sorted, compact JSON (the backend joined the key in 0.2).
    expected = hashlib.sha256(b'{"backend":"numpy","cache_version":0,"config":{"a":1,"b":[0.5,"s"]},"seed":3}'
                              ).hexdigest()
    assert trial_key({"b": (0.5, "s"), "a": 1}, 3, backend_name="numpy") == expected
    assert trial_key({"a": 1}, 0, backend_name="array_api_strict") != trial_key({"a": 1}, 0, backend_name="numpy")
    with pytest.raises(ValueError, match="backend_name"):
        trial_key({"a": 1}, 0, backend_name="jax")


def test_the_backend_is_part_of_the_cache_key(tmp_path, monkeypatch, counter):
    grid = {"a": [1], "b": [2.0]}
    first = run_sweep("bk", grid, sweep_trials.noisy_product, seeds=1, cache_dir=tmp_path, progress=False)
    monkeypatch.setenv("LOWRANK_BACKEND", "array_api_strict")
    other = run_sweep("bk", grid, sweep_trials.noisy_product, seeds=1, cache_dir=tmp_path, progress=False)
    assert first.attrs["n_computed"] == 1 and other.attrs["n_computed"] == 1  # not served from numpy's entry
    with pytest.warns(SweepWarning, match="another backend"):
        loaded = load_sweep("bk", cache_dir=tmp_path)
    assert len(loaded) == 1


# --------------------------------------------------------------------------- outputs and the cache


def test_dict_trials_give_one_row_each_and_rerun_loads_from_cache(tmp_path, counter):
    cache = tmp_path / "cache"
    grid = {"a": [1, 2], "b": [0.5, 1.5]}
    df = _sweep("dict", grid, sweep_trials.noisy_product, seeds=3, cache_dir=cache)

    assert df.columns.tolist() == ["a", "b", "seed", "value", "noise", "draw", "label", "positive", "status", "error"]
    expected_order = [(a, b, s) for a in (1, 2) for b in (0.5, 1.5) for s in range(3)]
    assert list(df[["a", "b", "seed"]].itertuples(index=False, name=None)) == expected_order
    assert str(df["a"].dtype) == "int64" and str(df["seed"].dtype) == "int64" and str(df["b"].dtype) == "float64"
    assert str(df["draw"].dtype) == "int64" and str(df["positive"].dtype) == "bool"
    np.testing.assert_allclose(df["value"], df["a"] * df["b"] + 0.01 * df["noise"])
    assert df.groupby("seed")["noise"].nunique().eq(1).all()  # same seed, same problem, in every config
    assert df["noise"].nunique() == 3
    assert (df["status"] == "ok").all() and df["error"].isna().all() and df["error"].tolist() == [None] * 12
    assert df.attrs == {"sweep": "dict", "n_trials": 12, "n_failed": 0, "n_cached": 0, "n_computed": 12,
                        "cache_dir": str(cache)}
    assert len(counter()) == 12

    again = _sweep("dict", grid, sweep_trials.noisy_product, seeds=3, cache_dir=cache)
    assert len(counter()) == 12  # nothing recomputed
    pd.testing.assert_frame_equal(again, df)
    assert again.attrs["n_cached"] == 12 and again.attrs["n_computed"] == 0

    files = _cache_files(cache)
    assert len(files) == 24 and all(CACHE_FILE.match(f) for f in files)

    more = _sweep("dict", {"a": [1, 2, 3], "b": [0.5, 1.5]}, sweep_trials.noisy_product, seeds=3, cache_dir=cache)
    assert more.attrs["n_cached"] == 12 and more.attrs["n_computed"] == 6 and len(counter()) == 18
    pd.testing.assert_frame_equal(more.iloc[:12], df)


def test_sidecar_records_provenance(tmp_path):
    _sweep("meta", {"a": [2], "b": [3.0]}, sweep_trials.noisy_product, seeds=[4], cache_dir=tmp_path,
           cache_version="v2")
    key = trial_key({"a": 2, "b": 3.0}, 4, cache_version="v2")
    meta = json.loads((tmp_path / f"{key}.json").read_text())
    assert meta["config"] == {"a": 2, "b": 3.0} and meta["seed"] == 4 and meta["cache_version"] == "v2"
    assert meta["status"] == "ok" and meta["error"] is None and meta["traceback"] is None
    assert meta["trial"] == "sweep_trials.noisy_product" and meta["sweep"] == "meta"
    assert meta["backend"] == os.environ.get("LOWRANK_BACKEND", "numpy")
    assert meta["numpy"] == np.__version__ and meta["python"].count(".") == 2
    assert meta["lowrank_lab_version"] and meta["finished_at"].endswith("+00:00") and meta["wall_time_s"] >= 0
    assert meta["rows_sha256"] == hashlib.sha256((tmp_path / f"{key}.parquet").read_bytes()).hexdigest()


def test_dataframe_trials_give_several_rows(counter):
    df = _sweep("curve", {"n_iter": [3, 5], "rate": [0.5]}, sweep_trials.curve, seeds=[7, 8], cache_dir=False)
    # The trial's own 'seed' column equals the sweep's: kept once.  The named index became a column.
    assert df.columns.tolist() == ["n_iter", "rate", "seed", "iteration", "loss", "status", "error"]
    assert len(df) == 2 * (3 + 5)
    assert df.groupby(["n_iter", "seed"]).size().to_dict() == {(3, 7): 3, (3, 8): 3, (5, 7): 5, (5, 8): 5}
    for _, part in df.groupby(["n_iter", "seed"]):
        assert part["iteration"].tolist() == list(range(len(part)))
        np.testing.assert_allclose(part["loss"].to_numpy()[1:] / part["loss"].to_numpy()[:-1], 0.5)
    assert list(df["seed"].iloc[:6]) == [7, 7, 7, 8, 8, 8]
    assert df.attrs["cache_dir"] is None and len(counter()) == 4


def test_cache_dir_false_writes_nothing_and_default_uses_paths(tmp_path, monkeypatch, counter):
    root = tmp_path / "root"
    monkeypatch.setenv("LOWRANK_CACHE_DIR", str(root))
    grid = {"x": [1, 3]}
    _sweep("nocache", grid, sweep_trials.fragile, cache_dir=False)
    _sweep("nocache", grid, sweep_trials.fragile, cache_dir=False)
    assert not root.exists() and len(counter()) == 4

    df = _sweep("default", grid, sweep_trials.fragile)
    assert df.attrs["cache_dir"] == str(root / "default")
    assert len(_cache_files(root / "default")) == 4

    bumped = _sweep("default", grid, sweep_trials.fragile, cache_version=1)
    assert bumped.attrs["n_computed"] == 2 and len(counter()) == 8
    pd.testing.assert_frame_equal(bumped, df)


def test_tuple_configs_round_trip_and_share_keys_with_lists(tmp_path, counter):
    grid = {"shape": [(2, 3), (4, 5)], "method": ["als", "gd"]}
    df = _sweep("shape", grid, sweep_trials.with_shape, cache_dir=tmp_path)
    assert df["shape"].tolist() == [(2, 3), (2, 3), (4, 5), (4, 5)]
    assert df["size"].tolist() == [6, 6, 20, 20] and df["upper"].tolist() == ["ALS", "GD", "ALS", "GD"]
    assert df.groupby("shape")["size"].first().to_dict() == {(2, 3): 6, (4, 5): 20}  # hashable tuples

    as_lists = _sweep("shape", {"shape": [[2, 3], [4, 5]], "method": ["als", "gd"]}, sweep_trials.with_shape,
                      cache_dir=tmp_path)
    assert as_lists.attrs["n_cached"] == 4 and len(counter()) == 4
    pd.testing.assert_frame_equal(as_lists, df)
    pd.testing.assert_frame_equal(load_sweep("shape", cache_dir=tmp_path), df)


def test_list_of_dicts_grid_with_different_keys(counter):
    grid = [{"a": 1, "b": 2.0}, {"b": 3.0, "a": 4}]
    df = _sweep("explicit", grid, sweep_trials.noisy_product, seeds=2, cache_dir=False)
    assert df[["a", "b", "seed"]].values.tolist() == [[1, 2.0, 0], [1, 2.0, 1], [4, 3.0, 0], [4, 3.0, 1]]

    ragged = _sweep("ragged", [{"x": 1}, {}], functools.partial(sweep_trials.fragile, x=5), cache_dir=False)
    assert ragged["y"].tolist() == [10, 50]
    assert ragged["x"].iloc[0] == 1 and pd.isna(ragged["x"].iloc[1])


# --------------------------------------------------------------------------- failures


def test_raising_trial_is_recorded_and_the_others_complete(tmp_path, counter, monkeypatch):
    grid = {"x": [1, 2, 3]}
    with pytest.warns(SweepWarning, match=r"1 of 3 trials failed.*'x': 2.*ValueError: x=2 is not supported"):
        df = _sweep("fail", grid, sweep_trials.fragile, cache_dir=tmp_path)
    assert df["status"].tolist() == ["ok", "failed", "ok"]
    assert df["error"].iloc[0] is None and df["error"].iloc[1] == "ValueError: x=2 is not supported"
    assert df["y"].iloc[[0, 2]].tolist() == [10.0, 30.0] and np.isnan(df["y"].iloc[1])
    assert df.attrs["n_failed"] == 1 and df.attrs["n_computed"] == 3

    key = trial_key({"x": 2}, 0)
    meta = json.loads((tmp_path / f"{key}.json").read_text())
    assert meta["status"] == "failed" and meta["error"] == "ValueError: x=2 is not supported"
    assert meta["traceback"].startswith("Traceback") and "in fragile" in meta["traceback"]
    assert "sweep_trials.py" in meta["traceback"]
    assert not (tmp_path / f"{key}.parquet").exists()
    assert len(counter()) == 3

    # retry_failed=False: the failure comes from the cache, nothing runs.
    with pytest.warns(SweepWarning, match="1 of 3 trials failed"):
        cached = _sweep("fail", grid, sweep_trials.fragile, cache_dir=tmp_path, retry_failed=False)
    pd.testing.assert_frame_equal(cached, df)
    assert cached.attrs["n_cached"] == 3 and len(counter()) == 3

    # retry_failed=True (default): only the failed trial runs again; now it succeeds.
    monkeypatch.setenv("SWEEP_FIXED", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error", SweepWarning)
        fixed = _sweep("fail", grid, sweep_trials.fragile, cache_dir=tmp_path)
    assert fixed["status"].tolist() == ["ok"] * 3 and fixed["y"].tolist() == [10, 20, 30]
    assert fixed.attrs["n_cached"] == 2 and fixed.attrs["n_computed"] == 1
    assert counter()[-1].startswith("fragile [('x', 2)]") and len(counter()) == 4
    assert json.loads((tmp_path / f"{key}.json").read_text())["status"] == "ok"


def test_invalid_trial_outputs_are_failures_with_clear_messages():
    with pytest.warns(SweepWarning):
        df = _sweep("bad", {"x": [1]}, sweep_trials.bad_output, cache_dir=False)
    assert df["status"].tolist() == ["failed"]
    assert "trial output 'y' must be a scalar" in df["error"].iloc[0]
    with pytest.warns(SweepWarning):
        df = _sweep("bad", {"x": [1]}, sweep_trials.reserved_output, cache_dir=False)
    assert "reserved" in df["error"].iloc[0] and "rel_error" in df["error"].iloc[0]


def test_all_trials_failing_gives_config_status_and_error_columns():
    with pytest.warns(SweepWarning, match="2 of 2 trials failed"):
        df = _sweep("allbad", {"x": [2]}, sweep_trials.fragile, seeds=2, cache_dir=False)
    assert df.columns.tolist() == ["x", "seed", "status", "error"]
    assert df["status"].tolist() == ["failed", "failed"]


def test_none_outputs_become_missing_values(tmp_path):
    df = _sweep("optional", {"x": [1, 2, 3, 4]}, sweep_trials.optional_metric, cache_dir=tmp_path)
    assert str(df["metric"].dtype) == "float64" and df["metric"].isna().tolist() == [True, False, True, False]
    assert df["name"].isna().tolist() == [True, False, True, False]
    pd.testing.assert_frame_equal(_sweep("optional", {"x": [1, 2, 3, 4]}, sweep_trials.optional_metric,
                                         cache_dir=tmp_path), df)


def test_a_directory_holding_another_sweep_is_refused(tmp_path, counter):
    _sweep("first", {"x": [1, 3]}, sweep_trials.fragile, cache_dir=tmp_path)
    with pytest.raises(ValueError, match=r"holds trials of sweep\(s\) \['first'\].*own cache_dir"):
        _sweep("second", {"x": [1, 3]}, sweep_trials.optional_metric, cache_dir=tmp_path)
    assert len(counter()) == 2
    # Same sweep, another trial function: the cache is used, with a warning.
    with pytest.warns(SweepWarning, match="computed by.*sweep_trials.fragile"):
        df = _sweep("first", {"x": [1, 3]}, functools.partial(sweep_trials.optional_metric), cache_dir=tmp_path)
    assert df["y"].tolist() == [10, 30] and df.attrs["n_cached"] == 2
    _sweep("third", {"x": [5]}, sweep_trials.fragile, cache_dir=tmp_path)
    with pytest.warns(SweepWarning, match="also holds trials of sweep"):
        assert load_sweep("third", cache_dir=tmp_path)["x"].tolist() == [5]


# --------------------------------------------------------------------------- atomicity, damage, resume


def test_no_temporary_files_are_left_behind(tmp_path):
    with pytest.warns(SweepWarning):
        _sweep("atomic", {"x": [1, 2, 3, 4]}, sweep_trials.fragile, seeds=2, cache_dir=tmp_path)
    files = _cache_files(tmp_path)
    assert all(CACHE_FILE.match(f) for f in files), files
    assert len([f for f in files if f.endswith(".json")]) == 8
    assert len([f for f in files if f.endswith(".parquet")]) == 6  # failed trials have no rows


def test_uncommitted_or_damaged_entries_are_recomputed(tmp_path, counter):
    grid = {"x": [1, 3, 4]}
    reference = _sweep("damage", grid, sweep_trials.fragile, cache_dir=False)
    k1, k3, k4 = (trial_key({"x": x}, 0) for x in (1, 3, 4))

    # Killed between the two writes: a partial Parquet file without its sidecar, plus a stray temp file.
    (tmp_path / f"{k1}.parquet").write_bytes(b"PAR1\x00partial")
    (tmp_path / f".{k1}.json.abc123.tmp").write_text("{")
    df = _sweep("damage", grid, sweep_trials.fragile, cache_dir=tmp_path)
    pd.testing.assert_frame_equal(df, reference)
    assert len(counter()) == 6 and df.attrs["n_computed"] == 3

    # A committed entry whose Parquet file was damaged afterwards: recomputed, with a warning.
    (tmp_path / f"{k3}.parquet").write_bytes((tmp_path / f"{k3}.parquet").read_bytes()[:20])
    # A sidecar that is not valid JSON: not committed, recomputed.
    (tmp_path / f"{k4}.json").write_text('{"format": 1, "status": "o')
    with pytest.warns(SweepWarning, match="1 cached trial.*damaged"):
        df = _sweep("damage", grid, sweep_trials.fragile, cache_dir=tmp_path)
    pd.testing.assert_frame_equal(df, reference)
    assert df.attrs["n_cached"] == 1 and df.attrs["n_computed"] == 2
    assert sorted(line.split()[1:3] for line in counter()[6:]) == [["[('x',", "3)]"], ["[('x',", "4)]"]]

    again = _sweep("damage", grid, sweep_trials.fragile, cache_dir=tmp_path)
    assert again.attrs["n_cached"] == 3 and len(counter()) == 8


@pytest.mark.timeout(120)
def test_killed_sweep_resumes_without_recomputing_finished_trials(tmp_path, counter):
    cache = tmp_path / "cache"
    grid = {"a": list(range(12)), "b": [1.5]}
    script = (
        "import sweep_trials\n"
        "from lowrank_lab.experiments import run_sweep\n"
        f"run_sweep('killed', {grid!r}, sweep_trials.noisy_product, seeds=[3], cache_dir={str(cache)!r}, "
        "progress=False)\n"
    )
    env = dict(os.environ, SWEEP_SLEEP="0.2", SWEEP_COUNTER=str(counter.path),
               PYTHONPATH=os.pathsep.join([str(TESTS_DIR), str(REPO_DIR), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while len(list(cache.glob("*.json"))) < 3:  # glob of a missing directory is empty
            if proc.poll() is not None:
                pytest.fail(f"the sweep ended before it was killed:\n{proc.stdout.read().decode()}")
            if time.monotonic() > deadline:
                pytest.fail("no 3 trials finished within 90 s")
            time.sleep(0.01)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL

    finished = {p.stem for p in cache.glob("*.json")}
    assert 3 <= len(finished) < 12, "the sweep finished before it was killed: make trials slower"
    started_before = len(counter())
    assert started_before >= len(finished)

    partial = load_sweep("killed", cache_dir=cache)
    assert len(partial) == len(finished) and (partial["status"] == "ok").all()

    df = _sweep("killed", grid, sweep_trials.noisy_product, seeds=[3], cache_dir=cache)
    assert df.attrs["n_cached"] == len(finished) and df.attrs["n_computed"] == 12 - len(finished)
    lines = counter()
    for a in range(12):
        calls = lines.count(f"noisy_product [('a', {a}), ('b', 1.5)] 3")
        if trial_key({"a": a, "b": 1.5}, 3) in finished:
            assert calls == 1, f"finished trial a={a} was recomputed"
        else:
            assert calls >= 1
    assert all(CACHE_FILE.match(f) for f in _cache_files(cache) if not f.startswith("."))

    reference = _sweep("killed", grid, sweep_trials.noisy_product, seeds=[3], cache_dir=False)
    pd.testing.assert_frame_equal(df, reference)
    pd.testing.assert_frame_equal(load_sweep("killed", cache_dir=cache), reference)


# --------------------------------------------------------------------------- load_sweep


def test_load_sweep_sorts_by_config_and_selects_the_cache_version(tmp_path, monkeypatch):
    monkeypatch.setenv("LOWRANK_CACHE_DIR", str(tmp_path))
    _sweep("loaded", {"a": [3, 1, 2], "b": [1.0]}, sweep_trials.noisy_product, seeds=[1, 0])
    loaded = load_sweep("loaded")
    expected = _sweep("loaded", {"a": [1, 2, 3], "b": [1.0]}, sweep_trials.noisy_product, seeds=[0, 1])
    pd.testing.assert_frame_equal(loaded, expected)
    assert loaded.attrs["n_trials"] == 6 and loaded.attrs["n_cached"] == 6

    _sweep("loaded", {"a": [5], "b": [1.0]}, sweep_trials.noisy_product, cache_version=2)
    with pytest.warns(SweepWarning, match="cache versions"):
        latest = load_sweep("loaded")
    assert latest["a"].tolist() == [5]
    assert load_sweep("loaded", cache_version=0)["a"].tolist() == [1, 1, 2, 2, 3, 3]

    with pytest.raises(FileNotFoundError, match="nope"):
        load_sweep("nope")
    with pytest.raises(ValueError, match="cache_dir"):
        load_sweep("loaded", cache_dir=False)


# --------------------------------------------------------------------------- executors


@pytest.mark.timeout(180)
def test_process_executor_gives_the_serial_results(tmp_path, counter):
    grid = {"a": [1, 2, 3], "b": [0.5, 2.0]}
    serial = _sweep("exec", grid, sweep_trials.noisy_product, seeds=2, cache_dir=False)
    processes = _sweep("exec", grid, sweep_trials.noisy_product, seeds=2, executor="process", n_workers=2,
                       cache_dir=tmp_path)
    pd.testing.assert_frame_equal(processes, serial)
    pids = {json.loads(p.read_text())["pid"] for p in tmp_path.glob("*.json")}
    assert os.getpid() not in pids  # the trials ran in worker processes
    reloaded = _sweep("exec", grid, sweep_trials.noisy_product, seeds=2, cache_dir=tmp_path)
    assert reloaded.attrs["n_cached"] == 12 and len(counter()) == 24
    pd.testing.assert_frame_equal(reloaded, serial)

    with pytest.warns(SweepWarning, match="1 of 4 trials failed"):
        failing = _sweep("exec-fail", {"x": [1, 2, 3, 4]}, sweep_trials.fragile, executor="process",
                         n_workers=2, cache_dir=False)
    with pytest.warns(SweepWarning):
        expected = _sweep("exec-fail", {"x": [1, 2, 3, 4]}, sweep_trials.fragile, cache_dir=False)
    pd.testing.assert_frame_equal(failing, expected)


@pytest.mark.timeout(120)
def test_a_dying_worker_process_stops_the_sweep_with_a_clear_error(tmp_path):
    with pytest.raises(RuntimeError, match="worker process of the sweep died.*run the sweep again to resume"):
        _sweep("crash", {"x": [1, 2, 3]}, sweep_trials.crash, executor="process", n_workers=2, cache_dir=tmp_path)
    assert all(CACHE_FILE.match(f) for f in _cache_files(tmp_path))
    assert trial_key({"x": 2}, 0) + ".json" not in _cache_files(tmp_path)


@pytest.mark.timeout(300)
def test_dask_executors_give_the_serial_results(tmp_path, worker_pythonpath, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.delenv("SWEEP_COUNTER", raising=False)
    grid = {"n_iter": [2, 4], "rate": [0.5, 0.9]}
    serial = _sweep("dask", grid, sweep_trials.curve, seeds=2, cache_dir=False)

    own_cluster = _sweep("dask", grid, sweep_trials.curve, seeds=2, executor="dask", n_workers=2,
                         cache_dir=tmp_path / "own")
    pd.testing.assert_frame_equal(own_cluster, serial)
    pids = {json.loads(p.read_text())["pid"] for p in (tmp_path / "own").glob("*.json")}
    assert os.getpid() not in pids

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    try:
        with distributed.Client(cluster) as client:
            with_client = _sweep("dask", grid, sweep_trials.curve, seeds=2, executor=client, cache_dir=False)
            pd.testing.assert_frame_equal(with_client, serial)
            with pytest.warns(SweepWarning, match="1 of 3 trials failed"):
                failing = _sweep("dask-fail", {"x": [1, 2, 3]}, sweep_trials.fragile, executor=client,
                                 cache_dir=tmp_path / "client")
            assert failing["status"].tolist() == ["ok", "failed", "ok"]
            assert "ValueError: x=2" in failing["error"].iloc[1]
            assert client.status == "running"  # a user's client is left open
            assert client.submit(sum, [1, 2]).result() == 3
    finally:
        cluster.close()


# --------------------------------------------------------------------------- progress and bad inputs


def test_progress_bar_shows_cached_and_computed(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    run_sweep("bar", {"x": [1, 3]}, sweep_trials.fragile, cache_dir=tmp_path, progress=True)
    assert "cached 0, computed 2, failed 0" in capsys.readouterr().err
    run_sweep("bar", {"x": [1, 3]}, sweep_trials.fragile, cache_dir=tmp_path, progress=True)
    assert "cached 2, computed 0" in capsys.readouterr().err
    run_sweep("bar", {"x": [1, 3]}, sweep_trials.fragile, cache_dir=tmp_path, progress=False)
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("TQDM_DISABLE", "1")
    run_sweep("bar", {"x": [1, 3]}, sweep_trials.fragile, cache_dir=tmp_path, progress=True)
    assert capsys.readouterr().err == ""


GOOD = {"name": "ok", "grid": {"x": [1]}, "trial": sweep_trials.fragile}


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"name": ""}, ValueError, "name"),
        ({"name": "a/b"}, ValueError, "name"),
        ({"name": ".."}, ValueError, "name"),
        ({"name": 3}, ValueError, "name"),
        ({"grid": {}}, ValueError, "grid must not be empty"),
        ({"grid": []}, ValueError, "grid must not be empty"),
        ({"grid": "x"}, TypeError, "grid must be a dict of lists or a list of dicts"),
        ({"grid": {"x": []}}, ValueError, r"grid\['x'\] must not be empty"),
        ({"grid": {"x": [1, object()]}}, TypeError, r"grid\['x'\]\[1\] must be a JSON-able scalar"),
        ({"grid": {"x": [{"a": 1}]}}, TypeError, r"grid\['x'\]\[0\]"),
        ({"grid": {"x": [[1, [2]]]}}, TypeError, r"grid\['x'\]\[0\]\[1\]"),
        ({"grid": {"x": [1j]}}, TypeError, r"grid\['x'\]\[0\]"),
        ({"grid": {"x": [0.1, 0.1]}}, ValueError, "duplicate configs"),
        ({"grid": {"seed": [1]}}, ValueError, "'seed' is reserved"),
        ({"grid": {"status": [1]}}, ValueError, "'status' is reserved"),
        ({"grid": {"not valid": [1]}}, TypeError, "identifiers"),
        ({"grid": [{"x": 1}, 3]}, TypeError, r"grid\[1\] must be a dict"),
        ({"grid": [{"x": np.zeros((2, 2))}]}, TypeError, r"grid\[0\]\['x'\]"),
        ({"trial": 42}, TypeError, "trial must be a callable"),
        ({"trial": sweep_trials.noisy_product}, TypeError, "trial sweep_trials.noisy_product cannot be called"),
        ({"seeds": 0}, ValueError, "seeds must be >= 1"),
        ({"seeds": -2}, ValueError, "seeds"),
        ({"seeds": []}, ValueError, "seeds must not be empty"),
        ({"seeds": [1, 1]}, ValueError, "seeds must be distinct"),
        ({"seeds": [0, 0.5]}, TypeError, r"seeds\[1\]"),
        ({"seeds": [-1]}, ValueError, r"seeds\[0\]"),
        ({"seeds": True}, TypeError, "seeds"),
        ({"seeds": "012"}, TypeError, "seeds"),
        ({"executor": "threads"}, ValueError, "executor must be one of"),
        ({"executor": 3}, TypeError, "executor must be one of"),
        ({"n_workers": 0}, ValueError, "n_workers"),
        ({"n_workers": 1.5}, TypeError, "n_workers"),
        ({"cache_dir": 3}, TypeError, "cache_dir"),
        ({"cache_dir": True}, TypeError, "cache_dir"),
        ({"cache_version": 1.5}, TypeError, "cache_version"),
        ({"cache_version": None}, TypeError, "cache_version"),
        ({"retry_failed": "yes"}, TypeError, "retry_failed"),
        ({"progress": None}, TypeError, "progress"),
    ],
)
def test_bad_inputs_name_the_argument(tmp_path, change, error, match):
    kwargs = {**GOOD, "cache_dir": tmp_path / "c", "progress": False, **change}
    with pytest.raises(error, match=match):
        run_sweep(kwargs.pop("name"), kwargs.pop("grid"), kwargs.pop("trial"), **kwargs)
    assert not (tmp_path / "c").exists()  # validation happens before anything is written


@pytest.mark.parametrize("executor", ["process", "dask"])
@pytest.mark.parametrize(
    "trial",
    [lambda x, seed: {"y": x}, sweep_trials.make_closure(), functools.partial(lambda x, seed: {"y": x})],
    ids=["lambda", "closure", "partial-of-lambda"],
)
def test_non_importable_trials_are_refused_by_parallel_executors(tmp_path, executor, trial):
    if executor == "dask":
        pytest.importorskip("distributed")
    with pytest.raises(TypeError, match="importable module-level function"):
        run_sweep("lam", {"x": [1]}, trial, executor=executor, cache_dir=tmp_path, progress=False)
    df = run_sweep("lam", {"x": [1]}, trial, cache_dir=False, progress=False)  # serial: anything callable
    assert df["y"].tolist() == [1]


def test_trial_key_validates_its_arguments():
    with pytest.raises(TypeError, match="config"):
        trial_key([1, 2], 0)
    with pytest.raises(ValueError, match="seed"):
        trial_key({}, -1)
    with pytest.raises(TypeError, match="cache_version"):
        trial_key({}, 0, cache_version=[1])
