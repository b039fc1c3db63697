"""Dataset loaders on fixtures the tests write themselves, corrupt files, and the bundled sets."""

import gzip
import pickle

import numpy as np
import pytest

from ood_ext.data import CorruptFileError, DatasetNotFoundError, datasets, read_idx, write_idx
from ood_ext.data.images import ImageSet, loader, resize, to_grayscale, to_tensor


def fake_images(n, shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, *shape), dtype=np.uint8)


def write_idx_pair(folder, prefix, tag, n, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = fake_images(n, (28, 28), seed), np.arange(n, dtype=np.uint8) % 10
    write_idx(folder / f"{prefix}{tag}-images-idx3-ubyte.gz", images)
    write_idx(folder / f"{prefix}{tag}-labels-idx1-ubyte", labels)
    return images, labels


@pytest.mark.parametrize("loader_fn,sub,prefix", [(datasets.mnist, "mnist", ""), (datasets.kmnist, "kmnist", ""),
                                                  (datasets.fashion_mnist, "fashion-mnist", "")])
@pytest.mark.parametrize("split,tag", [("train", "train"), ("test", "t10k")])
def test_idx_datasets_from_a_data_root(tmp_path, loader_fn, sub, prefix, split, tag):
    images, labels = write_idx_pair(tmp_path / sub, prefix, tag, 12)
    data = loader_fn(split, tmp_path)
    assert data.images.shape == (12, 1, 28, 28) and data.images.dtype == np.float32
    np.testing.assert_array_equal(np.rint(data.images[:, 0] * 255).astype(np.uint8), images)
    np.testing.assert_array_equal(data.labels, labels)


def test_emnist_is_transposed_upright(tmp_path):
    images, _ = write_idx_pair(tmp_path / "emnist", "emnist-letters-", "t10k", 5)
    data = datasets.emnist("test", tmp_path)
    np.testing.assert_array_equal(np.rint(data.images[:, 0] * 255).astype(np.uint8), images.transpose(0, 2, 1))


def test_data_root_from_environment(tmp_path, monkeypatch):
    write_idx_pair(tmp_path / "mnist", "", "t10k", 3)
    monkeypatch.setenv("OOD_EXT_DATA", str(tmp_path))
    assert len(datasets.mnist("test")) == 3


def test_missing_dataset_says_how_to_get_it(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="mnist not found.*Download"):
        datasets.mnist("train", tmp_path)
    with pytest.raises(ValueError, match="split must be"):
        datasets.mnist("val", tmp_path)


@pytest.mark.parametrize("damage,message", [
    (lambda raw: raw[:-10], "truncated or corrupt"),
    (lambda raw: raw + b"\0\0", "truncated or corrupt"),
    (lambda raw: b"\x01" + raw[1:], "bad magic"),
    (lambda raw: raw[:2] + b"\x07" + raw[3:], "unsupported IDX type"),
    (lambda raw: raw[:6], "truncated IDX header"),
])
def test_corrupt_idx_files_are_rejected(tmp_path, damage, message):
    path = tmp_path / "x-idx3-ubyte"
    write_idx(path, fake_images(4, (28, 28)))
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(CorruptFileError, match=message):
        read_idx(path)


def test_corrupt_gzip_is_rejected(tmp_path):
    path = tmp_path / "x-idx3-ubyte.gz"
    write_idx(path, fake_images(4, (28, 28)))
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(CorruptFileError, match="gzip"):
        read_idx(path)


def test_mismatched_idx_pair_is_rejected(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    write_idx(folder / "t10k-images-idx3-ubyte", fake_images(5, (28, 28)))
    write_idx(folder / "t10k-labels-idx1-ubyte", np.zeros(4, dtype=np.uint8))
    with pytest.raises(CorruptFileError, match="do not form a dataset"):
        datasets.mnist("test", tmp_path)


def write_cifar(folder, names, label_key, n=6):
    folder.mkdir(parents=True)
    for i, name in enumerate(names):
        batch = {b"data": fake_images(n, (3072,), i), label_key: list(range(n))}
        (folder / name).write_bytes(pickle.dumps(batch))


def test_cifar10_and_cifar100(tmp_path):
    write_cifar(tmp_path / "cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"],
                b"labels")
    write_cifar(tmp_path / "cifar-100-python", ["train", "test"], b"fine_labels")
    train = datasets.cifar10("train", tmp_path)
    assert train.images.shape == (30, 3, 32, 32) and list(train.labels[:6]) == list(range(6))
    raw = pickle.loads((tmp_path / "cifar-10-batches-py" / "data_batch_1").read_bytes())[b"data"]
    np.testing.assert_array_equal(np.rint(train.images[0] * 255).astype(np.uint8).ravel(), raw[0])
    assert datasets.cifar100("test", tmp_path).images.shape == (6, 3, 32, 32)


def test_cifar_pickles_cannot_run_code(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (folder / "test").write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(CorruptFileError, match="refusing to load builtins.print"):
        datasets.cifar100("test", tmp_path)
    (folder / "test").write_bytes(b"garbage")
    with pytest.raises(CorruptFileError, match="corrupt pickle"):
        datasets.cifar100("test", tmp_path)


def test_svhn(tmp_path):
    from scipy.io import savemat

    (tmp_path / "svhn").mkdir()
    x = fake_images(4, (32, 32, 3)).transpose(1, 2, 3, 0)
    savemat(tmp_path / "svhn" / "test_32x32.mat", {"X": x, "y": np.array([[10], [1], [2], [3]])})
    data = datasets.svhn("test", tmp_path)
    assert data.images.shape == (4, 3, 32, 32) and list(data.labels) == [0, 1, 2, 3]
    (tmp_path / "svhn" / "test_32x32.mat").write_bytes(b"not a mat file")
    with pytest.raises(CorruptFileError):
        datasets.svhn("test", tmp_path)


def test_animal_mnist_from_a_data_root_and_corrupt_copy(tmp_path):
    folder = tmp_path / "animal-mnist"
    folder.mkdir()
    with gzip.open(folder / "animal_data_version_3.gz", "wb") as f:
        pickle.dump(fake_images(7, (28, 28)), f)
    with gzip.open(folder / "animal_label_version_3.gz", "wb") as f:
        pickle.dump(np.arange(7), f)
    assert datasets.animal_mnist(tmp_path).images.shape == (7, 1, 28, 28)
    (folder / "animal_data_version_3.gz").write_bytes(b"\x1f\x8b broken")
    with pytest.raises(CorruptFileError):
        datasets.animal_mnist(tmp_path)


def test_bundled_offline_sets():
    assert datasets.fashion_mnist("test").images.shape == (10000, 1, 28, 28)
    assert len(datasets.animal_mnist()) == 10000
    for data, n in ((datasets.digits(), 1797), (datasets.faces(), 200), (datasets.textures(50, seed=1), 50)):
        assert data.images.shape == (n, 1, 28, 28)
        assert 0.0 <= data.images.min() and data.images.max() <= 1.0
    np.testing.assert_array_equal(datasets.textures(20, seed=5).images, datasets.textures(20, seed=5).images)
    train, test = datasets.digits_split("train"), datasets.digits_split("test")
    assert len(train) + len(test) == 1797


def test_image_set_helpers():
    data = ImageSet("x", np.random.default_rng(0).random((10, 3, 8, 8), dtype=np.float32), np.arange(10))
    assert np.array_equal(data.subset(4, 1).labels, data.subset(4, 1).labels)
    assert len(data.subset(None, 0)) == 10 and len(data.subset(4, 0)) == 4
    assert to_grayscale(data.images).shape == (10, 1, 8, 8)
    assert resize(data.images, 4).shape == (10, 3, 4, 4)
    x = to_tensor(data.images[:, :1], pad_to=12, value_range=(-1, 1))
    assert x.shape == (10, 1, 12, 12) and x[:, :, 0, 0].eq(-1).all()
    assert [b[0].shape[0] for b in loader(x, data.labels, batch_size=4)] == [4, 4, 2]
    with pytest.raises(ValueError, match="float32"):
        ImageSet("bad", np.zeros((2, 8, 8)))
