"""lowrank_lab: GPU-ready low-rank learning routines behind a suite of reproducible notebooks.

Modules
-------
backend      array namespaces, devices, host/device transfer, random numbers
linalg       the operations the Array API standard lacks (segment sums, SVDs, solves)
problems     ground truths and measurement models
results      SolverResult and histories
spectral     spectral metrics (effective rank, ESD, power-law fits, intruder dimensions...)
experiments  sweeps over grids x seeds with a resumable on-disk cache
plotting     house style and deterministic figure files
"""

__version__ = "0.1.0"
