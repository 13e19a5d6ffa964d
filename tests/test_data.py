"""Tests of lecture9.data: the binarized digits split, IDX files and the MNIST loader."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from lecture9 import data

MNIST_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"


def test_digits_split_shapes_and_binarization():
    d = data.load_binarized_digits()
    x_train, y_train, x_test, y_test = d  # unpacks as a 4-tuple
    assert x_train.shape == (1500, 64) and y_train.shape == (1500,)
    assert x_test.shape == (297, 64) and y_test.shape == (297,)
    assert x_train.dtype == torch.float32 and y_train.dtype == torch.int64
    assert set(torch.unique(torch.cat([x_train, x_test])).tolist()) == {0.0, 1.0}
    raw = load_digits()
    expected = torch.as_tensor(raw.data > 8).float()
    assert torch.equal(torch.cat([x_train, x_test]), expected)  # pixel > 8 of 16, rows in order
    assert torch.equal(torch.cat([y_train, y_test]), torch.as_tensor(raw.target))
    assert torch.equal(x_test, expected[1500:])  # test = the last 297 rows


def test_digits_threshold_and_dtype():
    d = data.load_binarized_digits(threshold=0, dtype=torch.float64)
    raw = load_digits()
    assert d.x_train.dtype == torch.float64
    assert torch.equal(d.x_train, torch.as_tensor(raw.data[:1500] > 0, dtype=torch.float64))
    with pytest.raises(ValueError, match="threshold"):
        data.load_binarized_digits(threshold=16)
    with pytest.raises(TypeError, match="dtype"):
        data.load_binarized_digits(dtype=torch.int64)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_roundtrip(tmp_path, suffix):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = data.write_idx(tmp_path / f"a-idx3-ubyte{suffix}", arr)
    out = data.read_idx(path)
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, arr)


def test_idx_bytes_match_the_format(tmp_path):
    """A hand-written IDX file (magic 0x00000803, big-endian dims) is read correctly."""
    payload = (
        bytes([0, 0, 8, 3])
        + (2).to_bytes(4, "big")
        + (1).to_bytes(4, "big")
        + (2).to_bytes(4, "big")
    )
    payload += bytes([0, 255, 128, 7])
    (tmp_path / "f").write_bytes(payload)
    np.testing.assert_array_equal(
        data.read_idx(tmp_path / "f"), np.array([[[0, 255]], [[128, 7]]], dtype=np.uint8)
    )


def test_idx_errors(tmp_path):
    (tmp_path / "bad").write_bytes(bytes([1, 0, 8, 1, 0, 0, 0, 1, 5]))
    with pytest.raises(ValueError, match="first two bytes"):
        data.read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 5]))
    with pytest.raises(ValueError, match="truncated"):
        data.read_idx(tmp_path / "short")
    (tmp_path / "code").write_bytes(bytes([0, 0, 0x42, 1, 0, 0, 0, 1, 5]))
    with pytest.raises(ValueError, match="type code"):
        data.read_idx(tmp_path / "code")
    with pytest.raises(ValueError, match=r"\[0, 255\]"):
        data.write_idx(tmp_path / "x", np.array([256]))


def _write_tiny_mnist(folder: Path, split: str, gz: bool, n: int = 5):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = np.arange(n, dtype=np.uint8) % 10
    suffix = ".gz" if gz else ""
    img_name, lab_name = data.MNIST_FILES[split]
    data.write_idx(folder / f"{img_name}{suffix}", images)
    data.write_idx(folder / f"{lab_name}{suffix}", labels)
    return images, labels


@pytest.mark.parametrize(
    "layout, gz", [("torchvision", True), ("torchvision", False), ("plain", True), ("plain", False)]
)
def test_load_mnist_tiny_files(tmp_path, layout, gz):
    folder = tmp_path / "MNIST" / "raw" if layout == "torchvision" else tmp_path
    images, labels = _write_tiny_mnist(folder, "train", gz)
    x, y = data.load_mnist(tmp_path, "train")
    assert x.shape == (5, 784) and x.dtype == torch.float32 and y.dtype == torch.int64
    expected = torch.as_tensor(images.reshape(5, -1) / 255.0 > 0.5).float()
    assert torch.equal(x, expected)
    assert torch.equal(y, torch.as_tensor(labels, dtype=torch.int64))


def test_load_mnist_stochastic_binarization(tmp_path):
    folder = tmp_path / "MNIST" / "raw"
    folder.mkdir(parents=True)
    images = np.zeros((2000, 28, 28), dtype=np.uint8)
    images[:, :, :14] = 255  # left half always on
    images[:, :, 14:] = 64  # right half on with probability 64/255
    data.write_idx(folder / "t10k-images-idx3-ubyte.gz", images)
    data.write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(2000, dtype=np.uint8))
    g = torch.Generator().manual_seed(0)
    x, _ = data.load_mnist(tmp_path, "test", binarize="stochastic", generator=g)
    x = x.reshape(-1, 28, 28)
    assert set(torch.unique(x).tolist()) <= {0.0, 1.0}
    assert bool((x[:, :, :14] == 1).all())
    p = 64 / 255
    n = x[:, :, 14:].numel()
    se = (p * (1 - p) / n) ** 0.5
    assert abs(x[:, :, 14:].mean().item() - p) < 5 * se
    g = torch.Generator().manual_seed(0)
    x2, _ = data.load_mnist(tmp_path, "test", binarize="stochastic", generator=g)
    assert torch.equal(x.reshape(2000, -1), x2)  # reproducible through the generator


def test_load_mnist_missing_files_says_what_to_put_where(tmp_path):
    with pytest.raises(
        FileNotFoundError, match="train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz"
    ) as err:
        data.load_mnist(tmp_path, "train")
    assert str(tmp_path / "MNIST" / "raw") in str(err.value)
    _write_tiny_mnist(tmp_path, "test", gz=True)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"missing t10k-labels-idx1-ubyte\.gz \(") as err:
        data.load_mnist(tmp_path, "test")
    assert "t10k-images" not in str(err.value).split("Put")[0]


def test_load_mnist_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="split"):
        data.load_mnist(tmp_path, "validation")
    with pytest.raises(ValueError, match="binarize"):
        data.load_mnist(tmp_path, "train", binarize="round")
    with pytest.raises(ValueError, match="threshold"):
        data.load_mnist(tmp_path, "train", threshold=1.5)
    with pytest.raises(TypeError, match="generator"):
        data.load_mnist(tmp_path, "train", generator=0)


def test_load_mnist_mismatched_files(tmp_path):
    data.write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((3, 28, 28), dtype=np.uint8))
    data.write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(4, dtype=np.uint8))
    with pytest.raises(ValueError, match="do not match"):
        data.load_mnist(tmp_path, "test")


@pytest.mark.skipif(
    not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file(), reason="../shared/data/mnist is absent"
)
def test_real_mnist_test_split():
    x, y = data.load_mnist(MNIST_DIR, "test")
    assert x.shape == (10000, 784) and y.shape == (10000,)
    assert y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the well-known first test labels
    assert torch.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert set(torch.unique(x).tolist()) == {0.0, 1.0}
    assert 0.10 < x.mean().item() < 0.16  # about 13% of MNIST pixels are above half intensity
    with gzip.open(MNIST_DIR / "t10k-images-idx3-ubyte.gz", "rb") as f:
        assert f.read(4) == bytes([0, 0, 8, 3])


# ----------------------------------------------------------------------------- bad input


def test_write_idx_rejects_fractions(tmp_path):
    with pytest.raises(ValueError, match="array must hold whole numbers"):
        data.write_idx(tmp_path / "a.idx", [1.7])
    with pytest.raises(TypeError, match="array must hold integers"):
        data.write_idx(tmp_path / "a.idx", ["a"])


def test_read_idx_of_a_folder_and_of_bad_gzip(tmp_path):
    with pytest.raises(ValueError, match="is a folder"):
        data.read_idx(tmp_path)
    (tmp_path / "t.gz").write_text("not gzip")
    with pytest.raises(ValueError, match=r"t.gz is not a complete gzip file"):
        data.read_idx(tmp_path / "t.gz")


@pytest.mark.parametrize(
    "images",
    [np.zeros((3, 10, 10), np.uint8), np.zeros((3, 28, 28), np.int32)],
    ids=["10x10", "int32"],
)
def test_load_mnist_rejects_non_mnist_images(tmp_path, images):
    img, lab = data.MNIST_FILES["test"]
    if images.dtype == np.uint8:
        data.write_idx(tmp_path / img, images)
    else:  # an IDX file of big-endian int32 (type code 0x0C)
        header = bytes([0, 0, 0x0C, 3]) + struct.pack(">3I", *images.shape)
        (tmp_path / img).write_bytes(header + images.astype(">i4").tobytes())
    data.write_idx(tmp_path / lab, np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="MNIST images are 28x28 unsigned bytes"):
        data.load_mnist(tmp_path, "test")


@pytest.mark.parametrize(
    "call",
    [
        lambda: data.load_binarized_digits(threshold="abc"),
        lambda: data.load_mnist(".", "test", threshold="abc"),
    ],
    ids=["digits", "mnist"],
)
def test_threshold_must_be_a_number(call):
    with pytest.raises(TypeError, match="threshold must be a number"):
        call()


# --------------------------------------------------------------------------- file errors name the path


def test_idx_file_errors_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="path .* does not exist"):
        data.read_idx(tmp_path / "missing-idx1-ubyte")
    with pytest.raises(ValueError, match="path .* existing folder"):
        data.write_idx(tmp_path / "nope" / "x-idx1-ubyte", np.zeros(2, np.uint8))
    with pytest.raises(ValueError, match="path .* existing folder"):
        data.write_idx(tmp_path, np.zeros(2, np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_load_mnist_refuses_an_integer_dtype_and_int32_images(tmp_path):
    data.write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(2, np.uint8))
    pixels = np.zeros((2, 28, 28), ">i4")
    (tmp_path / "train-images-idx3-ubyte").write_bytes(
        bytes([0, 0, 0x0C, 3]) + np.array([2, 28, 28], ">u4").tobytes() + pixels.tobytes()
    )
    with pytest.raises(TypeError, match="dtype must be a floating torch dtype"):
        data.load_mnist(tmp_path, dtype=torch.int64)
    with pytest.raises(ValueError, match="28x28 unsigned bytes"):
        data.load_mnist(tmp_path)
