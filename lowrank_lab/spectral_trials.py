"""Deprecated location of :mod:`lowrank_lab.spectral.trials` (kept for one release)."""

from ._deprecation import moved_module

moved_module(__name__, "lowrank_lab.spectral.trials")

from .spectral.trials import *  # noqa: E402,F403
from .spectral.trials import __all__  # noqa: E402,F401
