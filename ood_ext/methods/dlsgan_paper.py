"""The AnoDLSGAN paper's protocol (seed 000, Tables 1–2) for `ood-ext reproduce anodlsgan`: Fashion-
MNIST in-distribution (all ten classes; the paper's MNIST is not offline); far OOD sets the nine
MNIST-C corruptions of the ID test images, digits and animals; near OOD sets their k = 0.1 mixes
with ID test images; columns AnoDLSGAN, InfoGAN, the autoencoder's reconstruction error and the
classifier's energy score with ReAct at t ∈ {1, 10}, p ∈ {0.5, 0.9, 1.0}."""

from ..data import corruptions
from ..reproduce import SMOKE_NOTE, MeanAtLeast, MeanReaches, PaperTable, Protocol, Scale, register
from .profiles import Sizes

_CORRUPTION_ROWS = {"shot_noise": "Shot noise", "impulse_noise": "Impulse noise", "glass_blur": "Glass blur",
                    "motion_blur": "Motion blur", "stripe": "Stripe", "fog": "Fog", "spatter": "Spatter",
                    "dotted_line": "Dotted line", "zigzag": "Zigzag"}
assert set(_CORRUPTION_ROWS) == set(corruptions.CORRUPTIONS)
FAR = {f"c-{name}": row for name, row in _CORRUPTION_ROWS.items()} | {"digits": "FMNIST", "animals": "KMNIST"}
NEAR = {f"near-{name}": f"{row} (near)" for name, row in FAR.items()}
COLUMNS = {"anodlsgan": "AnoDLSGAN", "infogan": "InfoGAN", "ae-reconstruction": "Reconstruction",
           "react-p50": "Energy t=1, p=0.5", "react": "Energy t=1, p=0.9", "energy": "Energy t=1, p=1.0",
           "react-p50-t10": "Energy t=10, p=0.5", "react-t10": "Energy t=10, p=0.9",
           "energy-t10": "Energy t=10, p=1.0"}
# Table 2 (AUROC × 100, MNIST in-distribution), rows in FAR's order, columns in COLUMNS' order.
_NEAR_TABLE = (
    (50.94, 50.64, 52.98, 51.86, 52.38, 51.44, 51.89, 52.36, 51.96),
    (93.12, 59.46, 73.51, 52.17, 52.87, 51.62, 52.27, 52.73, 52.26),
    (62.22, 52.19, 48.30, 54.44, 55.66, 53.38, 54.52, 55.58, 54.70),
    (78.18, 53.69, 50.90, 55.44, 56.95, 54.09, 55.45, 56.94, 55.74),
    (100.00, 93.49, 98.85, 53.63, 54.82, 52.82, 53.91, 54.86, 53.96),
    (95.26, 61.20, 76.12, 58.21, 60.54, 56.31, 58.66, 60.62, 58.77),
    (63.61, 51.42, 52.48, 51.08, 51.39, 50.83, 51.11, 51.38, 51.14),
    (68.17, 53.00, 56.78, 50.56, 50.74, 50.41, 50.56, 50.69, 50.59),
    (85.78, 56.90, 65.78, 51.16, 51.53, 50.86, 51.17, 51.45, 51.21),
    (98.90, 65.88, 82.56, 60.61, 63.48, 58.09, 60.88, 63.37, 61.19),
    (97.94, 65.88, 84.74, 60.76, 63.62, 58.17, 60.94, 63.40, 61.27),
)
_FAR_TABLE = (
    (97.21, 68.52, 99.74, 72.65, 76.81, 70.25, 70.08, 77.84, 73.48),
    (100.00, 100.00, 100.00, 82.31, 85.79, 79.03, 76.55, 86.79, 83.09),
    (99.97, 93.15, 99.82, 91.02, 94.73, 85.81, 88.98, 95.99, 92.04),
    (100.00, 95.07, 97.96, 89.67, 93.83, 83.94, 88.82, 95.16, 90.91),
    (100.00, 100.00, 100.00, 90.06, 93.82, 85.49, 87.55, 94.13, 90.82),
    (100.00, 99.94, 99.99, 99.90, 99.97, 92.79, 99.87, 99.99, 99.95),
    (99.66, 84.20, 99.44, 66.20, 69.60, 64.52, 64.87, 70.54, 66.75),
    (99.37, 84.71, 99.97, 61.99, 64.43, 60.91, 58.23, 63.97, 61.67),
    (99.82, 92.69, 99.99, 67.10, 70.26, 65.60, 60.49, 69.34, 66.40),
    (100.00, 99.85, 99.98, 95.53, 97.89, 89.68, 91.98, 97.97, 96.00),
    (99.95, 97.89, 99.99, 94.03, 96.94, 88.63, 86.78, 96.61, 93.51),
)
FAR_TABLE, NEAR_TABLE = "Table 2, far OOD", "Table 2, near OOD (k = 0.1)"


