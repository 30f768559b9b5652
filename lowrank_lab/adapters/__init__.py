"""Adapter lab (studies E, F, G, H, I): exact fine-tuning with analytic gradients.

Every adapter is a parameterization of the weight update ``dW``, every model gives
``dL/dW`` analytically, every optimizer is a composable transform, and every run
records how the spectrum of the merged weights moves.  See ``docs/adapters.md``.

``models``
    :func:`linear`, :func:`deep_linear`, :func:`mlp` (tanh / ReLU; squared or softmax
    cross-entropy loss): ``loss``, ``loss_and_grads`` (analytic, batched, optionally
    factored), ``predict``.
``tasks``
    "Pretrained" weights with a controlled spectrum (:func:`pretrained_weights`),
    target updates with controlled rank, norm and alignment (:func:`target_update`),
    :class:`Task` builders (:func:`synthetic_task`, :func:`linear_task`,
    :func:`task_sequence`) and the forgetting probe (:func:`forgetting`).
``parameterizations``
    Adapters as values ``Adapter(init, delta, pullback, num_params, scope)``:
    :func:`full`, :func:`lora`, :func:`rslora`, :func:`b_only`, :func:`per_layer`,
    :func:`random_subspace` (model scope).
``transforms``
    Optimizers as pure ``init``/``update`` pairs composed with :func:`chain`
    (optax's shape): :func:`sgd`, :func:`adam` (AdamW), :func:`clip_by_global_norm`,
    schedules, :func:`multi_transform` (the seam of gradient projection),
    :func:`state_floats`.
``training``
    One loop, :func:`finetune`, on :func:`lowrank_lab.iteration.iterate`, and
    :func:`finetune_sequence` for continual fine-tuning.
``interventions``
    :func:`scale_intruders`: the causal test of Shuttleworth et al. (2024).
``projection``, ``projection_diagnostics``, ``projection_trials``
    Gradient low-rank projection (study G): :func:`galore`, :func:`fira`, :func:`frugal`,
    :func:`apollo`, :func:`q_galore` and their ``scale_by_*`` directions, DCT column
    selection, the norm-growth limiter, INT8 weights, :func:`projectors`, and the
    :class:`GradientDiagnostics` callback (``docs/projection.md``).
``trials``
    The sweep trials of notebook ``05_lora_vs_full_finetuning``.
``family``, ``data_aware``, ``nested``
    The LoRA family of study F: :func:`pissa`, :func:`lora_xs`, :func:`dora`,
    :func:`vera`, :func:`nola`, :func:`randlora`, :func:`svfit`, :func:`loldu`,
    :func:`orthogonal_lora`; data-aware initializations :func:`lora_sb`, :func:`eva`
    (with :func:`eva_ranks`), :func:`corda`; nested truncations :func:`dylora`,
    :func:`maestro` (the gate interface of rank allocation).
``gradient_adjustments``
    :func:`lora_pro` (adjusted gradients with the Sylvester ``X``) and :func:`allora`
    (norm-scaled gradients) as optimizer transforms.
``export``
    :func:`to_peft`: trained adapters as PEFT LoRA checkpoints.
``family_trials``
    The sweep trials of notebook ``06_adapter_parameterizations``.

Examples
--------
>>> from lowrank_lab.adapters import finetune, linear, linear_task, lora, sgd
>>> task = linear_task(16, rank=2, n_train=32, rng=0)
>>> res = finetune(linear(16, 16), task, lora(4), sgd(0.05), steps=50, rng=1)
>>> res.stop_reason, res.params["num_params"]
('max_iter', 128)
"""

from .data_aware import (
    CORDA_MODES,
    ESTIMATES,
    activation_covariance,
    corda,
    damped_inverse,
    eva,
    eva_adapters,
    eva_ranks,
    first_update_estimate,
    gradient_estimate,
    layer_inputs,
    lora_sb,
)
from .export import peft_factors, to_peft
from .family import (
    SVD_METHODS,
    dora,
    loldu,
    lora_xs,
    nola,
    orthogonal_lora,
    pissa,
    randlora,
    svfit,
    svfit_rank,
    vera,
)
from .gradient_adjustments import (
    GRANULARITIES,
    allora,
    equivalent_gradient,
    lora_pairs,
    lora_pro,
    lora_pro_gradients,
    tangent_residual,
)
from .interventions import InterventionResult, scale_intruders
from .models import ACTIVATIONS, LOSSES, Model, OuterProduct, deep_linear, dense_gradient, linear, mlp
from .nested import UPDATES, component_norms, dylora, grow, maestro, nested_lora, truncate, with_gate
from .parameterizations import (
    INITS,
    SCOPES,
    Adapter,
    AdapterState,
    as_model_adapter,
    b_only,
    full,
    lora,
    merge,
    per_layer,
    random_subspace,
    rslora,
)
from .tasks import (
    SPECTRA,
    Task,
    forgetting,
    input_covariance,
    linear_task,
    make_task,
    minimum_norm_update,
    pretrained_weights,
    row_space_residual,
    spectrum_values,
    synthetic_task,
    target_update,
    task_sequence,
)
from .training import DEFAULT_EPS, DIAGNOSTICS, FinetuneResult, finetune, finetune_sequence
from .transforms import (
    GradientTransformation,
    add_decayed_weights,
    adam,
    apply_updates,
    chain,
    clip_by_global_norm,
    constant_schedule,
    cosine_decay_schedule,
    global_norm,
    identity,
    join_schedules,
    linear_schedule,
    linear_warmup_schedule,
    matrix_labels,
    multi_transform,
    scale,
    scale_by_adam,
    scale_by_learning_rate,
    sgd,
    state_floats,
    trace,
    warmup_cosine_decay_schedule,
)

