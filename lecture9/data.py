"""Binarized image data for the VAE chapter: scikit-learn's 8x8 digits and MNIST.

Introduced in chapter 9, *Training a variational autoencoder*.

Everything here works offline. :func:`load_binarized_digits` uses the 8x8
handwritten digits bundled with scikit-learn (no download), the default data set
of the chapter, the tests and the benchmark. :func:`load_mnist` reads MNIST from
IDX files the user has put on disk (gzipped or not, in the torchvision
``MNIST/raw`` layout or a plain folder); it never downloads anything and, when
files are missing, raises a :class:`FileNotFoundError` that says exactly which
files to put where.
"""

from __future__ import annotations

import gzip
import math
import numbers
import os
import struct
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from ._validation import check_generator, check_path

__all__ = [
    "BinarizedDigits",
    "DIGITS_TRAIN_SIZE",
    "MNIST_FILES",
    "load_binarized_digits",
    "load_mnist",
    "read_idx",
    "write_idx",
]

#: Number of rows of the standard digits split used for training (the rest, 297 rows, is the test set).
DIGITS_TRAIN_SIZE = 1500

#: The standard MNIST IDX file names of each split, images then labels (optionally with ``.gz``).
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# IDX type codes -> numpy big-endian dtypes.
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class BinarizedDigits(NamedTuple):
    """The binarized digits split; unpacks as ``x_train, y_train, x_test, y_test``.

    Shapes:
        ``x_train``: ``(1500, 64)`` float 0/1; ``y_train``: ``(1500,)`` int64 digit labels;
        ``x_test``: ``(297, 64)``; ``y_test``: ``(297,)``.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def _check_dtype(dtype) -> None:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            f"dtype must be a floating torch dtype such as torch.float32, got {dtype!r}"
        )


def load_binarized_digits(
    *, threshold: float = 8.0, dtype: torch.dtype = torch.float32
) -> BinarizedDigits:
    r"""Load scikit-learn's 8x8 digits binarized (a pixel is 1 above ``threshold`` of 16), in the standard split.

    Train: the first 1500 images; test: the last 297. Shipped with scikit-learn: nothing is downloaded.

    Raises:
        ValueError: if ``threshold`` is outside ``[0, 16)``.
        TypeError: if ``dtype`` is not a floating dtype.

    Shapes:
        ``x_train``: ``(1500, 64)``, ``y_train``: ``(1500,)``, ``x_test``: ``(297, 64)``, ``y_test``: ``(297,)``.
    """
    from sklearn.datasets import load_digits

    _check_threshold(threshold)
    if not (0.0 <= float(threshold) < 16.0):
        raise ValueError(
            f"threshold must be in [0, 16) (grey levels of 16), got {threshold}; the standard is 8"
        )
    _check_dtype(dtype)
    digits = load_digits()
    x = torch.as_tensor(digits.data > threshold).to(dtype)
    y = torch.as_tensor(digits.target, dtype=torch.int64)
    n = DIGITS_TRAIN_SIZE
    return BinarizedDigits(
        x[:n].contiguous(), y[:n].contiguous(), x[n:].contiguous(), y[n:].contiguous()
    )


def _check_threshold(threshold) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise TypeError(f"threshold must be a number, got {threshold!r}")
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold}")


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped (``.gz``) or not.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if ``path`` is a folder or not a valid IDX file (bad magic number,
            unknown type code, a size that does not match the header, or a ``.gz``
            file that is not gzip or is truncated).
    """
    path = check_path(path, "path")
    if path.is_dir():
        raise ValueError(f"{path} is a folder; read_idx needs the path of an IDX file")
    if not path.exists():
        raise FileNotFoundError(
            f"path {path} does not exist; read_idx needs the path of an IDX file"
        )
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise ValueError(
            f"{path} is not a complete gzip file ({err}); download or unpack it again"
        ) from err
    except OSError as err:
        raise ValueError(f"path {path} cannot be read ({err.strerror or err})") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file: its first two bytes must be zero")
    type_code, ndim = raw[2], raw[3]
    if type_code not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{type_code:02x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = _IDX_DTYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: the header announces shape {shape} ({expected} bytes of data) "
            f"but the file holds {len(raw) - header} bytes; the file is truncated or corrupt"
        )
    return (
        np.frombuffer(raw, dtype=dtype, offset=header)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )


