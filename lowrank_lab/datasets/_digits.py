"""Handwritten digits (study H): scikit-learn's bundled copy, split and optionally label-shuffled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import backend
from .._validation import check_float

__all__ = ["DigitsData", "digits"]


@dataclass(frozen=True, repr=False, eq=False)
class DigitsData:
    """The digits as host arrays, split into training and test sets.

    Attributes
    ----------
    X_train, X_test : numpy.ndarray of float64, shape (n, 64)
        Pixel intensities divided by 16 (values in ``[0, 1]``).
    y_train, y_test : numpy.ndarray of int64
        Labels 0-9 (randomly permuted over all images when ``shuffled_labels``).
    shuffled_labels : bool
    n_classes : int
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    shuffled_labels: bool
    n_classes: int = 10

    def __repr__(self) -> str:
        return (f"DigitsData(train={self.X_train.shape[0]}, test={self.X_test.shape[0]}, "
                f"features={self.X_train.shape[1]}, shuffled_labels={self.shuffled_labels})")


def digits(*, test_fraction: float = 0.25, shuffle_labels: bool = False, rng: Any = 0) -> DigitsData:
    """scikit-learn's bundled handwritten digits (1,797 x 64, 10 classes), split and optionally label-shuffled.

    The images come from ``sklearn.datasets.load_digits`` (shipped inside
    scikit-learn, nothing is downloaded; scikit-learn is imported here, lazily).
    Pixels are scaled to ``[0, 1]``.  The split is stratified by the true label
    and seeded.  With ``shuffle_labels=True`` the labels are then randomly permuted
    over all images (Zhang et al.'s randomization test, Li et al.'s "shuffled
    labels" control): the class frequencies stay, any relation between image and
    label is gone, so only memorization can fit the training set and test accuracy
    is at chance.  The split is drawn first, so a seed gives the same images in
    each set with and without shuffling (a paired control).

    Parameters
    ----------
    test_fraction : float in (0, 1), default 0.25
    shuffle_labels : bool, default False
    rng : seed or Generator, default 0
        One host stream: the split is drawn first, then the label permutation (if any).

    Examples
    --------
    >>> data = digits()
    >>> data.X_train.shape, data.X_test.shape, data.n_classes
    ((1347, 64), (450, 64), 10)
    """
    test_fraction = check_float(test_fraction, "test_fraction", low=0.0, high=1.0, low_inclusive=False,
                                high_inclusive=False)
    try:
        from sklearn.datasets import load_digits  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - scikit-learn is in the default install
        raise ImportError("digits() needs scikit-learn (pip install scikit-learn); its images ship with it") from exc
    bunch = load_digits()
    X = np.asarray(bunch.data, dtype=np.float64) / 16.0
    y_true = np.asarray(bunch.target, dtype=np.int64)
    gen = backend.as_generator(rng)
    test = np.zeros(y_true.shape[0], dtype=bool)
    for label in np.unique(y_true):  # stratified by the true label
        members = np.flatnonzero(y_true == label)
        n_test = round(test_fraction * members.size)
        test[gen.choice(members, size=n_test, replace=False)] = True
    y = gen.permutation(y_true) if shuffle_labels else y_true
    return DigitsData(X[~test], y[~test], X[test], y[test], bool(shuffle_labels))
