"""Intrinsic-dimension lab (study H): random-subspace training and the intrinsic dimension of data.

Two notions, kept apart (Li et al., 2018; Facco et al., 2017; Levina and Bickel, 2004):

* the intrinsic dimension of an **objective landscape**: the smallest ``d`` for
  which training in a random ``d``-dimensional affine subspace
  ``theta = theta_0 + P z`` of the ``D`` parameters reaches 90 % of the
  performance of training all of them (``d_int90``);
* the intrinsic dimension of a **point cloud**: how many coordinates describe
  the data (TwoNN, MLE, participation ratio, local PCA).

``projections``
    Dense, sparse and Fastfood projections ``P`` as operators (``apply``,
    ``adjoint``), and the flat layout of a dict of parameter tensors.
``problems``
    Li et al.'s toy objective (``D = 1000``, intrinsic dimension 10) with its gradient.
``landscape``
    Subspace training on the iteration driver, ``d_int`` with both threshold rules
    and a bootstrap over seeds, and the ``intrinsic_dimension`` sweep.
``subspace``
    Subspace training of the adapter lab's models through ``finetune``: the DID
    adapter (``theta = theta_0 + P z``) and the SAID adapter (one trainable scale per
    tensor), and classification data as an adapter-lab task.
``trials``
    Module-level trial functions for sweeps.
``estimators``
    TwoNN, MLE, participation ratio and local PCA of a point cloud.
``manifolds``
    Point clouds of known dimension (balls, spheres, tori, Swiss roll, helix, ...).

The seat of the lab (see ``docs/architecture.md``); it may import the adapter lab
(a frozen random basis is an adapter), and no other lab.  Design and conventions:
``docs/intrinsic.md``.
"""

from . import estimators, landscape, manifolds, problems, projections, subspace, trials
from .estimators import DimensionEstimate, local_pca, mle, participation_ratio, twonn
from .landscape import (
    DintResult,
    IntrinsicDimensionResult,
    d_int,
    intrinsic_dimension,
    train_subspace,
)
from .manifolds import MANIFOLDS, ManifoldSample, sample_manifold
from .problems import LiToyProblem, li_toy_problem
from .projections import (
    PROJECTIONS,
    DenseProjection,
    FastfoodProjection,
    ParameterLayout,
    SparseProjection,
    dense_projection,
    fastfood_projection,
    flatten_params,
    make_projection,
    sparse_projection,
)
from .subspace import accuracy, classification_task, said_adapter, subspace_adapter

__all__ = [
    "MANIFOLDS",
    "PROJECTIONS",
    "DenseProjection",
    "DimensionEstimate",
    "DintResult",
    "FastfoodProjection",
    "IntrinsicDimensionResult",
    "LiToyProblem",
    "ManifoldSample",
    "ParameterLayout",
    "SparseProjection",
    "accuracy",
    "classification_task",
    "d_int",
    "dense_projection",
    "estimators",
    "fastfood_projection",
    "flatten_params",
    "intrinsic_dimension",
    "landscape",
    "li_toy_problem",
    "local_pca",
    "make_projection",
    "manifolds",
    "mle",
    "participation_ratio",
    "problems",
    "projections",
    "said_adapter",
    "sample_manifold",
    "sparse_projection",
    "subspace",
    "subspace_adapter",
    "train_subspace",
    "trials",
    "twonn",
]
