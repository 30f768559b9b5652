"""Every public entry point refuses a string where an array is expected, with a TypeError naming it.

The walk covers ``__all__`` of each public module (the public names where a module has
no ``__all__``).  Each callable is either in :data:`CASES` (a valid call, and the
parameters that take arrays or array-backed objects: observations, sensing problems,
tables) or in :data:`NO_ARRAY_ARGUMENTS` with the reason; a new public name that is in
neither fails :func:`test_every_public_callable_is_classified`.  For each listed
parameter, the valid call is repeated with the string ``"not an array"`` in its place
and must raise ``TypeError`` whose message names the parameter; so must a number (where
a 0-d array is not meaningful) and ``None`` for a required parameter.
"""

from __future__ import annotations

import importlib
import inspect
import re

import numpy as np
import pandas as pd
import pytest

from lowrank_lab import completion, linalg, matrices, sensing

MODULES = ["backend", "linalg", "spectral", "matrices", "analysis", "sensing", "completion", "datasets",
           "experiments", "plotting", "results", "iteration"]
BAD = "not an array"


def _public(module_name):
    module = importlib.import_module(f"lowrank_lab.{module_name}")
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_") and not inspect.ismodule(getattr(module, n))]
    return {f"{module_name}.{n}": getattr(module, n) for n in names if callable(getattr(module, n))}


PUBLIC = {k: v for m in MODULES for k, v in _public(m).items()}


# ----------------------------------------------------------------------------- valid data
def _mat(m=8, n=6, seed=0):
    return np.random.default_rng(seed).standard_normal((m, n))


def _orth(m=8, k=2, seed=0):
    return np.linalg.qr(_mat(m, k, seed))[0]


def _obs():
    truth = matrices.low_rank_matrix(12, 10, 2, rng=0)
    return completion.sample_entries(truth, p=0.6, rng=1)


def _problem():
    return sensing.gaussian_sensing(matrices.low_rank_matrix(6, 5, 1, rng=0), 40, rng=1)


def _result():
    return completion.altmin(_obs(), 2, max_iter=2)


def _frame():
    return pd.DataFrame({"g": [0, 0, 1, 1], "seed": [0, 1, 0, 1], "v": [1.0, 2.0, 3.0, 4.0]})


def _spd():
    A = _mat(3, 3)
    return np.stack([A @ A.T + 3 * np.eye(3)] * 2)


def _csr():
    return dict(indptr=np.array([0, 2, 3]), indices=np.array([0, 1, 1]))


def _ratings():
    obs = _obs()
    return completion.fit_ratings_model(obs, rank=2, solver=None)


def _ax():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    return ax


_OP = dict(matmat=lambda X: _mat() @ X, rmatmat=lambda Y: _mat().T @ Y, shape=(8, 6), rank=2)

