"""Offline datasets, each returned as an ImageSet of [N, C, H, W] float32 images in [0, 1].

Bundled or installable here: Fashion-MNIST (Debian `dataset-fashion-mnist`, or a data root),
Animal-MNIST (PyPI `animal-mnist`), scikit-learn digits, scikit-image faces and texture patches.
From a data root in their standard formats: MNIST, KMNIST, EMNIST (IDX), CIFAR-10/100 (python
pickles), SVHN (.mat).
"""

import gzip
import importlib.util
import pickle
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from .idx import CorruptFileError, read_idx
from .images import ImageSet, from_uint8, resize
from .sources import DEBIAN_FASHION_MNIST, DatasetNotFoundError, data_roots, find_dir, resolve

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")
DIGIT_CLASSES = tuple(str(d) for d in range(10))
SPLITS = ("train", "test")


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return split


def _idx_pair(name: str, folder: Path, images: str, labels: str, classes) -> ImageSet:
    x, y = read_idx(resolve(folder, images)), read_idx(resolve(folder, labels))
    if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
        raise CorruptFileError(f"{folder}: {images} {x.shape} and {labels} {y.shape} do not form a dataset")
    if len(x) == 0 or x.shape[1] == 0 or x.shape[2] == 0:
        raise CorruptFileError(f"{resolve(folder, images)}: holds no images (shape {x.shape})")
    if x.dtype != np.uint8 or not np.issubdtype(y.dtype, np.integer):
        raise CorruptFileError(f"{folder}: expected uint8 images and integer labels, got {x.dtype} and {y.dtype}")
    limit = len(classes) if classes else None
    if y.min() < 0 or (limit is not None and y.max() >= limit):
        raise CorruptFileError(f"{resolve(folder, labels)}: labels range over [{y.min()}, {y.max()}], outside the "
                               f"{limit or 'non-negative'} classes of {name}")
    return from_uint8(name, x, y, classes)


def _idx_dataset(name: str, subdirs: list[str], prefix: str, split: str, data_root, how_to_get: str, classes,
                 extra_folders=()) -> ImageSet:
    tag = "train" if _check_split(split) == "train" else "t10k"
    images, labels = f"{prefix}{tag}-images-idx3-ubyte", f"{prefix}{tag}-labels-idx1-ubyte"
    candidates = [root / sub for root in data_roots(data_root) for sub in subdirs] + list(extra_folders)
    folder = find_dir(name, [images, labels], candidates, how_to_get)
    return _idx_pair(name, folder, images, labels, classes)


def fashion_mnist(split: str = "train", data_root=None) -> ImageSet:
    """Fashion-MNIST (60000 train / 10000 test, 28×28, 10 classes)."""
    return _idx_dataset("fashion-mnist", ["fashion-mnist", "FashionMNIST/raw", "."], "", split, data_root,
                        "Install the Debian package (apt-get install dataset-fashion-mnist) or put the IDX files "
                        "in a data root (--data-root or $OOD_EXT_DATA).", FASHION_CLASSES,
                        extra_folders=[DEBIAN_FASHION_MNIST])


def mnist(split: str = "train", data_root=None) -> ImageSet:
    """MNIST digits from the IDX files in <data root>/mnist (or MNIST/raw)."""
    return _idx_dataset("mnist", ["mnist", "MNIST/raw"], "", split, data_root,
                        "Download the four MNIST IDX files into <data root>/mnist.", DIGIT_CLASSES)


def kmnist(split: str = "train", data_root=None) -> ImageSet:
    """Kuzushiji-MNIST from the IDX files in <data root>/kmnist (or KMNIST/raw)."""
    return _idx_dataset("kmnist", ["kmnist", "KMNIST/raw"], "", split, data_root,
                        "Download the four KMNIST IDX files into <data root>/kmnist.", None)


def emnist(split: str = "train", data_root=None, subset: str = "letters") -> ImageSet:
    """EMNIST (default: letters) from <data root>/emnist; images are transposed upright."""
    data = _idx_dataset(f"emnist-{subset}", ["emnist", "EMNIST/raw"], f"emnist-{subset}-", split, data_root,
                        f"Put emnist-{subset}-*-idx*-ubyte(.gz) into <data root>/emnist.", None)
    return data.with_images(data.images.transpose(0, 1, 3, 2), data.name)


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays only: a data file cannot run code."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
                ("numpy._core.multiarray", "scalar")}

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")
        return super().find_class(module, name)


