"""``spectral.powerlaw_alpha`` against Clauset, Shalizi and Newman (2009) and the ``powerlaw`` package.

The paper's reference data sets ship with the ``powerlaw`` package (an optional test peer,
``powerlaw/reference_data``; nothing is downloaded).  On the heavily tied ones (earthquake
intensities, surname frequencies) lowrank_lab reproduces the paper's Table 6.1 while the
package does not, because of how each evaluates the KS distance at a tied value; on data
without ties the two agree.  The synthetic test shows the same mechanism without the peer.
"""

from __future__ import annotations

import importlib.resources
import warnings

import numpy as np
import pytest

from lowrank_lab import spectral


def _reference_data(name):
    powerlaw = pytest.importorskip("powerlaw")
    path = importlib.resources.files(powerlaw) / "reference_data" / name
    if not path.is_file():
        pytest.skip(f"this powerlaw release does not ship reference_data/{name}")
    return np.loadtxt(path)


def _package_fit(x, **kwargs):
    import powerlaw

    with warnings.catch_warnings():  # its advice on discrete data, and its lazy fits' warnings
        warnings.simplefilter("ignore")
        fit = powerlaw.Fit(x, verbose=False, **kwargs)
        fit.power_law.alpha, fit.power_law.D  # noqa: B018  (evaluated here, inside the filter)
        return fit


def _left_limit_ks(x, xmin, alpha):
    """The package's KS distance: ECDF ``P(X < v)`` at the distinct values ``v`` of the tail only."""
    tail = np.sort(x[x >= xmin])
    values, first = np.unique(tail, return_index=True)
    ecdf = first / tail.size
    model = 1.0 - (values / xmin) ** (1.0 - alpha)
    return float(np.max(np.abs(ecdf - model)))


# Clauset, Shalizi and Newman (2009), SIAM Review 51, Table 6.1 (continuous data sets):
# name: (alpha, its standard error, xmin in the file's units, n_tail)
PUBLISHED = {
    "quakes.txt": (1.64, 0.04, 0.794e3, 11697),
    "surnames.txt": (2.5, 0.2, 111.92e3, 239),
    "blackouts.txt": (2.3, 0.3, 230e3, 59),
    "flares.txt": (1.79, 0.02, 323.0, 1711),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_reproduces_the_published_fits(name):
    x = _reference_data(name)
    alpha, se, xmin, n_tail = PUBLISHED[name]
    fit = spectral.powerlaw_alpha(x, min_eigenvalue=0.0)
    assert fit.n_tail == n_tail
    np.testing.assert_allclose(fit.xmin, xmin, rtol=2e-3)  # published to 3-5 significant digits
    digits = len(str(alpha).split(".")[1])  # the table rounds alpha to the digits of its error
    assert round(fit.alpha, digits) == alpha


@pytest.mark.parametrize("name, gap", [("quakes.txt", 0.25), ("surnames.txt", 0.25)])
def test_the_package_differs_on_heavily_tied_data(name, gap):
    x = _reference_data(name)
    ours = spectral.powerlaw_alpha(x, min_eigenvalue=0.0)
    theirs = _package_fit(x)
    values, counts = np.unique(x[x >= theirs.xmin], return_counts=True)
    assert counts.max() > 0.05 * counts.sum()  # heavily tied: one value holds over 5% of the tail
    assert abs(ours.alpha - theirs.power_law.alpha) > gap
    assert ours.xmin != theirs.xmin


@pytest.mark.parametrize("name", ["blackouts.txt", "flares.txt"])
def test_the_package_agrees_without_heavy_ties(name):
    x = _reference_data(name)
    ours = spectral.powerlaw_alpha(x, min_eigenvalue=0.0)
    theirs = _package_fit(x)
    assert ours.xmin == pytest.approx(theirs.xmin, rel=1e-12)
    assert ours.alpha == pytest.approx(theirs.power_law.alpha, rel=1e-9)


def test_the_package_ks_distance_is_the_left_limit_one():
    """At a fixed xmin the package's D is the left-limit D, below ours by at most the largest tie / n_tail.

    At the package's own choice of xmin on the earthquakes, its D is far below the true
    supremum (a tie's jump skipped): that is why it prefers that xmin.
    """
    x = _reference_data("quakes.txt")
    xmin = _package_fit(x).xmin
    ours = spectral.powerlaw_alpha(x, min_eigenvalue=0.0, xmin=xmin)
    theirs = _package_fit(x, xmin=xmin)
    assert theirs.power_law.alpha == pytest.approx(ours.alpha, rel=1e-9)  # same MLE at the same xmin
    left = _left_limit_ks(x, xmin, ours.alpha)
    assert theirs.power_law.D == pytest.approx(left, rel=1e-6)
    _, counts = np.unique(x[x >= xmin], return_counts=True)
    gap = ours.ks_distance - left
    assert 10.0 / ours.n_tail < gap <= counts.max() / ours.n_tail + 1e-12  # far more than 1 / n_tail
    best = spectral.powerlaw_alpha(x, min_eigenvalue=0.0)
    assert left < best.ks_distance < ours.ks_distance  # hence the two scans pick different xmin


def test_ties_change_the_ks_distance_by_up_to_the_largest_tie():
    """A synthetic heavily tied sample (Pareto values rounded to a log grid), no peer needed."""
    rng = np.random.default_rng(0)
    raw = (1.0 - rng.random(4000)) ** (-1.0 / 1.5)  # density ~ x^-2.5 on [1, inf)
    x = 10.0 ** (np.round(np.log10(raw) * 10.0) / 10.0)  # magnitudes to 0.1, as earthquake catalogues
    _, counts = np.unique(x, return_counts=True)
    assert counts.max() > 400
    fit = spectral.powerlaw_alpha(x, min_eigenvalue=0.0, xmin=1.0)
    left = _left_limit_ks(x, 1.0, fit.alpha)
    gap = fit.ks_distance - left
    assert 10.0 / fit.n_tail < gap <= counts.max() / fit.n_tail + 1e-12
    # untied data: the two conventions differ by at most 1 / n_tail
    fit_raw = spectral.powerlaw_alpha(raw, min_eigenvalue=0.0, xmin=1.0)
    assert 0.0 <= fit_raw.ks_distance - _left_limit_ks(raw, 1.0, fit_raw.alpha) <= 1.0 / fit_raw.n_tail + 1e-12
