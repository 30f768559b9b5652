"""Deprecated location of :mod:`lowrank_lab.completion.trials` (kept for one release, see docs/deprecations.md)."""

from ._deprecation import moved_module

moved_module(__name__, "lowrank_lab.completion.trials")

from .completion.trials import *  # noqa: E402,F403
from .completion.trials import __all__  # noqa: E402,F401
