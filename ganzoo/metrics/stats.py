"""The sample-quality statistics, on features or class probabilities (NumPy/SciPy, float64).

- FID (Heusel et al. 2017): Frechet distance between Gaussians fitted to real and fake features.
- KID (Binkowski et al. 2018): unbiased MMD^2 with the kernel (x.y / d + 1)^3, averaged over
  random subsets; reported with its standard deviation over the subsets.
- Inception Score (Salimans et al. 2016): exp(E[KL(p(y|x) || p(y))]), mean and std over splits.
- Improved precision and recall (Kynkaanniemi et al. 2019): a fake sample is "precise" when it
  falls inside the k-NN ball of some real sample, and vice versa for recall (k = 3).
- Class coverage: how many classes a classifier finds among the samples (mode collapse check).
- Nearest-neighbour statistics of binary samples under the IoU (Jaccard) distance, as 3D-shape
  generation reports them: 1-NNA (Lopez-Paz & Oquab 2017; Yang et al. 2019), coverage and MMD
  (Achlioptas et al. 2018). No feature network: they compare voxels.
- Fragments of binary samples: connected pieces beyond each sample's largest (floating specks a
  mesh of the grid shows as separate bits), which the statistics above barely weigh.
"""

from __future__ import annotations

import warnings

import numpy as np


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    features = np.asarray(features, np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^1/2)."""
    # Imported here: naming the metrics (the CLI's early checks) needs no SciPy.
    from scipy import linalg

    diff = mu1 - mu2
    with warnings.catch_warnings():
        # Dead ReLU features make the covariances singular; sqrtm still returns the right root.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        # Singular product (fewer samples than dimensions): regularise as the reference code does.
        offset = np.eye(len(sigma1)) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def fid(real_features: np.ndarray, fake_features: np.ndarray) -> float:
    return frechet_distance(*gaussian_stats(real_features), *gaussian_stats(fake_features))


def polynomial_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between two samples with the cubic polynomial kernel."""
    d = x.shape[1]
    k_xx = (x @ x.T / d + 1) ** 3
    k_yy = (y @ y.T / d + 1) ** 3
    k_xy = (x @ y.T / d + 1) ** 3
    m, n = len(x), len(y)
    return float((k_xx.sum() - np.trace(k_xx)) / (m * (m - 1)) + (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
                 - 2 * k_xy.mean())


def kid(real_features, fake_features, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """(mean, std) of the unbiased MMD^2 over `subsets` random subsets of each set."""
    real = np.asarray(real_features, np.float64)
    fake = np.asarray(fake_features, np.float64)
    size = min(subset_size, len(real), len(fake))
    rng = np.random.default_rng(seed)
    values = [polynomial_mmd2(real[rng.choice(len(real), size, replace=False)], fake[rng.choice(len(fake), size, replace=False)])
              for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))


def inception_score(probabilities: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """(mean, std) over `splits` equal parts of exp(E_x KL(p(y|x) || p(y)))."""
    probabilities = np.asarray(probabilities, np.float64)
    scores = []
    for part in np.array_split(probabilities, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = np.sum(part * (np.log(part + 1e-12) - np.log(marginal + 1e-12)), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def _pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.maximum(squared, 0.0))


def _kth_neighbour_radii(features: np.ndarray, k: int, chunk: int = 1024) -> np.ndarray:
    radii = []
    for start in range(0, len(features), chunk):
        distances = _pairwise_distances(features[start : start + chunk], features)
        radii.append(np.partition(distances, k, axis=1)[:, k])  # index 0 is the point itself
    return np.concatenate(radii)


def _fraction_inside(points: np.ndarray, centres: np.ndarray, radii: np.ndarray, chunk: int = 1024) -> float:
    inside = 0
    for start in range(0, len(points), chunk):
        distances = _pairwise_distances(points[start : start + chunk], centres)
        inside += int((distances <= radii[None, :]).any(axis=1).sum())
    return inside / len(points)


def precision_recall(real_features, fake_features, k: int = 3) -> tuple[float, float]:
    """Improved precision (fake inside the real manifold) and recall (real inside the fake one)."""
    real = np.asarray(real_features, np.float64)
    fake = np.asarray(fake_features, np.float64)
    precision = _fraction_inside(fake, real, _kth_neighbour_radii(real, k))
    recall = _fraction_inside(real, fake, _kth_neighbour_radii(fake, k))
    return precision, recall


def class_coverage(probabilities: np.ndarray, min_share: float = 0.25) -> tuple[int, int]:
    """(classes found, classes): a class is found when at least `min_share` of its fair share
    (1 / classes) of the samples are classified as it."""
    probabilities = np.asarray(probabilities)
    classes = probabilities.shape[1]
    counts = np.bincount(probabilities.argmax(axis=1), minlength=classes)
    return int((counts >= min_share * len(probabilities) / classes).sum()), classes


def jaccard_distances(a: np.ndarray, b: np.ndarray, chunk: int = 512) -> np.ndarray:
    """1 - IoU between every row of `a` and of `b`, binary samples of any shape [N, ...] (two empty
    samples are at distance 0). Blocks of `chunk` x `chunk` samples: memory stays at two blocks in
    float32 (the matrix product counts exactly below 2^24 voxels), whatever N and the grid size."""
    a = np.asarray(a).reshape(len(a), -1) != 0
    b = np.asarray(b).reshape(len(b), -1) != 0
    a_sizes, b_sizes = a.sum(axis=1), b.sum(axis=1)
    distances = np.zeros((len(a), len(b)))
    for i in range(0, len(a), chunk):
        a_block = a[i : i + chunk].astype(np.float32)
        for j in range(0, len(b), chunk):
            intersection = a_block @ b[j : j + chunk].astype(np.float32).T
            union = a_sizes[i : i + chunk, None] + b_sizes[None, j : j + chunk] - intersection
            distances[i : i + chunk, j : j + chunk] = np.where(union > 0, 1.0 - intersection / np.maximum(union, 1), 0.0)
    return distances


def nearest_neighbour_stats(real: np.ndarray, fake: np.ndarray) -> dict[str, float]:
    """1-NNA, coverage and MMD of binary samples under the IoU distance.

    - nna: accuracy of the leave-one-out 1-nearest-neighbour classifier that tells the two sets
      apart (sets of equal size): 0.5 when fake is drawn like real, 1 when they never mix, below
      0.5 when fake copies real. A tie counts as half right.
    - nn_coverage: share of real samples that are the nearest real one of some fake sample.
    - nn_mmd: mean over real samples of the distance to their nearest fake one.
    """
    if len(real) != len(fake) or len(real) < 2:
        raise ValueError(f"1-NNA compares two sets of equal size (>= 2), got {len(real)} and {len(fake)}")
    real_fake = jaccard_distances(real, fake)
    real_real = jaccard_distances(real, real)
    fake_fake = jaccard_distances(fake, fake)
    np.fill_diagonal(real_real, np.inf)
    np.fill_diagonal(fake_fake, np.inf)

    def right(own, other):  # nearest of the same set: right; a tie: half
        return float((own < other).sum() + 0.5 * (own == other).sum())

    correct = right(real_real.min(axis=1), real_fake.min(axis=1)) + right(fake_fake.min(axis=1), real_fake.min(axis=0))
    return {"nna": correct / (2 * len(real)),
            "nn_coverage": len(np.unique(real_fake.argmin(axis=0))) / len(real),
            "nn_mmd": float(real_fake.min(axis=1).mean())}


def fragments(samples: np.ndarray) -> dict[str, float]:
    """Per binary sample [N, ..., 1] or [N, ...]: the pieces beyond its largest connected one
    (voxels touching at a face, edge or corner are one piece) and the share of its occupied voxels
    in them, averaged; an empty sample has none."""
    from scipy import ndimage

    samples = np.asarray(samples) != 0
    if samples.ndim > 2 and samples.shape[-1] == 1:
        samples = samples[..., 0]
    structure = np.ones((3,) * (samples.ndim - 1), bool)
    counts, shares = [], []
    for sample in samples:
        labels, pieces = ndimage.label(sample, structure)
        sizes = np.bincount(labels.ravel())[1:]
        counts.append(max(pieces - 1, 0))
        shares.append(1.0 - sizes.max() / sizes.sum() if pieces else 0.0)
    return {"fragments": float(np.mean(counts)), "fragment_share": float(np.mean(shares))}