#: name -> (factory of a valid call's keyword arguments, parameters that take arrays)
CASES = {
    "linalg.dct": (lambda: dict(x=np.ones(8)), ["x"]),
    "linalg.idct": (lambda: dict(x=np.ones(8)), ["x"]),
    "linalg.dct_matrix": (lambda: dict(n=4, like=np.ones(1)), ["like"]),
    "linalg.quantize_minmax": (lambda: dict(x=_mat()), ["x"]),
    "linalg.stochastic_round": (lambda: dict(x=_mat(), rng=0), ["x"]),
    "spectral.captured_energy": (lambda: dict(G=_mat(), P=_orth()), ["G", "P"]),
    "linalg.lu": (lambda: dict(A=_mat(5, 5)), ["A"]),
    "linalg.solve_sylvester": (lambda: dict(A=_mat(3, 3) + 5 * np.eye(3), B=_mat(2, 2, 1) + 5 * np.eye(2),
                                            C=_mat(3, 2, 2)), ["A", "B", "C"]),
    # added with the second half's labs and loaders
    "analysis.first_reaching": (lambda: dict(x=np.arange(1.0, 5.0), samples=np.tile(np.linspace(0, 1, 4)[:, None], (1, 3)),
                                             level=0.5), ["x", "samples"]),
    "analysis.rank_correlation": (lambda: dict(x=np.arange(6.0), y=np.arange(6.0) ** 2), ["x", "y"]),
    "linalg.first_distinct": (lambda: dict(candidates=np.array([1, 0]), offsets=np.array([0, 2]), counts=np.array([1]),
                                              n_values=2), ["candidates", "offsets", "counts"]),
    "linalg.column_order": (lambda: dict(rows=np.array([0, 1]), cols=np.array([1, 0]), values=np.ones(2), n_cols=2),
                            ["rows", "cols", "values"]),
    "linalg.fwht": (lambda: dict(x=np.ones(8)), ["x"]),
    "linalg.knn_distances": (lambda: dict(X=_mat(12, 3), k=2), ["X"]),
    "linalg.sampled_squared_error": (lambda: dict(U=_mat(3, 2), V=_mat(4, 2), rows=np.array([0, 1]),
                                                  cols=np.array([2, 3]), values=np.ones(2)),
                                     ["U", "V", "rows", "cols", "values"]),
    "linalg.stable_argsort": (lambda: dict(x=np.array([2, 0, 1])), ["x"]),
    "linalg.thin_qr": (lambda: dict(A=_mat()), ["A"]),
    "spectral.weight_spectrum": (lambda: dict(W=_mat()), ["W"]),
    # backend
    "backend.asarray": (lambda: dict(x=[1.0, 2.0], xp=np), ["x"]),
    "backend.device": (lambda: dict(x=np.ones(2)), ["x"]),
    "backend.to_numpy": (lambda: dict(x=np.ones(2)), ["x"]),
    "backend.random_normal": (lambda: dict(shape=(2, 2), like=np.ones(2)), ["like"]),
    "backend.random_uniform": (lambda: dict(shape=(2, 2), like=np.ones(2)), ["like"]),
    # linalg
    "linalg.batched_solve": (lambda: dict(A=_spd(), b=np.ones((2, 3))), ["A", "b"]),
    "linalg.batched_spd_solve": (lambda: dict(A=_spd(), b=np.ones((2, 3))), ["A", "b"]),
    "linalg.blocked_csr": (lambda: dict(**_csr(), n_cols=2, block_cols=1), ["indptr", "indices"]),
    "linalg.csr_matmul": (lambda: dict(**_csr(), data=np.ones(3), dense=np.ones((2, 2))),
                          ["indptr", "indices", "data", "dense"]),
    "linalg.krylov_svd": (lambda: dict(A=_mat(40, 30), rank=2), ["A", "start"]),
    "linalg.krylov_svd_operator": (lambda: dict(**_OP, like=np.ones(1)), ["like", "start"]),
    "linalg.lstsq": (lambda: dict(A=_mat(), b=np.ones(8)), ["A", "b"]),
    "linalg.orthonormalize": (lambda: dict(A=_mat()), ["A"]),
    "linalg.randomized_svd": (lambda: dict(A=_mat(), rank=2), ["A"]),
    "linalg.randomized_svd_operator": (lambda: dict(**_OP, like=np.ones(1)), ["like", "start"]),
    "linalg.padded_layout": (lambda: dict(indptr=np.array([0, 2, 3])), ["indptr"]),
    "linalg.partial_svd": (lambda: dict(A=_mat(), rank=2), ["A"]),
    "linalg.partial_svd_operator": (lambda: dict(**_OP, like=np.ones(1)), ["like"]),
    "linalg.rowwise_dot": (lambda: dict(A=_mat(), B=_mat()), ["A", "B"]),
    "linalg.sampled_dot": (lambda: dict(U=_mat(3, 2), V=_mat(4, 2), rows=np.array([0, 1]), cols=np.array([2, 3])),
                           ["U", "V", "rows", "cols"]),
    "linalg.segment_cg": (lambda: dict(**_csr(), factor=_mat(2, 1), values=np.ones(3), x0=np.zeros((2, 1)),
                                       n_iter=2), ["indptr", "indices", "factor", "values", "x0"]),
    "linalg.segment_least_squares": (lambda: dict(**_csr(), factor=_mat(2, 1), values=np.ones(3)),
                                     ["indptr", "indices", "factor", "values"]),
    "linalg.segment_normal_equations": (lambda: dict(**_csr(), factor=_mat(2, 1), values=np.ones(3)),
                                        ["indptr", "indices", "factor", "values"]),
    "linalg.segment_sum": (lambda: dict(values=np.ones(3), segment_ids=np.array([0, 0, 1]), n_segments=2),
                           ["values", "segment_ids"]),
    "linalg.svd": (lambda: dict(A=_mat()), ["A"]),
    "linalg.svd_flip": (lambda: dict(U=_orth(), Vt=_orth(6).T), ["U", "Vt"]),
    "linalg.truncated_svd": (lambda: dict(A=_mat(), rank=2), ["A"]),
    # spectral
    "spectral.amplification_factor": (lambda: dict(dW=_mat(), W=_mat(seed=1), r=2), ["dW", "W"]),
    "spectral.correlation_traps": (lambda: dict(W=_mat(40, 30)), ["W"]),
    "spectral.eckart_young_tail": (lambda: dict(W=_mat(), r=2), ["W"]),
    "spectral.effective_rank": (lambda: dict(W=_mat()), ["W"]),
    "spectral.energy_rank": (lambda: dict(W=_mat()), ["W"]),
    "spectral.esd": (lambda: dict(W=_mat()), ["W"]),
    "spectral.fit_marchenko_pastur": (lambda: dict(W_or_eigenvalues=_mat(40, 30)), ["W_or_eigenvalues"]),
    "spectral.grassmann_distance": (lambda: dict(U1=_orth(), U2=_orth(seed=1)), ["U1", "U2"]),
    "spectral.intruder_dimensions": (lambda: dict(W_tuned=_mat(), W_base=_mat(seed=1), k=2), ["W_tuned", "W_base"]),
    "spectral.marchenko_pastur_density": (lambda: dict(x=np.ones(3), aspect_ratio=2.0), ["x"]),
    "spectral.nuclear_norm": (lambda: dict(W=_mat()), ["W"]),
    "spectral.numerical_rank": (lambda: dict(W=_mat()), ["W"]),
    "spectral.participation_ratio": (lambda: dict(W=_mat()), ["W"]),
    "spectral.powerlaw_alpha": (lambda: dict(W_or_eigenvalues=np.arange(1.0, 60.0) ** 2), ["W_or_eigenvalues"]),
    "spectral.principal_angles": (lambda: dict(U1=_orth(), U2=_orth(seed=1)), ["U1", "U2"]),
    "spectral.projection_distance": (lambda: dict(U1=_orth(), U2=_orth(seed=1)), ["U1", "U2"]),
    "spectral.singular_values": (lambda: dict(W=_mat()), ["W"]),
    "spectral.singular_vectors": (lambda: dict(W=_mat()), ["W"]),
    "spectral.spectral_entropy": (lambda: dict(W=_mat()), ["W"]),
    "spectral.stable_rank": (lambda: dict(W=_mat()), ["W"]),
    "spectral.subspace_overlap": (lambda: dict(U1=_orth(), U2=_orth(seed=1)), ["U1", "U2"]),
    "spectral.subspace_similarity": (lambda: dict(U1=_orth(), U2=_orth(seed=1), i=1, j=1), ["U1", "U2"]),
    "spectral.subspace_similarity_grid": (lambda: dict(U1=_orth(), U2=_orth(seed=1)), ["U1", "U2"]),
    "spectral.welore_prune_rank": (lambda: dict(W=_mat(), tau=0.5), ["W"]),
    # matrices
    "matrices.incoherence": (lambda: dict(U=_orth()), ["U"]),
    "matrices.low_rank_matrix": (lambda: dict(m=6, n=5, rank=2, spectrum=np.array([2.0, 1.0]), like=np.ones(1)),
                                 ["spectrum", "like"]),
    "matrices.coherent_low_rank_matrix": (lambda: dict(m=6, n=5, rank=2, like=np.ones(1)), ["like"]),
    # analysis
    "analysis.bootstrap_ci": (lambda: dict(values=np.arange(5.0)), ["values"]),
    "analysis.crossover": (lambda: dict(x=np.arange(4.0), a=np.arange(4.0), b=3 - np.arange(4.0)), ["x", "a", "b"]),
    "analysis.iterations_to": (lambda: dict(iterations=np.arange(4.0), errors=0.5 ** np.arange(4.0), threshold=0.3),
                               ["iterations", "errors"]),
    "analysis.late_phase_rate": (lambda: dict(iterations=np.arange(8.0), errors=0.5 ** np.arange(8.0)),
                                 ["iterations", "errors"]),
    "analysis.loglog_slope": (lambda: dict(iterations=np.arange(1.0, 9.0), errors=1 / np.arange(1.0, 9.0), start=1.0),
                              ["iterations", "errors"]),
    "analysis.paired_difference": (lambda: dict(a=np.arange(5.0), b=np.arange(5.0) + 1), ["a", "b"]),
    "analysis.seed_summary": (lambda: dict(frame=_frame(), by="g", value="v"), ["frame"]),
    "analysis.transition_ci": (lambda: dict(x=np.array([1.0, 2.0, 4.0]), success=np.array([[0, 0], [0, 1], [1, 1.0]])),
                               ["x", "success"]),
    "analysis.transition_ratio_ci": (lambda: dict(x=np.array([1.0, 2.0, 4.0]),
                                                  success_a=np.array([[0, 0], [0, 1], [1, 1.0]]),
                                                  success_b=np.array([[0, 0], [1, 1], [1, 1.0]])),
                                     ["x", "success_a", "success_b"]),
    "analysis.transition_point": (lambda: dict(x=np.array([1.0, 2.0, 4.0, 8.0]), success=np.array([0, 0, 1, 1.0])),
                                  ["x", "success"]),
    "plotting.seed_summary": (lambda: dict(frame=_frame(), by="g", value="v"), ["frame"]),
    # sensing
    "sensing.GaussianOperator": (lambda: dict(matrix=_mat(10, 30), shape=(6, 5)), ["matrix"]),
    "sensing.SensingProblem": (lambda: dict(operator=sensing.IdentityOperator((3, 2)), measurements=np.ones(6)),
                               ["measurements"]),
    "sensing.fully_observed": (lambda: dict(truth=_mat(4, 3)), ["truth"]),
    "sensing.gaussian_sensing": (lambda: dict(truth=_mat(4, 3), n_measurements=20), ["truth"]),
    "sensing.run_solver": (lambda: dict(name="factored_gd", problem=_problem(), rank=1, max_iter=2), ["problem"]),
    "sensing.factored_gd": (lambda: dict(problem=_problem(), rank=1, max_iter=2), ["problem"]),
    "sensing.scaled_gd": (lambda: dict(problem=_problem(), rank=1, max_iter=2), ["problem"]),
    "sensing.subgradient_l1": (lambda: dict(problem=_problem(), rank=1, max_iter=2), ["problem"]),
    "sensing.nuclear_norm_pgd": (lambda: dict(problem=_problem(), max_iter=2), ["problem"]),
    # completion
    "completion.Observations": (lambda: dict(rows=np.array([0, 1]), cols=np.array([1, 0]), values=np.ones(2),
                                             shape=(2, 2)), ["rows", "cols", "values"]),
    "completion.sample_entries": (lambda: dict(truth=_mat(6, 5), p=0.5, rng=0), ["truth"]),
    "completion.train_test_split": (lambda: dict(obs=_obs(), rng=0), ["obs"]),
    "completion.random_partition": (lambda: dict(obs=_obs(), n_parts=2, rng=0), ["obs"]),
    "completion.predict": (lambda: dict(result=_result(), rows=np.array([0, 1]), cols=np.array([1, 0])),
                           ["result", "rows", "cols"]),
    "completion.rmse": (lambda: dict(result=_result(), obs=_obs()), ["result", "obs"]),
    "completion.mae": (lambda: dict(result=_result(), obs=_obs()), ["result", "obs"]),
    "completion.relative_error": (lambda: dict(result=_result(), truth=matrices.low_rank_matrix(12, 10, 2, rng=0)),
                                  ["result", "truth"]),
    "completion.fit_biases": (lambda: dict(train=_obs()), ["train"]),
    "completion.fit_ratings_model": (lambda: dict(train=_obs(), rank=2, solver=None), ["train"]),
    "completion.evaluate": (lambda: dict(model=_ratings(), test=_obs()), ["model", "test"]),
    "completion.run_solver": (lambda: dict(name="altmin", obs=_obs(), rank=2, max_iter=2), ["obs"]),
    "completion.altmin": (lambda: dict(obs=_obs(), rank=2, max_iter=2), ["obs", "truth", "test"]),
    "completion.scaled_gd": (lambda: dict(obs=_obs(), rank=2, max_iter=2), ["obs", "truth", "test"]),
    "completion.soft_impute": (lambda: dict(obs=_obs(), rank=2, reg=0.1, max_iter=2), ["obs", "truth", "test"]),
    "completion.svp": (lambda: dict(obs=_obs(), rank=2, max_iter=2), ["obs", "truth", "test"]),
    "completion.svt": (lambda: dict(obs=_obs(), max_iter=2), ["obs", "truth", "test"]),
    # plotting
    "plotting.fit_line": (lambda: dict(x=np.arange(1.0, 5.0), y=np.arange(1.0, 5.0)), ["x", "y"]),
    "plotting.annotate_slope": (lambda: dict(ax=_ax(), x=np.arange(1.0, 5.0), y=np.arange(1.0, 5.0), text="s"),
                                ["x", "y"]),
    "plotting.plot_band": (lambda: dict(ax=_ax(), frame=_frame(), x="g", y="v"), ["frame"]),
    # issue 10 (rigor of notebooks 00-02)
    "analysis.spread_ratio": (lambda: dict(groups=[np.ones(3), 2 * np.ones(3)]), ["groups"]),
    "analysis.proportional_constant": (lambda: dict(x=np.ones(3), y=np.ones(3)), ["x", "y"]),
    "spectral.randomized_svd_error_bound": (lambda: dict(W=np.arange(10.0, 0.0, -1.0), rank=2, oversampling=2),
                                            ["W"]),
    "analysis.power_law_exponent": (lambda: dict(x=np.arange(1.0, 4.0), y=np.arange(1.0, 4.0)), ["x", "y"]),
    "analysis.transition_spread": (lambda: dict(x=np.array([1.0, 2.0]), groups=[np.array([[0, 1], [1, 1]])] * 2),
                                   ["x", "groups"]),
    "plotting.plot_success": (lambda: dict(ax=_ax(), frame=_frame().assign(ok=[0, 1, 1, 1]), x="g",
                                                   success="ok"), ["frame"]),
    "plotting.mark_diverged": (lambda: dict(ax=_ax(), x=np.ones(2)), ["x"]),
}

