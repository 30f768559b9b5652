"""MovieLens ml-latest-small (study C): host arrays and tables.

The files live in ``data/movielens-ml-latest-small/`` (``ratings.csv``,
``movies.csv`` and the dataset's ``README.txt`` with its licence).  The release is
a non-frozen "development" dataset, so their SHA-256 hashes are recorded in
``SHA256SUMS`` next to them and checked on every load.

Licence (from ``README.txt``): research use only; acknowledge F. Maxwell Harper
and Joseph A. Konstan (2015), "The MovieLens Datasets: History and Context", ACM
TiiS 5(4):19; redistribute only under the same terms; no commercial use.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import paths
from .._deprecation import warn_deprecated


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
        from ..completion.ratings import movielens_observations  # noqa: PLC0415  (deprecated shim)

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