def _table(name: str, rows: dict, values: tuple) -> PaperTable:
    paper = {(m, s): v / 100 for s, line in zip(rows, values) for m, v in zip(COLUMNS, line)}
    return PaperTable(name, "auroc", COLUMNS, rows, paper)


# The cpu scale's GANs: the quick architecture, 2.5× the quick profile's steps (about 6 minutes each here).
_CPU_GAN = dict(train_samples=12000, epochs=10)

PROTOCOL = register(Protocol(
    seed="anodlsgan",
    source="000_b68c582f29158949.txt",
    paper="Self-supervised Out-of-distribution Detection with Dynamic Latent Scale GAN",
    sets=(*FAR, *NEAR),
    methods=tuple(COLUMNS),
    tables=(_table(FAR_TABLE, FAR, _FAR_TABLE), _table(NEAR_TABLE, NEAR, _NEAR_TABLE)),
    claims=(
        MeanAtLeast("AnoDLSGAN > InfoGAN and > the autoencoder's reconstruction on the near-OOD mean",
                    method="anodlsgan", others=("infogan", "ae-reconstruction"), table=NEAR_TABLE, strict=True),
        MeanReaches("AnoDLSGAN's far-OOD mean AUROC ≥ 0.95", method="anodlsgan", value=0.95, table=FAR_TABLE),
        MeanAtLeast("ReAct p = 0.9 ≥ p = 1.0 (t = 1, every set)", method="react", others=("energy",)),
        MeanAtLeast("ReAct p = 0.9 ≥ p = 1.0 (t = 10, every set)", method="react-t10", others=("energy-t10",)),
    ),
    stand_ins={**{s: f"MNIST-C {row}: the same corruption of the Fashion-MNIST test images" for s, row in FAR.items()
                  if s.startswith("c-")},
               "digits": "FMNIST (the OOD set of an MNIST model): scikit-learn's handwritten digits, the "
                         "OOD set of a Fashion-MNIST model",
               "animals": "KMNIST: Animal-MNIST, another set of 28 × 28 line drawings",
               **{s: f"0.1 · the far set's image + 0.9 · an ID test image (the paired clean image for a "
                     f"corruption, as the paper)" for s in NEAR}},
    scales={
        "smoke": Scale("smoke", Sizes(train_samples=600, test_samples=100, ood_samples=100, fit_samples=100),
                       note=SMOKE_NOTE),
        "cpu": Scale("quick", Sizes(train_samples=12000, test_samples=2000, ood_samples=1000, fit_samples=2000),
                     models={kind: _CPU_GAN for kind in ("dlsgan", "infogan")},
                     note="Scale cpu: the quick profile's networks (see Models) on up to 12,000 of the 60,000 "
                     "training images, the two GANs trained 2.5× the quick profile's steps (10 epochs on 12,000 "
                     "images: 3,750 steps; the paper's are 56,000); 2,000 ID test images and 1,000 images per OOD "
                     "set scored."),
        "paper": Scale("full", note="Scale paper: the full profile's models (the paper's widths, 30 epochs on "
                       "all 60,000 images; for a GPU)."),
    },
    notes=(
        "MNIST, the paper's in-distribution, is not offline: Fashion-MNIST (all ten classes) takes its place, so "
        "its test images are corrupted and mixed, and the paper's FMNIST / KMNIST rows become digits / animals.",
        "The paper's Table 1 (MNIST, 7 folds, min–max): FID 4.62–5.44 (AnoDLSGAN) and 6.12–7.11 (InfoGAN) on "
        "Inception features; PSNR 15.56–15.93 / 13.79–14.18 / 29.08–29.10 dB and SSIM 0.567–0.591 / "
        "0.451–0.477 / 0.963–0.964 (AnoDLSGAN / InfoGAN / autoencoder); classifier accuracy 99.47–99.51 %. "
        "Ours are in Models: FID-in-house is on the project's classifier's features (no Inception weights "
        "offline), so only the ordering compares.",
        "The classifier columns use the project's ResNet classifier; the paper's classifier is its GAN encoder "
        "with a 10-way head.",
        "The paper evaluates by 7-fold cross-validation over MNIST's 70,000 images; we train once on the "
        "training split and score test images.",
    ),
    seconds_per_scale={"cpu": 45 * 60},
))