#: Public callables without an array argument (or containers that do not validate), with the reason.
NO_ARRAY_ARGUMENTS = {
    "linalg.Quantized": "result container",
    "linalg.dequantize": "a Quantized container (built by quantize_minmax)",
    "spectral.WeLoreSelection": "result container",
    "spectral.uniform_ranks": "shapes and a parameter count",
    "spectral.welore_ranks": "a mapping of matrices (tests/test_spectral_welore.py)",
    "linalg.LUResult": "result container",
    "analysis.FirstReaching": "result container",
    "analysis.best_on_grid": "a table (checked for its columns)",
    "datasets.DigitsData": "loader output container",
    "datasets.KnownModel": "registry entry",
    "datasets.LoraModule": "loader output container",
    "datasets.PeftAdapter": "loader output container",
    "datasets.digits": "a seed",
    "datasets.load_peft_adapter": "a directory",
    "datasets.pretrained_weights": "a name or path",
    "datasets.read_safetensors": "a path",
    "datasets.resolve_weight_files": "a name or path",
    "datasets.save_peft_adapter": "a directory and a mapping of factors (each checked, tests/test_pretrained_io.py)",
    "linalg.KernelPlan": "plan container (built by altmin_kernel_plan)",
    "linalg.Neighbors": "result container",
    "linalg.altmin_kernel_plan": "sizes and a namespace",
    "spectral.adapter_report": "mappings of weights (tests/test_atlas.py)",
    "spectral.atlas": "a mapping of weights (tests/test_atlas.py)",
    "spectral.layer_index": "a tensor name",
    "spectral.matrix_kind": "a tensor name",
    "spectral.merge_adapter": "mappings of weights (tests/test_atlas.py)",
    "spectral.plot_atlas_heatmap": "a table and axes",
    "spectral.plot_esd": "plots a matrix checked by weight_spectrum",
    "spectral.plot_intruder_counts": "a table and axes",
    "backend.array_namespace": "inspects its arguments; tested separately below",
    "backend.as_generator": "a seed or generator",
    "backend.backend_name": "a namespace",
    "backend.default_backend": "no arguments",
    "backend.float_dtype": "x is optional and only inspected for its dtype",
    "backend.get_namespace": "a name",
    "backend.gpu_available": "no arguments",
    "backend.is_cupy": "a namespace",
    "backend.is_numpy": "a namespace",
    "backend.spawn_generators": "a seed",
    "backend.trial_streams": "a seed and names",
    "linalg.SVDResult": "result container",
    "linalg.PartialSVDResult": "result container",
    "linalg.BlockedCSR": "plan container (built by blocked_csr)",
    "linalg.PaddedLayout": "plan container (built by padded_layout)",
    "linalg.has_compiled_kernels": "no arguments",
    "spectral.AmplificationResult": "result container",
    "spectral.IntruderResult": "result container",
    "spectral.MarchenkoPasturFit": "result container",
    "spectral.PowerLawFit": "result container",
    "spectral.marchenko_pastur_edge": "scalars",
    "spectral.tracy_widom_quantile": "a scalar",
    "spectral.tracy_widom_cdf": "a scalar",
    "spectral.tracy_widom_density": "a scalar",
    "spectral.tracy_widom_scaling": "sizes",
    "spectral.spiked_overlap": "scalars and sizes",
    "matrices.LowRankMatrix": "result container (built by low_rank_matrix)",
    "analysis.verdict": "a boolean",
    "analysis.TransitionEstimate": "result container",
    "analysis.format_ci": "numbers",
    "analysis.verdict_table": "a sequence of mappings (tests/test_analysis_transitions.py)",
    "analysis.wilson_interval": "counts",
    "sensing.IdentityOperator": "a shape",
    "sensing.sensing_operator_nbytes": "sizes",
    "completion.BiasModel": "result container (built by fit_biases)",
    "completion.RatingsModel": "result container (built by fit_ratings_model)",
    "completion.movielens_observations": "a RatingsData from datasets (loader output)",
    "completion.movielens_split": "a RatingsData from datasets (loader output)",
    "datasets.ChecksumError": "an exception",
    "datasets.RatingsData": "loader output container",
    "datasets.movielens_small": "a directory",
    "datasets.verify_checksums": "a directory",
    "experiments.SweepWarning": "a warning",
    "experiments.expand_grid": "a grid of configs",
    "experiments.trial_key": "a config",
    "experiments.load_sweep": "a sweep name",
    "experiments.run_sweep": "a grid and a trial function",
    "plotting.savefig": "a figure and a name",
    "plotting.style": "no arguments",
    "plotting.use_style": "no arguments",
    "results.HistoryRecorder": "a stride",
    "results.SolverResult": "result container",
    "results.is_diverged": "scalars",
    "results.seed_of": "a seed",
    "iteration.Iterate": "driver state container",
    "iteration.IterationOutcome": "driver result container",
    "iteration.iterate": "an arbitrary initial state and callables",
    "iteration.progress_bar": "counts",
    "iteration.quiet_overflow": "no arguments",
    # issue 10 (rigor of notebooks 00-02)
}

