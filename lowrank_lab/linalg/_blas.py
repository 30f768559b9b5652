"""BLAS thread control for small dense kernels (``threadpoolctl``), cached for cheap use in loops."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

#: Panels with at most this many columns (tall-skinny QR, SVD of a sketch) run on one BLAS thread.
NARROW_COLUMNS = 64

_LOCK = threading.Lock()
_CONTROLLER: Any = None


def _controller() -> Any:
    """One ``ThreadpoolController`` for the process (creating one inspects every loaded library: ~1 ms)."""
    global _CONTROLLER
    with _LOCK:
        if _CONTROLLER is None:
            import scipy.linalg  # noqa: F401, PLC0415 - load SciPy's BLAS before looking
            from threadpoolctl import ThreadpoolController  # noqa: PLC0415

            _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


@contextlib.contextmanager
def one_blas_thread(active: bool = True) -> Iterator[None]:
    """Run the block with BLAS on one thread (the previous limits come back after it).

    Tall-skinny LAPACK calls (a QR of an ``m x 20`` panel, the SVD of a sketch) are
    memory-bound panel operations that gain nothing from BLAS threads and lose a lot
    when the threads spin for cores the machine does not have free: measured on a
    loaded 2-core machine, ``numpy.linalg.qr`` of a 9724 x 20 panel took 25 ms on two
    OpenBLAS threads against 4.5 ms on one (SciPy's ``qr``: 3.4 ms against 1.3 ms).
    Costs ~10 us per use (the controller is cached).
    """
    if not active:
        yield
        return
    with _controller().limit(limits=1, user_api="blas"):
        yield
