"""Issue 15, item 4, for the labs of the second half: a string, a number or None where an adapter
expects a weight matrix is a TypeError naming it (not a ValueError about a 0-D shape, not an
AttributeError).  ``tests/test_public_types.py`` walks the first half's modules call by call."""

from __future__ import annotations

import numpy as np
import pytest

from lowrank_lab import adapters, intrinsic

W = np.random.default_rng(0).standard_normal((6, 5))
BAD = ["not an array", 3.0, None]

# every Adapter factory of the two labs, built with small valid arguments
FACTORIES = {
    "full": lambda: adapters.full(),
    "lora": lambda: adapters.lora(2),
    "rslora": lambda: adapters.rslora(2),
    "b_only": lambda: adapters.b_only(2),
    "dora": lambda: adapters.dora(2),
    "pissa": lambda: adapters.pissa(2),
    "lora_xs": lambda: adapters.lora_xs(2),
    "loldu": lambda: adapters.loldu(2),
    "orthogonal_lora": lambda: adapters.orthogonal_lora(2),
    "vera": lambda: adapters.vera(2),
    "nola": lambda: adapters.nola(2, 3),
    "randlora": lambda: adapters.randlora(2),
    "svfit": lambda: adapters.svfit(),
    "dylora": lambda: adapters.dylora(3),
    "maestro": lambda: adapters.maestro(3),
    "nested_lora": lambda: adapters.nested_lora(3),
    "adalora": lambda: adapters.adalora(3),
    "increlora": lambda: adapters.increlora(3),
    "sora": lambda: adapters.sora(3),
}


def test_every_adapter_factory_of_the_labs_is_listed():
    """A new Adapter factory must be added above (so its init is checked too)."""
    import inspect

    found = {n for n in adapters.__all__ if callable(f := getattr(adapters, n)) and not inspect.isclass(f)
             and "Adapter" in str(inspect.signature(f).return_annotation)
             and "State" not in str(inspect.signature(f).return_annotation)}
    needs_data = {"as_model_adapter", "per_layer", "random_subspace", "corda", "eva", "lora_sb"}  # built from data
    assert found - needs_data == set(FACTORIES)


@pytest.mark.parametrize("name", sorted(FACTORIES))
@pytest.mark.parametrize("bad", BAD, ids=["str", "number", "None"])
def test_an_adapter_refuses_a_non_array_weight_with_a_type_error_naming_it(name, bad):
    adapter = FACTORIES[name]()
    adapter.init(W, 0)  # the valid call works
    with pytest.raises(TypeError, match="W0"):
        adapter.init(bad, 0)


@pytest.mark.parametrize("bad", BAD, ids=["str", "number", "None"])
def test_flatten_params_refuses_non_array_values_naming_them(bad):
    intrinsic.flatten_params({"W": W})
    with pytest.raises(TypeError, match=r"params\['W'\]"):
        intrinsic.flatten_params({"W": bad})


@pytest.mark.parametrize("bad", BAD, ids=["str", "number", "None"])
def test_point_cloud_estimators_refuse_non_arrays(bad):
    X = np.random.default_rng(1).standard_normal((60, 3))
    for estimator in (intrinsic.twonn, intrinsic.mle, intrinsic.participation_ratio):
        estimator(X)
        with pytest.raises(TypeError, match="X"):
            estimator(bad)