#: (name, parameter) slips in files being rewritten (the solvers' port onto the iteration
#: driver, issue 15 phase 2): expected to fail until the port fixes them.
PENDING_IN_SOLVER_PORT = {
}


def test_every_public_callable_is_classified():
    unknown = sorted(set(PUBLIC) - set(CASES) - set(NO_ARRAY_ARGUMENTS))
    assert not unknown, f"classify these public callables in tests/test_public_types.py: {unknown}"
    stale = sorted((set(CASES) | set(NO_ARRAY_ARGUMENTS)) - set(PUBLIC))
    assert not stale, f"no longer public: {stale}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_valid_call_works(name):
    factory, params = CASES[name]
    PUBLIC[name](**factory())
    signature = inspect.signature(PUBLIC[name])
    assert all(p in signature.parameters for p in params), f"{name}: unknown parameter in {params}"


def _param_cases():
    for name in sorted(CASES):
        for param in CASES[name][1]:
            marks = []
            if (name, param) in PENDING_IN_SOLVER_PORT:
                marks = [pytest.mark.xfail(reason=PENDING_IN_SOLVER_PORT[(name, param)], strict=True)]
            yield pytest.param(name, param, marks=marks, id=f"{name}-{param}")


@pytest.mark.parametrize("name, param", list(_param_cases()))
def test_a_string_for_an_array_is_a_type_error_naming_it(name, param):
    factory, _ = CASES[name]
    kwargs = factory()
    kwargs[param] = BAD
    with pytest.raises(TypeError, match=rf"(^|\W){re.escape(param)}(\W|$)"):
        PUBLIC[name](**kwargs)


