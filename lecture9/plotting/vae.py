"""Figure helpers of the VAE chapter: images, latent space, learning curves, gradient variances.

Introduced in chapter 9, *Training a variational autoencoder*.

Every helper draws inside ``lecture9.plotting.style``, never changes global
matplotlib state and returns the ``Figure`` it drew. Images are given as flat
rows (``(N, H * W)``, pixel values or probabilities in ``[0, 1]``) together with
``image_shape`` (``(8, 8)`` for the digits, ``(28, 28)`` for MNIST).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .common import ESTIMATOR_COLORS, figure, style
from .graphs import reparameterization_graph

__all__ = [
    "encoder_reparameterization_graph",
    "vae_computation_graph",
    "image_grid",
    "reconstruction_grid",
    "latent_scatter",
    "latent_traversal",
    "learning_curves",
    "gradient_variance_bars",
]

_DIGIT_CMAP = "tab10"
_FALLBACK_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


def _numpy(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().double().numpy()
    return np.asarray(values, dtype=float)


#: Display names of estimator labels (others: underscores become spaces).
_DISPLAY_NAMES = {"score_function_baseline": "score function + baseline"}


def _display(label: str) -> str:
    return _DISPLAY_NAMES.get(label, label.replace("_", " "))


def _color(label: str, index: int) -> str:
    return ESTIMATOR_COLORS.get(label, _FALLBACK_COLORS[index % len(_FALLBACK_COLORS)])


def encoder_reparameterization_graph(*, width: float = 7.0, height: float = 3.6):
    """The graph before and after reparameterization, with the encoder's parameters labelled :math:`\\phi`.

    The figure of :func:`lecture9.plotting.reparameterization_graph` (chapter 5,
    where the parameters are called :math:`\\varphi`), labelled with chapter 9's
    notation: the parameters are the encoder's :math:`\\phi`, which give the mean
    :math:`\\mu` and scale :math:`\\sigma` of :math:`q_\\phi(z \\mid x)`.

    Introduced in chapter 9, *Training a variational autoencoder*.

    Args:
        width: figure width in inches.
        height: figure height in inches.

    Returns:
        The ``Figure``, two panels and a legend.

    Shapes:
        Not tensor-valued.
    """
    return reparameterization_graph(width=width, height=height, param_label=r"$\phi$")


def vae_computation_graph(*, estimator: str = "pathwise", width: float = 7.0, height: float = 3.8):
    """Draw the VAE's stochastic computation graph and where the encoder's gradient flows.

    Nodes: the data :math:`x`, the encoder parameters :math:`\\phi`, the encoder
    outputs :math:`\\mu, \\sigma`, the noise :math:`\\epsilon`, the code
    :math:`z = \\mu + \\sigma\\epsilon`, the decoder parameters :math:`\\theta`, the
    logits :math:`\\ell` and the reconstruction term :math:`\\log p_\\theta(x \\mid z)`.
    With ``estimator="pathwise"`` the gradient flows from the cost through
    :math:`z` into :math:`\\mu, \\sigma` and :math:`\\phi`; with
    ``"score_function"`` :math:`z` is a random node sampled from
    :math:`q_\\phi(z \\mid x)` and the path from :math:`\\mu, \\sigma` to
    :math:`z` is blocked (the encoder then learns only through the score
    :math:`\\nabla_\\phi \\log q_\\phi(z \\mid x)`).

    Introduced in chapter 9, *Training a variational autoencoder*; drawn with
    :func:`lecture9.plotting.draw_computation_graph`.

    Args:
        estimator: ``"pathwise"`` or ``"score_function"``.
        width: figure width in inches.
        height: figure height in inches.

    Returns:
        The ``Figure``.

    Raises:
        ValueError: on an unknown ``estimator``.

    Shapes:
        Not tensor-valued.
    """
    from .graphs import draw_computation_graph

    if estimator not in ("pathwise", "score_function"):
        raise ValueError(f"estimator must be 'pathwise' or 'score_function', got {estimator!r}")
    pathwise = estimator == "pathwise"
    nodes = {
        "x": (0.0, 1.0, "deterministic", r"$x$"),
        "phi": (0.0, -0.6, "parameter", r"$\phi$"),
        "mu": (1.6, 1.8, "deterministic", r"$\mu$"),
        "sigma": (1.6, 0.2, "deterministic", r"$\sigma$"),
        "z": (3.2, 1.0, "deterministic" if pathwise else "random", r"$z$"),
        "theta": (4.8, 2.6, "parameter", r"$\theta$"),
        "logits": (4.8, 1.0, "deterministic", r"$\ell$"),
        "cost": (6.4, 1.0, "deterministic", r"$\mathcal{L}$"),
    }
    edges = [("x", "mu"), ("x", "sigma"), ("phi", "mu"), ("phi", "sigma"), ("mu", "z"), ("sigma", "z"),
             ("z", "logits"), ("theta", "logits"), ("logits", "cost")]
    annotations = {"cost": r"$\log p_\theta(x \mid z)$", "logits": "decoder"}
    if pathwise:
        nodes["eps"] = (3.2, -0.6, "random", r"$\epsilon$")
        edges.append(("eps", "z"))
        annotations["eps"] = r"$\mathcal{N}(0, I)$"
        gradient = [("logits", "cost"), ("z", "logits"), ("theta", "logits"), ("mu", "z"), ("sigma", "z"),
                    ("phi", "mu"), ("phi", "sigma")]
        blocked = []
        title = r"pathwise: $z = \mu + \sigma\epsilon$, gradients reach $\phi$ through $z$"
    else:
        gradient = [("logits", "cost"), ("theta", "logits")]
        blocked = [("mu", "z"), ("sigma", "z")]
        annotations["z"] = r"$z \sim q_\phi(z \mid x)$"
        title = r"score function: $z$ is sampled, the path to $\phi$ is cut"
    fig, ax = figure(1, 1, width=width, height=height)
    draw_computation_graph(ax, nodes, edges, gradient_edges=gradient, blocked_edges=blocked, title=title,
                           annotations=annotations)
    with style():
        ax.set_xlim(-0.9, 7.4)
        ax.set_ylim(-1.7, 3.4)
    return fig


def _tile(images: np.ndarray, nrows: int, ncols: int, image_shape, pad: int = 1) -> np.ndarray:
    h, w = image_shape
    canvas = np.ones((nrows * (h + pad) + pad, ncols * (w + pad) + pad))
    for k, img in enumerate(images[: nrows * ncols]):
        r, c = divmod(k, ncols)
        canvas[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = (
            1.0 - img.reshape(h, w)
        )
    return canvas


def _show(ax, canvas, title=None):
    ax.imshow(canvas, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title)


def image_grid(images, *, image_shape=(8, 8), ncols: int = 10, title: str | None = None, ax=None, width: float = 7.0):
    """Show flat images in a grid (dark = pixel on), e.g. samples from the prior.

    Args:
        images: ``(N, H * W)`` values in ``[0, 1]`` (probabilities or 0/1 pixels).
        image_shape: ``(H, W)``.
        ncols: images per row.
        title: axes title.
        ax: axes to draw on (default: a new figure).
        width: figure width in inches for a new figure.

    Returns:
        The ``Figure``.

    Raises:
        ValueError: if the images do not have ``H * W`` pixels.

    Shapes:
        ``images``: ``(N, H * W)``.
    """
    arr = _numpy(images)
    h, w = image_shape
    if arr.ndim != 2 or arr.shape[1] != h * w:
        raise ValueError(f"images must have shape (N, {h * w}) for image_shape {image_shape}, got {arr.shape}")
    ncols = min(ncols, len(arr))
    nrows = math.ceil(len(arr) / ncols)
    if ax is None:
        _, ax = figure(1, 1, width=width, height=width * nrows / ncols * (h + 1) / (w + 1) + 0.4)
    with style():
        _show(ax, _tile(arr, nrows, ncols, image_shape), title)
    return ax.figure


def reconstruction_grid(inputs, reconstructions, *, image_shape=(8, 8), width: float = 7.0):
    """Inputs (top row) above their reconstructions (bottom row).

    Args:
        inputs: ``(N, H * W)`` binary images.
        reconstructions: ``(N, H * W)`` decoder probabilities, e.g. ``model.reconstruct(inputs)``.
        image_shape: ``(H, W)``.
        width: figure width in inches.

    Returns:
        The ``Figure``.

    Raises:
        ValueError: if the two arrays differ in shape.

    Shapes:
        ``inputs``, ``reconstructions``: ``(N, H * W)``.
    """
    a, b = _numpy(inputs), _numpy(reconstructions)
    if a.shape != b.shape:
        raise ValueError(f"inputs and reconstructions must have the same shape, got {a.shape} and {b.shape}")
    n = len(a)
    h, w = image_shape
    fig, axes = figure(2, 1, width=width, height=2 * width / n * (h + 1) / (w + 1) + 0.9)
    with style():
        _show(axes[0], _tile(a, 1, n, image_shape), "inputs $x$")
        _show(axes[1], _tile(b, 1, n, image_shape), r"reconstructions $p_\theta(x \mid z = \mu_\phi(x))$")
    return fig


def latent_scatter(z, labels, *, ax=None, width: float = 5.5, title: str | None = None):
    """Scatter of 2-D latent codes (e.g. the encoder means) coloured by digit label.

    Args:
        z: ``(N, 2)`` latent codes.
        labels: ``(N,)`` integer labels 0-9.
        ax: axes to draw on (default: a new figure).
        width: figure width in inches for a new figure.
        title: axes title.

    Returns:
        The ``Figure``.

    Raises:
        ValueError: if ``z`` is not ``(N, 2)`` or ``labels`` has another length.

    Shapes:
        ``z``: ``(N, 2)``; ``labels``: ``(N,)``.
    """
    zz, yy = _numpy(z), _numpy(labels).astype(int)
    if zz.ndim != 2 or zz.shape[1] != 2 or len(yy) != len(zz):
        raise ValueError(f"z must have shape (N, 2) and labels (N,), got {zz.shape} and {yy.shape}")
    if ax is None:
        _, ax = figure(1, 1, width=width, height=width * 0.85)
    with style():
        sc = ax.scatter(zz[:, 0], zz[:, 1], c=yy, cmap=_DIGIT_CMAP, vmin=-0.5, vmax=9.5, s=9, alpha=0.8)
        cbar = ax.figure.colorbar(sc, ax=ax, ticks=range(10))
        cbar.set_label("digit")
        ax.set_xlabel(r"$z_1$ (encoder mean)")
        ax.set_ylabel(r"$z_2$ (encoder mean)")
        ax.set_aspect("equal", adjustable="datalim")
        if title:
            ax.set_title(title)
    return ax.figure


@torch.no_grad()
def latent_traversal(model, *, dims=(0, 1), values=None, image_shape=(8, 8), width: float = 6.0):
    """Decode a grid of latent codes: ``z[dims[0]]`` varies along columns, ``z[dims[1]]`` along rows.

    The other coordinates stay at 0 (the prior mean). For a 2-D latent space this
    shows the whole learned manifold.

    Args:
        model: a :class:`lecture9.vae.VAE`.
        dims: the two latent coordinates to vary.
        values: the values taken by each (default: 9 points from -2.5 to 2.5, i.e.
            covering most of the prior's mass).
        image_shape: ``(H, W)`` of the decoded images.
        width: figure width in inches.

    Returns:
        The ``Figure``.

    Raises:
        ValueError: if ``dims`` are not two distinct coordinates of the latent space.

    Shapes:
        Decodes ``len(values) ** 2`` codes of shape ``(latent_dim,)``.
    """
    d0, d1 = dims
    if d0 == d1 or not (0 <= d0 < model.latent_dim and 0 <= d1 < model.latent_dim):
        raise ValueError(f"dims must be two distinct coordinates in [0, {model.latent_dim}), got {dims}")
    vals = torch.linspace(-2.5, 2.5, 9) if values is None else torch.as_tensor(values, dtype=torch.float32)
    p = next(model.parameters())
    n = len(vals)
    z = torch.zeros(n, n, model.latent_dim, dtype=p.dtype, device=p.device)
    z[:, :, d0] = vals.to(p).reshape(1, n)
    z[:, :, d1] = vals.flip(0).to(p).reshape(n, 1)  # larger z[d1] at the top
    probs = torch.sigmoid(model.decode(z.reshape(n * n, -1)))
    h, w = image_shape
    fig, ax = figure(1, 1, width=width, height=width)
    with style():
        ax.imshow(_tile(_numpy(probs), n, n, image_shape), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ticks = [1 + k * (w + 1) + (w - 1) / 2 for k in range(n)]
        ax.set_xticks(ticks, [f"{v:.1f}" for v in vals.tolist()])
        ax.set_yticks([1 + k * (h + 1) + (h - 1) / 2 for k in range(n)], [f"{v:.1f}" for v in vals.flip(0).tolist()])
        ax.set_xlabel(f"$z_{{{d0 + 1}}}$")
        ax.set_ylabel(f"$z_{{{d1 + 1}}}$")
        ax.grid(False)
    return fig


def learning_curves(histories: dict, *, key: str = "test_elbo", ylabel: str = "test ELBO (nats)",
                    time_axis: bool = True, width: float = 7.0, ylim=None):
    """Learning curves of several runs: ``key`` against epochs and (optionally) against training time.

    Args:
        histories: label -> history dict from :func:`lecture9.training.train`
            (needs ``"epoch"``, ``"time"`` and ``key``). Labels that are keys of
            ``lecture9.plotting.ESTIMATOR_COLORS`` get the book's estimator colours.
        key: which history entry to plot (``"test_elbo"``, ``"train_elbo"``, ...).
        ylabel: its axis label.
        time_axis: add a second panel against cumulative training time (seconds).
        width: figure width in inches.
        ylim: optional ``(low, high)`` for the value axis.

    Returns:
        The ``Figure``.

    Raises:
        ValueError: if ``histories`` is empty.

    Shapes:
        Each history entry is a list with one value per epoch.
    """
    if not histories:
        raise ValueError("histories must hold at least one run")
    fig, axes = figure(1, 2 if time_axis else 1, width=width, height=3.0)
    axes = np.atleast_1d(axes)
    with style():
        for i, (label, hist) in enumerate(histories.items()):
            color = _color(label, i)
            axes[0].plot(hist["epoch"], hist[key], color=color, label=_display(label))
            if time_axis:
                axes[1].plot(hist["time"], hist[key], color=color, label=_display(label))
        axes[0].set_xlabel("epoch")
        axes[0].set_ylabel(ylabel)
        if time_axis:
            axes[1].set_xlabel("training time (s)")
            axes[1].set_ylabel(ylabel)
        for ax in axes:
            if ylim is not None:
                ax.set_ylim(*ylim)
        axes[0].legend(loc="lower right")
    return fig


def gradient_variance_bars(variances: dict, *, ax=None, width: float = 6.0,
                           ylabel: str = "total variance of the encoder gradient"):
    """Bar chart (log scale) of encoder-gradient variances of several estimators at the same parameters.

    Args:
        variances: label -> total variance (a number).
        ax: axes to draw on (default: a new figure).
        width: figure width in inches.
        ylabel: axis label.

    Returns:
        The ``Figure``.

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
        bars = ax.bar(range(len(labels)), vals, color=[_color(k, i) for i, k in enumerate(labels)])
        ax.set_yscale("log")
        ax.set_ylim(min(vals) / 10, max(vals) * 3)  # every bar visible, room for its value
        ax.set_xticks(range(len(labels)), [_display(k) for k in labels])
        ax.set_ylabel(ylabel)
        for bar, v in zip(bars, vals):
            ax.annotate(f"{v:.3g}", (bar.get_x() + bar.get_width() / 2, v), ha="center", va="bottom", fontsize=9)
    return ax.figure