def load_array_pickle(path: Path, compressed: bool = False):
    """A pickle of containers / numpy arrays, or CorruptFileError saying what is wrong with the file."""
    try:
        with (gzip.open(path, "rb") if compressed else open(path, "rb")) as f:
            return _ArrayUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, OSError, ValueError, gzip.BadGzipFile) as exc:
        raise CorruptFileError(f"{path}: unreadable or corrupt pickle ({exc})") from exc


def _cifar_batch(path: Path, label_key: bytes):
    batch = load_array_pickle(path)
    try:
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[label_key], dtype=np.int64)
    except (KeyError, TypeError) as exc:
        raise CorruptFileError(f"{path}: not a CIFAR batch (missing {exc})") from exc
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise CorruptFileError(f"{path}: CIFAR batch has data {data.shape} and {len(labels)} labels")
    return data.reshape(-1, 3, 32, 32), labels


def cifar10(split: str = "train", data_root=None) -> ImageSet:
    """CIFAR-10 from <data root>/cifar-10-batches-py (the python version)."""
    files = [f"data_batch_{i}" for i in range(1, 6)] if _check_split(split) == "train" else ["test_batch"]
    folder = find_dir("cifar10", files, [r / "cifar-10-batches-py" for r in data_roots(data_root)],
                      "Extract cifar-10-python.tar.gz into a data root.")
    parts = [_cifar_batch(folder / f, b"labels") for f in files]
    return from_uint8("cifar10", np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))


def cifar100(split: str = "train", data_root=None) -> ImageSet:
    """CIFAR-100 (fine labels) from <data root>/cifar-100-python."""
    name = _check_split(split)
    folder = find_dir("cifar100", [name], [r / "cifar-100-python" for r in data_roots(data_root)],
                      "Extract cifar-100-python.tar.gz into a data root.")
    images, labels = _cifar_batch(folder / name, b"fine_labels")
    return from_uint8("cifar100", images, labels)


def svhn(split: str = "train", data_root=None) -> ImageSet:
    """SVHN cropped digits from <data root>/svhn/{train,test}_32x32.mat (label 10 means 0)."""
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    filename = f"{_check_split(split)}_32x32.mat"
    folder = find_dir("svhn", [filename], [r / "svhn" for r in data_roots(data_root)],
                      f"Download {filename} into <data root>/svhn.")
    try:
        mat = loadmat(folder / filename)
        images, labels = np.asarray(mat["X"], dtype=np.uint8), np.asarray(mat["y"], dtype=np.int64).ravel()
    except (KeyError, ValueError, OSError, MatReadError) as exc:
        raise CorruptFileError(f"{folder / filename}: not a readable SVHN .mat file ({exc})") from exc
    if images.ndim != 4 or images.shape[:3] != (32, 32, 3) or images.shape[3] != len(labels):
        raise CorruptFileError(f"{folder / filename}: SVHN arrays have shapes {images.shape} and {labels.shape}")
    return from_uint8("svhn", images.transpose(3, 0, 1, 2), labels % 10, DIGIT_CLASSES)


def animal_mnist(data_root=None) -> ImageSet:
    """Animal-MNIST (10000 animal silhouettes, 28×28, 10 classes) from the `animal-mnist` package.

    The package's own loader imports TensorFlow, so its data files are read directly.
    """
    names = ["animal_data_version_3.gz", "animal_label_version_3.gz"]
    candidates = [r / "animal-mnist" for r in data_roots(data_root)]
    spec = importlib.util.find_spec("animal_mnist")
    if spec is not None and spec.submodule_search_locations:
        candidates.append(Path(list(spec.submodule_search_locations)[0]) / "data" / "Animal_MNIST")
    folder = find_dir("animal-mnist", names, candidates,
                      "Install it with `pip install --no-deps animal-mnist==0.4` (the package data only).")
    images = np.asarray(load_array_pickle(folder / names[0], compressed=True))
    labels = np.asarray(load_array_pickle(folder / names[1], compressed=True))
    if images.shape[1:] != (28, 28) or images.dtype != np.uint8 or len(labels) != len(images):
        raise CorruptFileError(f"{folder}: Animal-MNIST arrays have shapes {images.shape}, {labels.shape}")
    return from_uint8("animal-mnist", images, labels)


