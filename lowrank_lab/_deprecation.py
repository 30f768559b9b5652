"""Deprecation shims for names and modules that moved (kept for one release, see docs/deprecations.md).

Old import paths keep working and emit a :class:`DeprecationWarning` that names the new
place.  Every forwarding edge is listed here in a string (never as an ``import``
statement), so the architecture test sees the layers as they are meant to be and
lists these edges separately (``tests/test_architecture.py``).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import warnings
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["forward_attributes", "moved_module", "renamed_keywords", "warn_deprecated"]

#: The release in which the shims go away.
REMOVAL = "0.3"


def warn_deprecated(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that ``old`` is deprecated in favour of ``new``."""
    warnings.warn(
        f"{old} is deprecated and will be removed in lowrank_lab {REMOVAL}; use {new} instead "
        "(see docs/deprecations.md)",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def moved_module(old: str, new: str) -> None:
    """Called at the top of a shim module ``old`` whose contents moved to ``new``."""
    warn_deprecated(f"the module {old}", f"{new}", stacklevel=4)


def forward_attributes(module: str, targets: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that forwards the moved ``name`` to ``targets[name]`` with a warning.

    Examples
    --------
    >>> __getattr__ = forward_attributes("old.place", {"sqrt": "math"})
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     __getattr__("sqrt")(4.0)
    2.0
    >>> caught[0].category.__name__
    'DeprecationWarning'
    """

    def __getattr__(name: str) -> Any:
        if name not in targets:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warn_deprecated(f"{module}.{name}", f"{targets[name]}.{name}")
        return getattr(importlib.import_module(targets[name]), name)

    return __getattr__


def renamed_keywords(**renames: str) -> Callable[[Callable], Callable]:
    """Decorator accepting old keyword names (``old="new"``) with a deprecation warning.

    Examples
    --------
    >>> @renamed_keywords(step="step_size")
    ... def solve(*, step_size=1.0):
    ...     return step_size
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     solve(step=0.5)
    0.5
    """

    def decorate(fn: Callable) -> Callable:
        params = inspect.signature(fn).parameters
        for new in renames.values():
            if new not in params:
                raise TypeError(f"{fn.__name__} has no parameter {new!r}")

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{fn.__name__}() got both {old!r} (deprecated) and {new!r}; pass only {new!r}")
                    warn_deprecated(f"{fn.__name__}({old}=...)", f"{fn.__name__}({new}=...)")
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        return wrapper

    return decorate
