"""Deprecated location of :mod:`lowrank_lab.matrices` (kept for one release, see docs/deprecations.md)."""

from .._deprecation import moved_module

moved_module(__name__, "lowrank_lab.matrices")

from ..matrices import *  # noqa: E402,F403
from ..matrices import __all__  # noqa: E402,F401
