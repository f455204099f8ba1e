"""Sample-quality metrics on features: Fréchet distance, KID, precision/recall, Inception Score and
class coverage. Each takes generated ("fake") and real feature matrices (N, D) on the CPU.

KID, precision/recall and the Inception Score are torch-fidelity's implementations; the Fréchet
distance is the reference formula of Heusel et al. 2017 (TTUR / pytorch-fid) with its safeguards
for near-singular covariances, so a small reference set (the 1,797 digits) still gives a number.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import torch

KID_DEGREE, KID_COEF0 = 3, 1.0  # the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3


def feature_statistics(features: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of features (N, D), in float64."""
    assert features.ndim == 2 and features.shape[0] > 1, features.shape
    values = features.detach().cpu().double().numpy()
    return values.mean(axis=0), np.cov(values, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2)) between two Gaussians."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    assert mu1.shape == mu2.shape and sigma1.shape == sigma2.shape == (mu1.size, mu1.size), (mu1.shape, sigma1.shape)
    diff = mu1 - mu2
    with warnings.catch_warnings():
        # A singular product (fewer samples than dimensions, dead features) is expected and handled below.
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(sigma1.dot(sigma2))
        if not np.isfinite(covmean).all():
            # Nudge both diagonals, as TTUR does.
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = scipy.linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        # Round-off gives tiny imaginary parts; a large one means the covariances are unusable.
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            largest = np.max(np.abs(covmean.imag))
            raise ValueError(f"Fréchet distance: the covariance square root has an imaginary component {largest:g}")
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def frechet_distance_of_features(fake: torch.Tensor, real: torch.Tensor) -> float:
    return frechet_distance(*feature_statistics(fake), *feature_statistics(real))


def kernel_distance(fake: torch.Tensor, real: torch.Tensor, subsets: int = 100, subset_size: int = 1000,
                    seed: int = 0, feature_scale: float = 1.0) -> tuple[float, float]:
    """KID (Bińkowski et al. 2018): unbiased MMD^2 with the cubic polynomial kernel, averaged over
    `subsets` random subsets of `subset_size` (capped at the smaller set); returns (mean, std).

    feature_scale: what the features are divided by first (the extractor's kid_feature_scale), so
    that x.y / d is of order 1 as on Inception's features, the scale the kernel was made for."""
    fake, real = fake / feature_scale, real / feature_scale
    from torch_fidelity.metric_kid import (
        KEY_METRIC_KID_MEAN,
        KEY_METRIC_KID_STD,
        kid_features_to_metric,
    )

    result = kid_features_to_metric(
        fake.detach().cpu().double(), real.detach().cpu().double(),
        kid_subsets=subsets, kid_subset_size=min(subset_size, len(fake), len(real)), kid_kernel="poly",
        kid_kernel_poly_degree=KID_DEGREE, kid_kernel_poly_gamma=None, kid_kernel_poly_coef0=KID_COEF0,
        rng_seed=seed, verbose=False,
    )
    return result[KEY_METRIC_KID_MEAN], result[KEY_METRIC_KID_STD]


def kid_protocol(extractor, subsets: int, subset_size: int) -> dict:
    """How KID was computed, and how to read it (the same in every report that has a KID)."""
    scale = extractor.kid_feature_scale
    return {
        "kernel": f"polynomial (x.y / d + {KID_COEF0:g})^{KID_DEGREE}",
        **({"features": f"divided by {scale:g}, {extractor.kid_feature_scale_reason}"} if scale != 1 else {}),
        "subsets": subsets,
        "subset_size": subset_size,
        "estimator": "unbiased MMD^2 (torch-fidelity): 0 is its floor in expectation, so two samples of one "
                     "distribution (such as the real data) can score slightly below 0",
        "shown": "x10^3 where printed (as papers report KID); stored unscaled in the JSON, metrics.json and "
                 "TensorBoard",
    }


def precision_recall(fake: torch.Tensor, real: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) on k-nearest-neighbour manifolds:
    precision = share of fakes inside the real manifold, recall = share of reals inside the fake one."""
    from torch_fidelity.metric_prc import (
        KEY_METRIC_PRECISION,
        KEY_METRIC_RECALL,
        prc_features_to_metric,
    )

    result = prc_features_to_metric(
        fake.detach().cpu().float(), real.detach().cpu().float(),
        prc_neighborhood=k, prc_batch_size=10000, save_cpu_ram=False, verbose=False,
    )
    return result[KEY_METRIC_PRECISION], result[KEY_METRIC_RECALL]


def inception_score(logits: torch.Tensor, splits: int = 10, seed: int = 0) -> tuple[float, float]:
    """IS (Salimans et al. 2016): exp E_x KL(p(y|x) || p(y)) over `splits` chunks; returns (mean, std)."""
    from torch_fidelity.metric_isc import (
        KEY_METRIC_ISC_MEAN,
        KEY_METRIC_ISC_STD,
        isc_features_to_metric,
    )

    result = isc_features_to_metric(logits.detach().cpu().double(), splits=splits, shuffle=True, rng_seed=seed)
    return result[KEY_METRIC_ISC_MEAN], result[KEY_METRIC_ISC_STD]


def class_coverage(logits: torch.Tensor, num_classes: int | None = None) -> tuple[float, float]:
    """(share of the classes that at least one sample is classified as, KL(class histogram || uniform))."""
    num_classes = num_classes or logits.shape[1]
    counts = torch.bincount(logits.argmax(dim=1).cpu(), minlength=num_classes).double()
    p = counts / counts.sum()
    present = p > 0
    kl = (p[present] * (p[present] * num_classes).log()).sum().item()
    return float(present.sum().item() / num_classes), float(kl)