__all__ = [
    "ACTIVATIONS",
    "DEFAULT_EPS",
    "DIAGNOSTICS",
    "INITS",
    "LOSSES",
    "SCOPES",
    "SPECTRA",
    "Adapter",
    "AdapterState",
    "FinetuneResult",
    "GradientTransformation",
    "InterventionResult",
    "Model",
    "OuterProduct",
    "Task",
    "adam",
    "add_decayed_weights",
    "apply_updates",
    "as_model_adapter",
    "b_only",
    "chain",
    "clip_by_global_norm",
    "constant_schedule",
    "cosine_decay_schedule",
    "deep_linear",
    "dense_gradient",
    "finetune",
    "finetune_sequence",
    "forgetting",
    "full",
    "global_norm",
    "identity",
    "input_covariance",
    "join_schedules",
    "linear",
    "linear_schedule",
    "linear_task",
    "linear_warmup_schedule",
    "lora",
    "make_task",
    "matrix_labels",
    "merge",
    "minimum_norm_update",
    "mlp",
    "multi_transform",
    "per_layer",
    "pretrained_weights",
    "random_subspace",
    "row_space_residual",
    "rslora",
    "scale",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_intruders",
    "sgd",
    "spectrum_values",
    "state_floats",
    "synthetic_task",
    "target_update",
    "task_sequence",
    "trace",
    "warmup_cosine_decay_schedule",
]
# study F (issue 11): the LoRA family, data-aware initializations, nested truncations, LoRA-Pro / ALLoRA, export
__all__ += [
    "CORDA_MODES",
    "ESTIMATES",
    "GRANULARITIES",
    "SVD_METHODS",
    "UPDATES",
    "activation_covariance",
    "allora",
    "component_norms",
    "corda",
    "damped_inverse",
    "dora",
    "dylora",
    "equivalent_gradient",
    "eva",
    "eva_adapters",
    "eva_ranks",
    "first_update_estimate",
    "gradient_estimate",
    "grow",
    "layer_inputs",
    "loldu",
    "lora_pairs",
    "lora_pro",
    "lora_pro_gradients",
    "lora_sb",
    "lora_xs",
    "maestro",
    "nested_lora",
    "nola",
    "orthogonal_lora",
    "peft_factors",
    "pissa",
    "randlora",
    "svfit",
    "svfit_rank",
    "tangent_residual",
    "to_peft",
    "truncate",
    "vera",
    "with_gate",
]

# Gradient low-rank projection (study G; docs/projection.md): transforms on the 2-D gradient leaves.
from .projection import (  # noqa: E402
    apollo,
    apollo_mini,
    clip_by_norm_growth,
    fira,
    frugal,
    galore,
    inject_gradient_spikes,
    projectors,
    q_galore,
    quantize_weights,
    scale_by_apollo,
    scale_by_fira,
    scale_by_frugal,
    scale_by_galore,
)
from .projection_diagnostics import GradientDiagnostics  # noqa: E402

__all__ += [
    "GradientDiagnostics",
    "apollo",
    "apollo_mini",
    "clip_by_norm_growth",
    "fira",
    "frugal",
    "galore",
    "inject_gradient_spikes",
    "projectors",
    "q_galore",
    "quantize_weights",
    "scale_by_apollo",
    "scale_by_fira",
    "scale_by_frugal",
    "scale_by_galore",
]

# Rank allocation (study I; docs/allocation.md): oracle, AdaLoRA, SoRA, IncreLoRA.
from .allocation import (  # noqa: E402
    ORTHOGONALITY_FORMS,
    TRUE_RANKS,
    adalora,
    adalora_budget,
    allocation_error,
    brute_force_allocation,
    gated_layers,
    increlora,
    oracle_allocation,
    orthogonality_error,
    orthogonality_penalty,
    prefix_allocation,
    soft_threshold,
    sora,
    uniform_allocation,
)
from .allocation_optim import (  # noqa: E402
    AdaLoRAState,
    IncreLoRAState,
    SoRAState,
    adalora_allocator,
    current_ranks,
    increlora_allocator,
    sora_labels,
    sora_optimizer,
    sora_proximal,
    triplet_scores,
)

__all__ += [
    "ORTHOGONALITY_FORMS",
    "TRUE_RANKS",
    "AdaLoRAState",
    "IncreLoRAState",
    "SoRAState",
    "adalora",
    "adalora_allocator",
    "adalora_budget",
    "allocation_error",
    "brute_force_allocation",
    "current_ranks",
    "gated_layers",
    "increlora",
    "increlora_allocator",
    "oracle_allocation",
    "orthogonality_error",
    "orthogonality_penalty",
    "prefix_allocation",
    "soft_threshold",
    "sora",
    "sora_labels",
    "sora_optimizer",
    "sora_proximal",
    "triplet_scores",
    "uniform_allocation",
]
