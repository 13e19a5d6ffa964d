"""The variational autoencoder (chapter 9): images, reconstructions, latent space, gradient variances.

Every helper draws inside ``lecture9.plotting.style`` and returns the ``Figure``.
Images are given as flat rows (``(N, H * W)``, pixel values or probabilities in
``[0, 1]``) together with ``image_shape`` (``(8, 8)`` for the digits, ``(28, 28)``
for MNIST). The VAE's computation graph is in :mod:`lecture9.plotting.graphs`,
its learning curves in :mod:`lecture9.plotting.optimization`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._validation import check_array, check_float, check_int, check_public_functions
from .common import as_numpy, color, display_name, figure, style

__all__ = [
    "plot_image_grid",
    "plot_reconstructions",
    "plot_latent_scatter",
    "plot_latent_traversal",
    "plot_gradient_variance_bars",
]

_DIGIT_CMAP = "tab10"


def _tile(images: np.ndarray, nrows: int, ncols: int, image_shape, pad: int = 1) -> np.ndarray:
    h, w = image_shape
    canvas = np.ones((nrows * (h + pad) + pad, ncols * (w + pad) + pad))
    for k, img in enumerate(images[: nrows * ncols]):
        r, c = divmod(k, ncols)
        canvas[
            pad + r * (h + pad) : pad + r * (h + pad) + h,
            pad + c * (w + pad) : pad + c * (w + pad) + w,
        ] = 1.0 - img.reshape(h, w)
    return canvas


def _int_pair(value, name: str, *, minimum: int = 1, maximum: int = 10**4) -> tuple[int, int]:
    """Two integers in ``[minimum, maximum]`` (an image shape, two latent coordinates)."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise TypeError(f"{name} must be a pair of integers, got {value!r:.60}")
    first, second = (check_int(v, name, minimum=minimum, maximum=maximum) for v in value)
    return first, second


def _show(ax, canvas, title=None):
    ax.imshow(canvas, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title)


def plot_image_grid(
    images,
    *,
    image_shape=(8, 8),
    ncols: int = 10,
    title: str | None = None,
    ax=None,
    width: float = 7.0,
):
    """Show flat images in a grid (dark = pixel on), e.g. samples from the prior.

    Raises:
        ValueError: if the images do not have ``H * W`` pixels.

    Shapes:
        ``images``: ``(N, H * W)``.
    """
    arr = check_array(images, "images")
    h, w = image_shape = _int_pair(image_shape, "image_shape")
    ncols = check_int(ncols, "ncols", minimum=1, maximum=10**4)
    width = check_float(width, "width", minimum=0.0, strict=True)
    if arr.ndim != 2 or arr.shape[1] != h * w:
        raise ValueError(
            f"images must have shape (N, {h * w}) for image_shape {image_shape}, got {arr.shape}"
        )
    ncols = min(ncols, len(arr))
    nrows = math.ceil(len(arr) / ncols)
    if ax is None:
        _, ax = figure(1, 1, width=width, height=width * nrows / ncols * (h + 1) / (w + 1) + 0.4)
    with style():
        _show(ax, _tile(arr, nrows, ncols, image_shape), title)
    return ax.figure


def plot_reconstructions(inputs, reconstructions, *, image_shape=(8, 8), width: float = 7.0):
    """Inputs (top row) above their reconstructions (bottom row).

    Raises:
        ValueError: if the two arrays differ in shape.

    Shapes:
        ``inputs``, ``reconstructions``: ``(N, H * W)``.
    """
    a, b = check_array(inputs, "inputs"), check_array(reconstructions, "reconstructions")
    width = check_float(width, "width", minimum=0.0, strict=True)
    if a.shape != b.shape:
        raise ValueError(
            f"inputs and reconstructions must have the same shape, got {a.shape} and {b.shape}"
        )
    n = len(a)
    h, w = image_shape = _int_pair(image_shape, "image_shape")
    fig, axes = figure(2, 1, width=width, height=2 * width / n * (h + 1) / (w + 1) + 0.9)
    with style():
        _show(axes[0], _tile(a, 1, n, image_shape), "inputs $x$")
        _show(
            axes[1],
            _tile(b, 1, n, image_shape),
            r"reconstructions $p_\theta(x \mid z = \mu_\phi(x))$",
        )
    return fig


