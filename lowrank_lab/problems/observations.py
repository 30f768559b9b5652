"""Deprecated location of :mod:`lowrank_lab.completion.observations` (kept for one release, see docs/deprecations.md)."""

from .._deprecation import moved_module

moved_module(__name__, "lowrank_lab.completion.observations")

from ..completion.observations import *  # noqa: E402,F403
from ..completion.observations import __all__  # noqa: E402,F401
from ..matrices import coherent_low_rank_matrix, incoherence  # noqa: E402,F401
