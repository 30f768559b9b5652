"""Deprecated location of :mod:`lowrank_lab.sensing.problems` (kept for one release, see docs/deprecations.md)."""

from .._deprecation import moved_module

moved_module(__name__, "lowrank_lab.sensing.problems")

from ..sensing.problems import *  # noqa: E402,F403
from ..sensing.problems import __all__  # noqa: E402,F401