#: Parameters where a single number is a legitimate (0-d) array.
NUMBER_OK = {("backend.asarray", "x"), ("backend.to_numpy", "x"), ("spectral.marchenko_pastur_density", "x"),
             ("linalg.stochastic_round", "x"), ("linalg.quantize_minmax", "x")}


@pytest.mark.parametrize("name, param", [(n, p) for n in sorted(CASES) for p in CASES[n][1] if (n, p) not in NUMBER_OK])
def test_a_number_for_an_array_is_a_type_error_naming_it(name, param):
    factory, _ = CASES[name]
    kwargs = factory()
    kwargs[param] = 3.0
    with pytest.raises(TypeError, match=rf"(^|\W){re.escape(param)}(\W|$)"):
        PUBLIC[name](**kwargs)


def _required(name, param):
    default = inspect.signature(PUBLIC[name]).parameters[param].default
    return default is inspect.Parameter.empty


@pytest.mark.parametrize("name, param", [(n, p) for n in sorted(CASES) for p in CASES[n][1] if _required(n, p)])
def test_none_for_a_required_array_is_a_type_error_naming_it(name, param):
    factory, _ = CASES[name]
    kwargs = factory()
    kwargs[param] = None
    with pytest.raises(TypeError, match=rf"(^|\W){re.escape(param)}(\W|$)"):
        PUBLIC[name](**kwargs)


def test_array_namespace_refuses_non_arrays():
    from lowrank_lab import backend

    with pytest.raises(TypeError, match="arrays"):
        backend.array_namespace(np.ones(2), BAD)


def test_numbers_are_type_errors_where_a_matrix_is_expected_and_values_where_scalars_are_allowed():
    with pytest.raises(TypeError, match="A must be a 2-D array, got float"):
        linalg.svd(3.0)
    with pytest.raises(TypeError, match="A must be a numeric array, got dtype <U1"):
        linalg.svd([["a", "b"], ["c", "d"]])
    with pytest.raises(ValueError, match="A must be a rectangular array"):
        linalg.svd([[1.0, 2.0], [3.0]])
    from lowrank_lab import spectral

    assert float(spectral.marchenko_pastur_density(1.0, 4.0)) > 0  # 0-d allowed: a number is fine
