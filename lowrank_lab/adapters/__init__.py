"""Adapter lab (studies E, F, G, I): exact fine-tuning with analytic gradients.

The seat of the second half's main lab (see ``docs/architecture.md``):

``models``
    Linear layer, deep linear network, small MLP; each gives the loss, ``dL/dW`` for
    every weight matrix and predictions analytically (no autograd).
``tasks``
    "Pretrained" weights with a controlled spectrum and downstream tasks whose target
    update has a controlled rank, spectrum, norm and alignment.
``parameterizations``
    Every adapter is a value ``Adapter(init, delta, pullback, num_params)``: full
    fine-tuning, LoRA and its family, a frozen random basis (subspace training).
``transforms``
    Optimizers as pure ``init``/``update`` pairs composed with ``chain`` (optax's shape).
``training``
    One ``finetune(model, task, adapter, optimizer, ...)`` loop on
    :func:`lowrank_lab.iteration.iterate`.
"""