def plot_latent_scatter(z, labels, *, ax=None, width: float = 5.5, title: str | None = None):
    """Scatter of 2-D latent codes (e.g. the encoder means) coloured by digit label.

    Raises:
        ValueError: if ``z`` is not ``(N, 2)`` or ``labels`` has another length.

    Shapes:
        ``z``: ``(N, 2)``; ``labels``: ``(N,)``.
    """
    zz, yy = check_array(z, "z"), check_array(labels, "labels", ndim=1).astype(int)
    width = check_float(width, "width", minimum=0.0, strict=True)
    if zz.ndim != 2 or zz.shape[1] != 2 or len(yy) != len(zz):
        raise ValueError(f"z must have shape (N, 2) and labels (N,), got {zz.shape} and {yy.shape}")
    if ax is None:
        _, ax = figure(1, 1, width=width, height=width * 0.85)
    with style():
        sc = ax.scatter(
            zz[:, 0], zz[:, 1], c=yy, cmap=_DIGIT_CMAP, vmin=-0.5, vmax=9.5, s=9, alpha=0.8
        )
        cbar = ax.figure.colorbar(sc, ax=ax, ticks=range(10))
        cbar.set_label("digit")
        ax.set_xlabel(r"$z_1$ (encoder mean)")
        ax.set_ylabel(r"$z_2$ (encoder mean)")
        ax.set_aspect("equal", adjustable="datalim")
        if title:
            ax.set_title(title)
    return ax.figure


@torch.no_grad()
def plot_latent_traversal(
    model, *, dims=(0, 1), values=None, image_shape=(8, 8), width: float = 6.0
):
    """Decode a grid of latent codes: ``z[dims[0]]`` varies along columns, ``z[dims[1]]`` along rows.

    The other coordinates stay at 0 (the prior mean). For a 2-D latent space this
    shows the whole learned manifold.

    Raises:
        ValueError: if ``dims`` are not two distinct coordinates of the latent space.

    Shapes:
        Decodes ``len(values) ** 2`` codes of shape ``(latent_dim,)``.
    """
    if not isinstance(model, torch.nn.Module) or not hasattr(model, "latent_dim"):
        raise TypeError(
            f"model must be a VAE (a torch Module with latent_dim and decode), got {model!r:.60}"
        )
    d0, d1 = _int_pair(dims, "dims", minimum=0)
    h, w = image_shape = _int_pair(image_shape, "image_shape")
    if d0 == d1 or not (0 <= d0 < model.latent_dim and 0 <= d1 < model.latent_dim):
        raise ValueError(
            f"dims must be two distinct coordinates in [0, {model.latent_dim}), got {dims}"
        )
    vals = (
        torch.linspace(-2.5, 2.5, 9)
        if values is None
        else torch.as_tensor(check_array(values, "values", ndim=1), dtype=torch.float32)
    )
    p = next(model.parameters())
    n = len(vals)
    z = torch.zeros(n, n, model.latent_dim, dtype=p.dtype, device=p.device)
    z[:, :, d0] = vals.to(p).reshape(1, n)
    z[:, :, d1] = vals.flip(0).to(p).reshape(n, 1)  # larger z[d1] at the top
    probs = torch.sigmoid(model.decode(z.reshape(n * n, -1)))
    fig, ax = figure(1, 1, width=width, height=width)
    with style():
        ax.imshow(
            _tile(as_numpy(probs), n, n, image_shape),
            cmap="gray",
            vmin=0,
            vmax=1,
            interpolation="nearest",
        )
        ticks = [1 + k * (w + 1) + (w - 1) / 2 for k in range(n)]
        ax.set_xticks(ticks, [f"{v:.1f}" for v in vals.tolist()])
        ax.set_yticks(
            [1 + k * (h + 1) + (h - 1) / 2 for k in range(n)],
            [f"{v:.1f}" for v in vals.flip(0).tolist()],
        )
        ax.set_xlabel(f"$z_{{{d0 + 1}}}$")
        ax.set_ylabel(f"$z_{{{d1 + 1}}}$")
        ax.grid(False)
    return fig


def plot_gradient_variance_bars(
    variances: dict,
    *,
    ax=None,
    width: float = 6.0,
    ylabel: str = "total variance of the encoder gradient",
):
    """Bar chart (log scale) of encoder-gradient variances of several estimators at the same parameters.

    Raises:
        ValueError: if ``variances`` is empty or holds a non-positive value.

    Shapes:
        Not tensor-valued.
    """
    if not variances:
        raise ValueError("variances must hold at least one estimator")
    labels = list(variances)
    vals = [float(variances[k]) for k in labels]
    if any(not v > 0 for v in vals):
        raise ValueError(f"variances must be > 0 to be drawn on a log scale, got {vals}")
    if ax is None:
        _, ax = figure(1, 1, width=width, height=3.0)
    with style():
        bars = ax.bar(range(len(labels)), vals, color=[color(k, i) for i, k in enumerate(labels)])
        ax.set_yscale("log")
        ax.set_ylim(min(vals) / 10, max(vals) * 3)  # every bar visible, room for its value
        ax.set_xticks(range(len(labels)), [display_name(k) for k in labels])
        ax.set_ylabel(ylabel)
        for bar, v in zip(bars, vals):
            ax.annotate(
                f"{v:.3g}",
                (bar.get_x() + bar.get_width() / 2, v),
                ha="center",
                va="bottom",
                fontsize=9,
            )
    return ax.figure


check_public_functions(globals())  # each public function checks its annotated arguments