def digits(size: int = 28) -> ImageSet:
    """scikit-learn's 1797 handwritten digits (8×8, 17 grey levels), resized to size × size."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)[:, None]
    return ImageSet("digits", resize(images, size), bunch.target.astype(np.int64), DIGIT_CLASSES)


def faces(size: int = 28) -> ImageSet:
    """scikit-image's LFW subset: 100 faces then 100 non-faces (25×25), resized to size × size."""
    from skimage import data as skdata

    images = skdata.lfw_subset().astype(np.float32)[:, None]
    labels = np.repeat(np.array([1, 0], dtype=np.int64), len(images) // 2)
    return ImageSet("faces", resize(images, size), labels, ("non-face", "face"))


TEXTURE_SOURCES = ("brick", "grass", "gravel", "camera", "coins", "moon", "text", "page", "coffee", "chelsea",
                   "astronaut", "rocket")


def textures(n: int = 2000, size: int = 28, seed: int = 0) -> ImageSet:
    """n grayscale patches cut from scikit-image's textures and photos at random positions and
    scales (each patch side 1–3 × size before resizing); labels index TEXTURE_SOURCES."""
    from skimage import data as skdata
    from skimage.color import rgb2gray

    rng = np.random.default_rng(seed)
    sources = []
    for name in TEXTURE_SOURCES:
        image = getattr(skdata, name)()
        image = rgb2gray(image) if image.ndim == 3 else image.astype(np.float64) / 255.0
        sources.append(np.asarray(image, dtype=np.float32))
    patches, labels = [], rng.integers(len(sources), size=n)
    for label in labels:
        image = sources[label]
        side = int(rng.integers(size, min(3 * size, *image.shape) + 1))
        top, left = rng.integers(image.shape[0] - side + 1), rng.integers(image.shape[1] - side + 1)
        patches.append(image[top : top + side, left : left + side])
    images = np.stack([resize(p[None, None], size)[0] for p in patches])
    return ImageSet("textures", images, labels.astype(np.int64), TEXTURE_SOURCES)


LETTERS = tuple("ABCDEFGHIJ")  # notMNIST's ten classes
FONT_FOLDERS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype"))


def _fonts() -> list:
    """The TrueType faces to render letters with: every DejaVu face installed (Debian
    `fonts-dejavu-core`) and Pillow's bundled font, in a fixed order."""
    from PIL import ImageFont

    found = next((sorted(folder.rglob("*.ttf")) for folder in FONT_FOLDERS if folder.is_dir()
                  and any(folder.rglob("*.ttf"))), [])
    return [lambda size, path=path: ImageFont.truetype(str(path), size) for path in found] + [
        lambda size: ImageFont.load_default(size=size)]


def letters(n: int = 2000, size: int = 28, seed: int = 0) -> ImageSet:
    """A notMNIST-like set rendered offline: n glyphs A–J, white on black, each in a random
    installed font face at a random size (0.55–0.95 of the frame) with a small random offset,
    anti-aliased; labels index LETTERS."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    fonts = _fonts()
    images, labels = np.zeros((n, 1, size, size), dtype=np.float32), rng.integers(len(LETTERS), size=n)
    for i, label in enumerate(labels):
        font = fonts[int(rng.integers(len(fonts)))](int(round(size * rng.uniform(0.55, 0.95))))
        canvas = Image.new("L", (size, size), 0)
        draw = ImageDraw.Draw(canvas)
        left, top, right, bottom = draw.textbbox((0, 0), LETTERS[label], font=font)
        x = (size - (right - left)) / 2 - left + rng.uniform(-2, 2)
        y = (size - (bottom - top)) / 2 - top + rng.uniform(-2, 2)
        draw.text((x, y), LETTERS[label], fill=255, font=font)
        images[i, 0] = np.asarray(canvas, dtype=np.float32) / 255.0
    return ImageSet("letters", images, labels.astype(np.int64), LETTERS)


# name → loader(split, data_root) for the datasets that can serve as in-distribution data.
IN_DISTRIBUTION: dict[str, Callable[[str, Optional[Path]], ImageSet]] = {
    "fashion-mnist": fashion_mnist,
    "mnist": mnist,
    "kmnist": kmnist,
    "digits": lambda split, data_root=None: digits_split(split),
}


def digits_split(split: str, test_fraction: float = 0.3, seed: int = 0) -> ImageSet:
    """A fixed stratified-free random train / test split of the sklearn digits (70 / 30)."""
    data = digits()
    order = np.random.default_rng(seed).permutation(len(data))
    cut = int(round(len(data) * (1 - test_fraction)))
    index = np.sort(order[:cut] if _check_split(split) == "train" else order[cut:])
    return data.take(index)


__all__ = ["DatasetNotFoundError", "FASHION_CLASSES", "IN_DISTRIBUTION", "TEXTURE_SOURCES", "animal_mnist",
           "cifar10", "cifar100", "digits", "digits_split", "emnist", "faces", "fashion_mnist", "kmnist",
           "letters", "load_array_pickle", "mnist", "svhn", "textures"]
