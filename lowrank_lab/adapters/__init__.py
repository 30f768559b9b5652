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
``trials``
    The sweep trials of notebook ``05_lora_vs_full_finetuning``.

Examples
--------
>>> from lowrank_lab.adapters import finetune, linear, linear_task, lora, sgd
>>> task = linear_task(16, rank=2, n_train=32, rng=0)
>>> res = finetune(linear(16, 16), task, lora(4), sgd(0.05), steps=50, rng=1)
>>> res.stop_reason, res.params["num_params"]
('max_iter', 128)
"""

from .interventions import InterventionResult, scale_intruders
from .models import ACTIVATIONS, LOSSES, Model, OuterProduct, deep_linear, dense_gradient, linear, mlp
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
