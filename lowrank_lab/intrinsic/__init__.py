"""Intrinsic-dimension lab (study H): random-subspace training and the intrinsic dimension of data.

The seat of the lab (see ``docs/architecture.md``); it may import the adapter lab
(a frozen random basis is an adapter), and no other lab.

``projections``
    Dense, sparse and Fastfood projections ``theta = theta_0 + P z`` as operators.
``landscape``
    Subspace training and ``d_int90`` sweeps.
``estimators``
    TwoNN and MLE estimates of the intrinsic dimension of a point cloud.
"""
