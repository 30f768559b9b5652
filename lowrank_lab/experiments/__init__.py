"""Sweeps: a trial function over a grid of configs x seeds, cached on disk and resumable.

A *sweep* is ``(name, grid, seeds, trial)``.  :func:`run_sweep` expands the grid
into configs (a dict of lists gives the cartesian product in the dict's key
order, last key varying fastest; a list of dicts gives explicit configs), pairs
each config with each seed, and calls ``trial(**config, seed=seed)`` once per
pair.  A trial returns a dict of scalars (one row) or a DataFrame (several rows,
e.g. a convergence curve).  The result is one tidy :class:`pandas.DataFrame`:
config columns, ``seed``, the trial's columns, ``status`` and ``error``.

Design
------
* **Workers compute, the driver writes.**  Whatever the executor (serial,
  local processes, Dask), a worker only runs the trial and sends back its rows
  (already serialized to Parquet bytes) or its error and traceback.  The
  driver process writes the cache and assembles the frame in grid x seed order,
  never in completion order, so results do not depend on the executor and a
  Dask cluster on other machines needs no shared file system.
* **Content-addressed cache.**  A trial's key is the SHA-256 of the canonical
  JSON of ``(config, seed, cache_version)`` (:func:`trial_key`).  It lands in
  ``<cache dir>/<key>.parquet`` (the rows) plus ``<key>.json`` (the sidecar:
  config, seed, status, error, traceback, wall time, versions, backend,
  host, timestamp, SHA-256 of the Parquet bytes).  Both are written atomically
  (temporary file in the same directory, ``fsync``, ``os.replace``) and the
  sidecar goes last: it is the commit marker.  A sweep killed at any point
  resumes without recomputing committed trials; a Parquet file without its
  sidecar, or one whose bytes do not match the sidecar's hash, is recomputed.
* **Failures are data.**  A raising trial is recorded (``status="failed"``,
  the message in ``error``, the full traceback in the sidecar) and the others go
  on; one :class:`SweepWarning` summarizes the failures.  ``retry_failed=True``
  (default) reruns recorded failures on the next call.
* **Same results from the cache.**  Fresh rows go through the same Parquet
  round trip as cached ones, so a re-run loaded from the cache gives an
  identical frame.

Seeds and randomness: the trial receives a plain integer ``seed``.  It should
derive every random stream it needs from it with
``numpy.random.SeedSequence(seed).spawn`` (:func:`lowrank_lab.backend.spawn_generators`),
e.g. one stream for the problem and one for the solver, so that the same seed
gives the same problem in every config: comparing methods on the same seeds is
then a paired comparison.

Trials live in the library (importable, picklable, unit tested).  With the
``"process"`` and ``"dask"`` executors, lambdas, closures and other
non-importable callables are refused, and workers must be able to import both
``lowrank_lab`` and the trial's module.  A *script* (not a notebook) that uses
``executor="dask"``, or ``"process"`` where workers are spawned rather than
forked (macOS, Windows, ``LOWRANK_BACKEND=cupy``), needs the usual
``if __name__ == "__main__":`` guard.  Edited a trial's code?  Bump
``cache_version`` (or use a new sweep name): the cache keys on the config and
seed, not on the code.

Examples
--------
>>> import tempfile
>>> def square(x, scale, seed):
...     return {"y": scale * x * x + seed}
>>> with tempfile.TemporaryDirectory() as d:
...     df = run_sweep("demo", {"x": [1, 2], "scale": [1.0]}, square, seeds=2,
...                    cache_dir=d, progress=False)
...     again = run_sweep("demo", {"x": [1, 2], "scale": [1.0]}, square, seeds=2,
...                       cache_dir=d, progress=False)
>>> df[["x", "scale", "seed", "y", "status"]]
   x  scale  seed    y status
0  1    1.0     0  1.0     ok
1  1    1.0     1  2.0     ok
2  2    1.0     0  4.0     ok
3  2    1.0     1  5.0     ok
>>> again.attrs["n_cached"], again.attrs["n_computed"], bool(again.equals(df))
(4, 0, True)
"""


from ._config import EXECUTORS, RESERVED_COLUMNS, SweepWarning, expand_grid, trial_key  # noqa: F401
from ._sweep import load_sweep, run_sweep  # noqa: F401



