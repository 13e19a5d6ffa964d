"""The VAE's encoder gradient along its two paths: blocked backpropagation and REINFORCE.

Introduced in chapter 9, *Training a variational autoencoder*.

When :math:`z` is *sampled* from :math:`q_\\phi(z \\mid x)`, plain backpropagation from
the cost stops at the sample: the edges from :math:`\\mu, \\sigma` to :math:`z` carry
no derivative. REINFORCE (the score-function estimator) reaches :math:`\\phi` along a
different path: through :math:`\\log q_\\phi(z \\mid x)`, evaluated at the sample, in the
surrogate :math:`(\\log p_\\theta(x \\mid z) - b)\\,\\log q_\\phi(z \\mid x)` whose first factor
is detached (a value, not a path). Drawn with
:func:`lecture9.plotting.plot_computation_graph` (random nodes circles, deterministic
nodes squares, parameters diamonds; Schulman et al., 2015).
"""

from __future__ import annotations

from matplotlib.lines import Line2D

from .common import GRAPH_COLORS, figure, style
from .graphs import plot_computation_graph

__all__ = ["plot_vae_gradient_paths"]

_NODES = {
    "x": (0.0, 1.9, "deterministic", r"$x$"),
    "phi": (0.0, 0.1, "parameter", r"$\phi$"),
    "mu": (1.5, 1.9, "deterministic", r"$\mu$"),
    "sigma": (1.5, 0.1, "deterministic", r"$\sigma$"),
    "z": (3.0, 1.0, "random", r"$z$"),
    "theta": (4.5, 2.6, "parameter", r"$\theta$"),
    "logits": (4.5, 1.0, "deterministic", r"$\ell$"),
    "cost": (6.0, 1.0, "deterministic", r"$\mathcal{L}$"),
}
_EDGES = [("x", "mu"), ("x", "sigma"), ("phi", "mu"), ("phi", "sigma"), ("mu", "z"), ("sigma", "z"),
          ("z", "logits"), ("theta", "logits"), ("logits", "cost")]
_DECODER_PATH = [("logits", "cost"), ("theta", "logits")]


def plot_vae_gradient_paths(*, width: float = 7.0, height: float = 6.4):
    """Two panels: naive backpropagation blocked at the sample (top) and REINFORCE through log q (bottom).

    Top: the gradient of :math:`\\mathcal{L} = \\log p_\\theta(x \\mid z)` flows back to the
    decoder's :math:`\\theta` and to :math:`z`, and stops there (crossed-out edges
    :math:`\\mu, \\sigma \\to z`). Bottom: the surrogate
    :math:`\\mathcal{S} = (\\mathcal{L} - b)\\,\\log q_\\phi(z \\mid x)` adds a node
    :math:`q` (standing for :math:`\\log q_\\phi(z \\mid x)`) fed by :math:`\\mu`, :math:`\\sigma` and the sample :math:`z`; its
    gradient flows through :math:`\\log q` into :math:`\\mu, \\sigma` and :math:`\\phi`,
    while :math:`\\mathcal{L}` enters :math:`\\mathcal{S}` detached (crossed out: a value,
    not a path) and the sample still blocks the path through :math:`z`.

    Introduced in chapter 9, *Training a variational autoencoder*; Williams (1992),
    Schulman et al. (2015), Mohamed et al. (2020), Sec. 4.

    Args:
        width: figure width in inches.
        height: figure height in inches.

    Returns:
        The ``Figure``, two panels and a legend.

    Shapes:
        Not tensor-valued.
    """
    fig, axes = figure(2, 1, width=width, height=height)
    plot_computation_graph(
        axes[0], _NODES, _EDGES,
        gradient_edges=[*_DECODER_PATH, ("z", "logits")],
        blocked_edges=[("mu", "z"), ("sigma", "z")],
        title=r"naive backpropagation: the gradient stops at the sample $z \sim q_\phi(z \mid x)$",
        annotations={"cost": r"$\log p_\theta(x \mid z)$", "logits": "decoder"},
    )
    nodes = {**_NODES, "logq": (3.0, -0.9, "deterministic", r"$q$"),
             "surrogate": (7.4, -0.9, "deterministic", r"$\mathcal{S}$")}
    edges = [*_EDGES, ("mu", "logq"), ("sigma", "logq"), ("z", "logq"), ("logq", "surrogate"), ("cost", "surrogate")]
    plot_computation_graph(
        axes[1], nodes, edges,
        gradient_edges=[*_DECODER_PATH, ("logq", "surrogate"), ("mu", "logq"), ("sigma", "logq"),
                        ("phi", "mu"), ("phi", "sigma")],
        blocked_edges=[("mu", "z"), ("sigma", "z"), ("cost", "surrogate")],
        title=r"REINFORCE: the gradient reaches $\phi$ through $\log q_\phi(z \mid x)$",
        annotations={"cost": r"$\log p_\theta(x \mid z)$", "logits": "decoder",
                     "logq": r"$\log q_\phi(z \mid x)$", "surrogate": r"$(\mathcal{L} - b)\,\log q$"},
    )
    with style():
        for ax in axes:
            ax.set_xlim(-0.9, 8.3)
            ax.set_ylim(-1.95, 3.35)
        handles = [
            Line2D([], [], marker="o", ls="none", markersize=11, markerfacecolor=GRAPH_COLORS["random"],
                   markeredgecolor="black", label="random node"),
            Line2D([], [], marker="s", ls="none", markersize=10, markerfacecolor=GRAPH_COLORS["deterministic"],
                   markeredgecolor="black", label="deterministic node"),
            Line2D([], [], marker="D", ls="none", markersize=9, markerfacecolor=GRAPH_COLORS["parameter"],
                   markeredgecolor="black", label="parameter"),
            Line2D([], [], color=GRAPH_COLORS["gradient"], ls="--", lw=1.8, label="gradient path"),
            Line2D([], [], marker="x", ls="none", markersize=9, mew=2.5, color=GRAPH_COLORS["blocked"],
                   label="no gradient (sample, or detached)"),
        ]
        fig.legend(handles=handles, loc="lower center", ncol=3, frameon=False, fontsize=8.5,
                   bbox_to_anchor=(0.5, -0.01))
        fig.get_layout_engine().set(rect=(0, 0.07, 1, 0.93))
    return fig
