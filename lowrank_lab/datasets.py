"""Loaders of the real data shipped with the suite: host arrays and tables, no models.

Handwritten digits (study H): :func:`digits` wraps scikit-learn's bundled copy of
the UCI optical-recognition digits (``sklearn.datasets.load_digits``: 1,797
images of 8 x 8 pixels, no download), with a seeded stratified split and a
shuffled-labels control.

MovieLens ml-latest-small (study C).  The files live in
``data/movielens-ml-latest-small/`` (``ratings.csv``, ``movies.csv`` and the
dataset's ``README.txt`` with its licence).  The release is a non-frozen
"development" dataset, so their SHA-256 hashes are recorded in ``SHA256SUMS`` next
to them and checked on every load.

Licence (from ``README.txt``): research use only; acknowledge F. Maxwell Harper
and Joseph A. Konstan (2015), "The MovieLens Datasets: History and Context", ACM
TiiS 5(4):19; redistribute only under the same terms; no commercial use.

Loaders return host data (NumPy arrays, pandas frames) and import no solver: the
labs turn them into their problems (for MovieLens,
:func:`lowrank_lab.completion.movielens_observations` and
:func:`lowrank_lab.completion.movielens_split`), and the ratings models live in
:mod:`lowrank_lab.completion.ratings`.

Examples
--------
>>> data = movielens_small()
>>> data.shape, data.nnz
((610, 9724), 100836)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import backend, paths
from ._deprecation import forward_attributes, warn_deprecated
from ._validation import check_float

__all__ = [
    "MOVIELENS_DIR",
    "ChecksumError",
    "DigitsData",
    "RatingsData",
    "digits",
    "movielens_small",
    "verify_checksums",
]

#: Directory name of the shipped copy under ``data/``.
MOVIELENS_DIR = "movielens-ml-latest-small"

class ChecksumError(RuntimeError):
    """A shipped data file does not match its recorded SHA-256."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_checksums(directory: str | Path | None = None) -> dict[str, str]:
    """Check every file listed in ``<directory>/SHA256SUMS``; return ``{name: sha256}``.

    Raises
    ------
    FileNotFoundError
        If the directory, the manifest or a listed file is missing.
    ChecksumError
        If a file's hash differs from the manifest (the data changed).
    """
    directory = Path(directory) if directory is not None else paths.data_dir() / MOVIELENS_DIR
    manifest = directory / "SHA256SUMS"
    if not manifest.is_file():
        raise FileNotFoundError(f"no SHA256SUMS manifest in {directory}")
    hashes = {}
    for line in manifest.read_text().splitlines():
        if not line.strip():
            continue
        expected, name = line.split(maxsplit=1)
        name = name.strip().lstrip("*")
        path = directory / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} is listed in {manifest} but missing")
        actual = _sha256(path)
        if actual != expected:
            raise ChecksumError(
                f"{path} has SHA-256 {actual}, but {manifest} records {expected}: the (non-frozen) "
                "MovieLens release changed; results are not comparable"
            )
        hashes[name] = actual
    return hashes



@dataclass(frozen=True, repr=False)
class RatingsData:
    """A ratings matrix as host arrays, with its id maps.

    Attributes
    ----------
    rows, cols : numpy.ndarray of int64
        User code and movie code of each rating (row ``u`` is user ``user_ids[u]``,
        column ``i`` movie ``item_ids[i]``).
    values : numpy.ndarray of float64
        The ratings.
    shape : (int, int)
        ``(users, movies)``.
    frame : pandas.DataFrame
        The ratings with columns ``userId, movieId, rating, timestamp, row, col``.
    user_ids, item_ids : numpy arrays
        Code -> original id.
    movies : pandas.DataFrame
        ``movieId, title, genres`` (all listed movies, rated or not).
    checksums : dict
        SHA-256 of the files read.
    """

    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    shape: tuple[int, int]
    frame: pd.DataFrame
    user_ids: np.ndarray
    item_ids: np.ndarray
    movies: pd.DataFrame
    checksums: dict
    xp: Any = None

    @property
    def nnz(self) -> int:
        """Number of ratings."""
        return int(self.values.shape[0])

    @property
    def observations(self) -> Any:
        """Deprecated: use :func:`lowrank_lab.completion.movielens_observations`."""
        warn_deprecated("RatingsData.observations", "lowrank_lab.completion.movielens_observations(data, xp=...)")
        from .completion.ratings import movielens_observations  # noqa: PLC0415  (deprecated shim)

        return movielens_observations(self, xp=self.xp)

    def __repr__(self) -> str:
        m, n = self.shape
        return f"RatingsData(users={m}, movies={n}, ratings={self.nnz})"


def movielens_small(*, directory: str | Path | None = None, verify: bool = True, xp: Any = None) -> RatingsData:
    """MovieLens ml-latest-small: 100,836 ratings of 610 users on 9,724 movies, as host arrays.

    Movies are the 9,724 with at least one rating (``movies.csv`` lists 9,742),
    ordered by ``movieId``; users by ``userId``.  Ratings are half stars from 0.5 to 5.

    Parameters
    ----------
    directory : path, optional
        Default ``data/movielens-ml-latest-small`` (see :func:`lowrank_lab.paths.data_dir`).
    verify : bool, default True
        Check the SHA-256 manifest first.
    xp : namespace, optional
        Deprecated (only used by the deprecated ``RatingsData.observations``); build
        observations with :func:`lowrank_lab.completion.movielens_observations`.
    """
    directory = Path(directory) if directory is not None else paths.data_dir() / MOVIELENS_DIR
    checksums = verify_checksums(directory) if verify else {}
    frame = pd.read_csv(directory / "ratings.csv", dtype={"userId": np.int64, "movieId": np.int64,
                                                          "rating": np.float64, "timestamp": np.int64})
    movies = pd.read_csv(directory / "movies.csv")
    user_ids = np.sort(frame["userId"].unique())
    item_ids = np.sort(frame["movieId"].unique())
    frame["row"] = np.searchsorted(user_ids, frame["userId"].to_numpy()).astype(np.int64)
    frame["col"] = np.searchsorted(item_ids, frame["movieId"].to_numpy()).astype(np.int64)
    return RatingsData(frame["row"].to_numpy(), frame["col"].to_numpy(), frame["rating"].to_numpy(),
                       (int(user_ids.size), int(item_ids.size)), frame, user_ids, item_ids, movies, checksums, xp)


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


# Names that moved to the completion lab (ratings models and the split); kept here for one
# release through a module __getattr__ that warns (see docs/deprecations.md).
__getattr__ = forward_attributes(__name__, {
    "movielens_split": "lowrank_lab.completion.ratings",
    "BiasModel": "lowrank_lab.completion.ratings",
    "RatingsModel": "lowrank_lab.completion.ratings",
    "fit_biases": "lowrank_lab.completion.ratings",
    "fit_ratings_model": "lowrank_lab.completion.ratings",
    "evaluate": "lowrank_lab.completion.ratings",
    "SOLVERS": "lowrank_lab.completion.ratings",
})