def write_idx(path: str | os.PathLike, array) -> Path:
    """Write an unsigned-byte array as an IDX file (gzipped when ``path`` ends in ``.gz``).

    The inverse of :func:`read_idx` for ``uint8`` data; the tests use it to write
    tiny MNIST-like files.

    Raises:
        TypeError: if ``array`` is not numeric.
        ValueError: if ``array`` has values outside ``[0, 255]`` or that are not whole numbers, or
            ``path`` is a folder, lies in a missing folder or cannot be written.
    """
    path = check_path(path, "path")
    array = np.asarray(array)
    if (
        not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating))
        or array.dtype == bool
    ):
        raise TypeError(f"array must hold integers in [0, 255], got dtype {array.dtype}")
    if array.size and not np.isfinite(array).all():
        raise ValueError("array must hold integers in [0, 255], got NaN or inf")
    if array.size and (array.min() < 0 or array.max() > 255):
        raise ValueError("array must hold values in [0, 255] to be written as unsigned bytes")
    if (
        array.size
        and np.issubdtype(array.dtype, np.floating)
        and not (array == np.round(array)).all()
    ):
        raise ValueError(
            "array must hold whole numbers in [0, 255]; got fractional values (round them first)"
        )
    array = array.astype(np.uint8)
    payload = (
        bytes([0, 0, 0x08, array.ndim])
        + struct.pack(f">{array.ndim}I", *array.shape)
        + array.tobytes()
    )
    if path.is_dir() or not path.parent.is_dir():
        raise ValueError(
            f"path {path} must name a file in an existing folder; create {path.parent} first"
        )
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "wb") as f:
            f.write(payload)
    except OSError as err:
        raise ValueError(f"path {path} cannot be written ({err.strerror or err})") from err
    return path


def _candidate_dirs(root: Path) -> list[Path]:
    return [root / "MNIST" / "raw", root / "raw", root]


def _find(root: Path, name: str) -> Path | None:
    for folder in _candidate_dirs(root):
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def load_mnist(
    root: str | os.PathLike,
    split: str = "train",
    *,
    binarize: str = "threshold",
    threshold: float = 0.5,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Load binarized MNIST (28x28, flattened to 784) from local IDX files; nothing is downloaded.

    The files keep their standard names (``train-images-idx3-ubyte``, ..., optionally
    ``.gz``) in ``root/MNIST/raw`` (torchvision's layout), ``root/raw`` or ``root``.
    ``binarize="threshold"`` sets a pixel to 1 above ``threshold`` (intensities in [0, 1]);
    ``"stochastic"`` draws it from a Bernoulli of that probability with ``generator``.

    Raises:
        FileNotFoundError: if a file of the split is missing (the message names it).
        ValueError: on an unknown ``split`` or ``binarize``, a bad ``threshold``, files that
            do not match, images that are not 28x28 bytes, or an unreadable file.
        TypeError: if ``generator`` is not a ``torch.Generator`` or ``dtype`` not floating.

    Shapes:
        ``images``: ``(N, 784)``; ``labels``: ``(N,)``.
    """
    if split not in MNIST_FILES:
        raise ValueError(f"split must be one of {sorted(MNIST_FILES)}, got {split!r}")
    if binarize not in ("threshold", "stochastic"):
        raise ValueError(f"binarize must be 'threshold' or 'stochastic', got {binarize!r}")
    _check_threshold(threshold)
    _check_dtype(dtype)
    if not (0.0 <= float(threshold) < 1.0):
        raise ValueError(f"threshold must be in [0, 1), got {threshold}; the usual value is 0.5")
    check_generator(generator)
    root = check_path(root, "root")
    names = MNIST_FILES[split]
    found = {name: _find(root, name) for name in names}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        wanted = ", ".join(f"{name}.gz" for name in missing)
        raise FileNotFoundError(
            f"MNIST {split} split: missing {wanted} (gzipped or not) under {root}. "
            f"Put the file(s) {wanted} in {root / 'MNIST' / 'raw'} (the torchvision layout) or directly in {root}; "
            f"they are the official files from http://yann.lecun.com/exdb/mnist/ (lecture9 never downloads). "
            f"Searched: {', '.join(str(d) for d in _candidate_dirs(root))}"
        )
    images = read_idx(found[names[0]])
    labels = read_idx(found[names[1]])
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"MNIST {split} files do not match: images of shape {images.shape} and labels of shape "
            f"{labels.shape}; expected (N, 28, 28) and (N,)"
        )
    if images.shape[1:] != (28, 28) or images.dtype != np.uint8 or labels.dtype != np.uint8:
        raise ValueError(
            f"MNIST {split} files hold images of shape {images.shape[1:]} and dtype {images.dtype} (labels "
            f"{labels.dtype}); MNIST images are 28x28 unsigned bytes: use the official files"
        )
    intensity = torch.as_tensor(images.reshape(images.shape[0], -1), dtype=dtype) / 255.0
    if binarize == "threshold":
        x = (intensity > threshold).to(dtype)
    else:
        x = torch.bernoulli(intensity, generator=generator)
    return x, torch.as_tensor(labels, dtype=torch.int64)
