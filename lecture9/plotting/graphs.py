"""Stochastic computation graphs (chapters 5 and 9).

Random nodes are circles, deterministic nodes squares, parameters diamonds, as in
Schulman et al. (2015); the path along which a gradient flows back from the cost to
the parameters is highlighted and edges it cannot pass through are crossed out
(Kingma and Welling, 2014; Mohamed et al., 2020, Sec. 5). Every helper returns the
``Figure``.
"""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Polygon, Rectangle

from .._validation import check_float, check_mapping, check_public_functions
from .common import GRAPH_COLORS, figure, style

__all__ = [
    "plot_computation_graph",
    "plot_optimisation_loop",
    "plot_reparameterization_graph",
    "plot_vae_computation_graph",
    "plot_vae_gradient_paths",
]

_NODE_SIZE = 0.42  # half-width of a node in data units


def _node_patch(xy, kind: str):
    x, y = xy
    r = _NODE_SIZE
    if kind == "random":
        return Circle(
            (x, y), r, facecolor=GRAPH_COLORS["random"], edgecolor="black", lw=1.4, zorder=3
        )
    if kind == "deterministic":
        return Rectangle(
            (x - r * 0.9, y - r * 0.9),
            1.8 * r,
            1.8 * r,
            facecolor=GRAPH_COLORS["deterministic"],
            edgecolor="black",
            lw=1.4,
            zorder=3,
        )
    if kind == "parameter":
        pts = [(x, y + r * 1.15), (x + r * 1.15, y), (x, y - r * 1.15), (x - r * 1.15, y)]
        return Polygon(
            pts,
            closed=True,
            facecolor=GRAPH_COLORS["parameter"],
            edgecolor="black",
            lw=1.4,
            zorder=3,
        )
    raise ValueError(f"node kind must be 'random', 'deterministic' or 'parameter', got {kind!r}")


def _shrunk_segment(p, q, shrink: float):
    p, q = np.asarray(p, float), np.asarray(q, float)
    d = q - p
    n = np.linalg.norm(d)
    if n == 0:
        raise ValueError("an edge joins two nodes at the same position; move one of them")
    u = d / n
    return p + shrink * u, q - shrink * u, u


def _graph_legend(fig, *, blocked_label: str, ncol: int, bottom: float) -> None:
    """The node and edge legend shared by the graph figures, below the panels."""
    nodes = [("o", 11, "random", "random node"), ("s", 10, "deterministic", "deterministic node")]
    nodes.append(("D", 9, "parameter", "parameter"))
    handles = [
        Line2D(
            [],
            [],
            marker=marker,
            ls="none",
            markersize=size,
            markeredgecolor="black",
            markerfacecolor=GRAPH_COLORS[kind],
            label=label,
        )
        for marker, size, kind, label in nodes
    ]
    handles.append(
        Line2D([], [], color=GRAPH_COLORS["gradient"], ls="--", lw=1.8, label="gradient path")
    )
    handles.append(
        Line2D(
            [],
            [],
            marker="x",
            ls="none",
            markersize=9,
            mew=2.5,
            color=GRAPH_COLORS["blocked"],
            label=blocked_label,
        )
    )
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=ncol,
        frameon=False,
        fontsize=8.5,
        bbox_to_anchor=(0.5, -0.01),
    )
    fig.get_layout_engine().set(rect=(0, bottom, 1, 1 - bottom))


def plot_computation_graph(
    ax, nodes, edges, *, gradient_edges=(), blocked_edges=(), title=None, annotations=None
):
    """Draw a stochastic computation graph on ``ax``.

    Random nodes (sampled from a distribution) are circles, deterministic nodes
    (functions of their parents) are squares and parameters are diamonds, as in
    Schulman et al. (2015). Forward edges are grey arrows; each edge in
    ``gradient_edges`` gets a second, dashed arrow in the gradient colour drawn
    in the backward direction (child to parent); edges in ``blocked_edges`` are
    crossed out where the gradient cannot pass (through a sampling step).

    Mohamed et al. (2020), Sec. 5.

    Raises:
        ValueError: if an edge names an unknown node, a gradient or blocked edge
            is not among ``edges``, or a node kind is unknown.

    Shapes:
        Not tensor-valued: ``nodes`` and ``edges`` are plain Python containers.
    """
    _check_graph_nodes(nodes, annotations)
    _check_graph_edges(nodes, edges, gradient_edges, blocked_edges)
    annotations = annotations or {}
    with style():
        ax.set_aspect("equal")
        ax.axis("off")
        ax.grid(False)
        for name, (x, y, kind, label) in nodes.items():
            ax.add_patch(_node_patch((x, y), kind))
            ax.text(x, y, label, ha="center", va="center", fontsize=12, zorder=4)
            if name in annotations:
                ax.text(
                    x,
                    y - _NODE_SIZE * 1.45,
                    annotations[name],
                    ha="center",
                    va="top",
                    fontsize=8.5,
                    color="#333333",
                    zorder=4,
                )
        _draw_graph_edges(ax, nodes, edges, gradient_edges, blocked_edges)
        xs = [v[0] for v in nodes.values()]
        ys = [v[1] for v in nodes.values()]
        ax.set_xlim(min(xs) - 0.9, max(xs) + 0.9)
        ax.set_ylim(min(ys) - 1.2, max(ys) + 0.8)
        if title:
            ax.set_title(title)
    return ax.figure


def _check_graph_nodes(nodes, annotations) -> None:
    """``nodes`` maps each name to ``(x, y, kind, label)``; ``annotations`` is ``None`` or a mapping."""
    check_mapping(nodes, "nodes", example="{'x': (0, 0, 'random', '$x$')}")
    if not nodes:
        raise ValueError("nodes is empty; pass {name: (x, y, kind, label)}")
    for name, node in nodes.items():
        if isinstance(node, (str, bytes)) or not hasattr(node, "__len__") or len(node) != 4:
            raise ValueError(f"nodes[{name!r}] must be (x, y, kind, label), got {node!r:.60}")
        check_float(node[0], f"nodes[{name!r}] x")
        check_float(node[1], f"nodes[{name!r}] y")
    if annotations is not None:
        check_mapping(annotations, "annotations", example="{'x': 'text below x'}")


def _edge_list(edges, name: str) -> list[tuple]:
    """``edges`` as a list of ``(parent, child)`` pairs; a TypeError/ValueError naming ``name``."""
    if isinstance(edges, (str, bytes)) or not hasattr(edges, "__iter__"):
        raise TypeError(f"{name} must be a sequence of (parent, child) pairs, got {edges!r:.60}")
    pairs = list(edges)
    for edge in pairs:
        if isinstance(edge, (str, bytes)) or not hasattr(edge, "__len__") or len(edge) != 2:
            raise ValueError(f"{name} must hold (parent, child) pairs, got {edge!r:.60}")
    return [tuple(edge) for edge in pairs]


def _check_graph_edges(nodes, edges, gradient_edges, blocked_edges) -> None:
    edges = _edge_list(edges, "edges")
    gradient_edges = _edge_list(gradient_edges, "gradient_edges")
    blocked_edges = _edge_list(blocked_edges, "blocked_edges")
    edge_set = set(edges)
    for parent, child in edge_set:
        for name in (parent, child):
            if name not in nodes:
                raise ValueError(
                    f"edge ({parent!r}, {child!r}) names the unknown node {name!r}; add it to nodes"
                )
    for group, group_name in ((gradient_edges, "gradient_edges"), (blocked_edges, "blocked_edges")):
        for edge in group:
            if tuple(edge) not in edge_set:
                raise ValueError(
                    f"{group_name} contains {tuple(edge)!r}, which is not in edges; add it to edges first"
                )


def _draw_graph_edges(ax, nodes, edges, gradient_edges, blocked_edges) -> None:
    """Forward arrows (crossed out where blocked), then dashed backward gradient arrows."""
    shrink = _NODE_SIZE * 1.25
    blocked = set(map(tuple, blocked_edges))
    for parent, child in edges:
        a, b, _ = _shrunk_segment(nodes[parent][:2], nodes[child][:2], shrink)
        ax.add_patch(
            FancyArrowPatch(
                a,
                b,
                arrowstyle="-|>",
                mutation_scale=14,
                color=GRAPH_COLORS["edge"],
                lw=1.4,
                zorder=2,
            )
        )
        if (parent, child) in blocked:
            m = (a + b) / 2
            ax.plot(
                [m[0]],
                [m[1]],
                marker="x",
                markersize=14,
                mew=3,
                color=GRAPH_COLORS["blocked"],
                zorder=5,
            )
    for parent, child in gradient_edges:
        a, b, u = _shrunk_segment(nodes[parent][:2], nodes[child][:2], shrink)
        normal = np.array([-u[1], u[0]]) * 0.16
        ax.add_patch(
            FancyArrowPatch(
                b + normal,
                a + normal,
                arrowstyle="-|>",
                mutation_scale=13,
                color=GRAPH_COLORS["gradient"],
                lw=1.8,
                linestyle=(0, (4, 2)),
                zorder=2,
            )
        )


_LOOP_PHASES = (
    (
        "simulation phase",
        (
            r"draw $\hat x^{(n)} \sim p(x; \theta_t)$",
            r"(or run the simulator, the environment)",
            r"evaluate the cost $f(\hat x^{(n)})$",
            r"estimate $\bar\eta_t \approx \nabla_\theta\,\mathbb{E}_{p(x;\theta_t)}[f(x)]$",
        ),
    ),
    (
        "optimisation phase",
        (
            r"update the parameters",
            r"$\theta_{t+1} = \theta_t - \alpha_t\,\bar\eta_t$",
            r"steps with $\sum_t \alpha_t = \infty$, $\sum_t \alpha_t^2 < \infty$",
            r"(SGD, Adam, ...)",
        ),
    ),
)


def plot_optimisation_loop(*, width: float = 7.0, height: float = 2.9):
    """Draw the stochastic optimisation loop of Mohamed et al. (2020), Fig. 1.

    Two boxes, the simulation phase (samples, cost, gradient estimate) and the
    optimisation phase (the parameter update), joined by two arrows: the estimate
    :math:`\\bar\\eta_t` goes to the optimiser, the new parameters
    :math:`\\theta_{t+1}` go back to the simulator.

    Raises:
        ValueError: if ``width`` or ``height`` is not a positive number.

    Shapes:
        Not tensor-valued.
    """
    for value, name in ((width, "width"), (height, "height")):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{name} must be a positive number of inches, got {value!r}")
    fig, ax = figure(1, 1, width=width, height=height)
    colors = (GRAPH_COLORS["random"], GRAPH_COLORS["parameter"])
    with style():
        ax.set_xlim(0, 10)
        ax.set_ylim(0, 4)
        ax.axis("off")
        ax.grid(False)
        for (title, lines), x0, color in zip(_LOOP_PHASES, (0.2, 5.8), colors):
            ax.add_patch(
                FancyBboxPatch(
                    (x0, 0.55),
                    4.0,
                    2.9,
                    boxstyle="round,pad=0.05,rounding_size=0.25",
                    facecolor=color,
                    edgecolor="black",
                    lw=1.4,
                )
            )
            ax.text(x0 + 2.0, 3.1, title, ha="center", va="center", fontsize=11, fontweight="bold")
            for i, line in enumerate(lines):
                ax.text(x0 + 2.0, 2.5 - 0.5 * i, line, ha="center", va="center", fontsize=8.5)
        arrows = (
            (4.3, 3.0, 5.7, 3.0, r"gradient estimate $\bar\eta_t$", 3.3, -0.35),
            (5.7, 1.0, 4.3, 1.0, r"parameters $\theta_{t+1}$", 0.55, -0.35),
        )
        for x_a, y_a, x_b, y_b, label, y_text, rad in arrows:
            ax.add_patch(
                FancyArrowPatch(
                    (x_a, y_a),
                    (x_b, y_b),
                    connectionstyle=f"arc3,rad={rad}",
                    arrowstyle="-|>",
                    mutation_scale=16,
                    lw=1.8,
                    color=GRAPH_COLORS["gradient"],
                )
            )
            ax.text(
                5.0,
                y_text + (0.35 if y_a > 2 else -0.3),
                label,
                ha="center",
                va="center",
                fontsize=9,
            )
    return fig


def plot_reparameterization_graph(
    *, width: float = 7.0, height: float = 3.6, param_label: str = r"$\varphi$"
):
    """Draw the stochastic computation graph before and after reparameterization.

    Left, the original form: the parameters :math:`\\varphi` give the mean and
    scale of :math:`z \\sim \\mathcal{N}(\\mu, \\sigma^2)`, a random node, and the
    cost :math:`f(z)` depends on :math:`z`. Backpropagation stops at the random
    node (crossed-out edges): a sample has no derivative with respect to the
    parameters of the distribution it was drawn from. Right, the reparameterized
    form:

    .. math::

        z = \\mu + \\sigma \\epsilon, \\qquad \\epsilon \\sim \\mathcal{N}(0, 1),

    so :math:`z` is a deterministic node and the only random node,
    :math:`\\epsilon`, has no parameters. The gradient (dashed) flows from
    :math:`f` through :math:`z` into :math:`\\mu` and :math:`\\sigma` and on to
    :math:`\\varphi`.

    Schulman et al. (2015), Kingma and Welling (2014), Mohamed et al. (2020), Sec. 5.

    Shapes:
        Not tensor-valued.
    """
    fig, axes = figure(1, 2, width=width, height=height)
    left = {
        "phi": (0.0, 1.0, "parameter", param_label),
        "mu": (1.6, 2.0, "deterministic", r"$\mu$"),
        "sigma": (1.6, 0.0, "deterministic", r"$\sigma$"),
        "z": (3.2, 1.0, "random", r"$z$"),
        "f": (4.8, 1.0, "deterministic", r"$f$"),
    }
    left_edges = [("phi", "mu"), ("phi", "sigma"), ("mu", "z"), ("sigma", "z"), ("z", "f")]
    plot_computation_graph(
        axes[0],
        left,
        left_edges,
        gradient_edges=[("z", "f")],
        blocked_edges=[("mu", "z"), ("sigma", "z")],
        title="Original form",
        annotations={"f": r"$f(z)$"},
    )
    axes[0].text(3.3, -0.1, r"$z\sim\mathcal{N}(\mu,\sigma^2)$", fontsize=9, ha="center", va="top")
    right = {
        "phi": (0.0, 1.0, "parameter", param_label),
        "mu": (1.6, 2.0, "deterministic", r"$\mu$"),
        "sigma": (1.6, 0.0, "deterministic", r"$\sigma$"),
        "eps": (3.2, -0.6, "random", r"$\epsilon$"),
        "z": (3.2, 1.0, "deterministic", r"$z$"),
        "f": (4.8, 1.0, "deterministic", r"$f$"),
    }
    right_edges = [
        ("phi", "mu"),
        ("phi", "sigma"),
        ("mu", "z"),
        ("sigma", "z"),
        ("eps", "z"),
        ("z", "f"),
    ]
    plot_computation_graph(
        axes[1],
        right,
        right_edges,
        gradient_edges=[("z", "f"), ("mu", "z"), ("sigma", "z"), ("phi", "mu"), ("phi", "sigma")],
        title="Reparameterized form",
        annotations={"eps": r"$\epsilon\sim\mathcal{N}(0,1)$", "z": "", "f": r"$f(z)$"},
    )
    for ax in axes:
        ax.set_xlim(-0.9, 5.7)
        ax.set_ylim(-1.8, 2.8)
    axes[1].text(3.75, 1.55, r"$z=\mu+\sigma\epsilon$", fontsize=9, ha="left", va="bottom")
    with style():
        _graph_legend(fig, blocked_label="gradient blocked", ncol=5, bottom=0.08)
    return fig


# whether the VAE graph's code z is a deterministic function of the noise (reparameterized)
_VAE_GRAPH_REPARAMETERIZED = {"pathwise": True, "score_function": False}
_VAE_LABELS = {
    "x": r"$x$",
    "phi": r"$\phi$",
    "mu": r"$\mu$",
    "sigma": r"$\sigma$",
    "z": r"$z$",
    "theta": r"$\theta$",
    "logits": r"$\ell$",
    "cost": r"$\mathcal{L}$",
}
_EDGES = [
    ("x", "mu"),
    ("x", "sigma"),
    ("phi", "mu"),
    ("phi", "sigma"),
    ("mu", "z"),
    ("sigma", "z"),
    ("z", "logits"),
    ("theta", "logits"),
    ("logits", "cost"),
]


def _vae_nodes(xs, ys, z_kind: str) -> dict:
    """The nodes of the VAE graphs, in the order of :data:`_VAE_LABELS`, at ``(xs[i], ys[i])``."""
    kinds = {"phi": "parameter", "theta": "parameter", "z": z_kind}
    return {
        name: (x, y, kinds.get(name, "deterministic"), label)
        for (name, label), x, y in zip(_VAE_LABELS.items(), xs, ys)
    }


def plot_vae_computation_graph(
    *, estimator: str = "pathwise", width: float = 7.0, height: float = 3.8
):
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

    Drawn with :func:`plot_computation_graph`.

    Raises:
        ValueError: on an unknown ``estimator``.

    Shapes:
        Not tensor-valued.
    """
    if estimator not in _VAE_GRAPH_REPARAMETERIZED:
        raise ValueError(f"estimator must be 'pathwise' or 'score_function', got {estimator!r}")
    pathwise = _VAE_GRAPH_REPARAMETERIZED[estimator]
    nodes = _vae_nodes(
        (0.0, 0.0, 1.6, 1.6, 3.2, 4.8, 4.8, 6.4),
        (1.0, -0.6, 1.8, 0.2, 1.0, 2.6, 1.0, 1.0),
        "deterministic" if pathwise else "random",
    )
    edges = list(_EDGES)
    annotations = {"cost": r"$\log p_\theta(x \mid z)$", "logits": "decoder"}
    if pathwise:
        nodes["eps"] = (3.2, -0.6, "random", r"$\epsilon$")
        edges.append(("eps", "z"))
        annotations["eps"] = r"$\mathcal{N}(0, I)$"
        gradient = [
            ("logits", "cost"),
            ("z", "logits"),
            ("theta", "logits"),
            ("mu", "z"),
            ("sigma", "z"),
            ("phi", "mu"),
            ("phi", "sigma"),
        ]
        blocked = []
        title = r"pathwise: $z = \mu + \sigma\epsilon$, gradients reach $\phi$ through $z$"
    else:
        gradient = [("logits", "cost"), ("theta", "logits")]
        blocked = [("mu", "z"), ("sigma", "z")]
        annotations["z"] = r"$z \sim q_\phi(z \mid x)$"
        title = r"score function: $z$ is sampled, the path to $\phi$ is cut"
    fig, ax = figure(1, 1, width=width, height=height)
    plot_computation_graph(
        ax,
        nodes,
        edges,
        gradient_edges=gradient,
        blocked_edges=blocked,
        title=title,
        annotations=annotations,
    )
    with style():
        ax.set_xlim(-0.9, 7.4)
        ax.set_ylim(-1.7, 3.4)
    return fig


_NODES = _vae_nodes(
    (0.0, 0.0, 1.5, 1.5, 3.0, 4.5, 4.5, 6.0), (1.9, 0.1, 1.9, 0.1, 1.0, 2.6, 1.0, 1.0), "random"
)
_DECODER_PATH = [("logits", "cost"), ("theta", "logits")]


def plot_vae_gradient_paths(*, width: float = 7.0, height: float = 6.4):
    """Two panels: naive backpropagation blocked at the sample (top) and REINFORCE through log q (bottom).

    Top: the gradient of :math:`\\mathcal{L} = \\log p_\\theta(x \\mid z)` flows back to the
    decoder's :math:`\\theta` and to :math:`z`, and stops there (crossed-out edges
    :math:`\\mu, \\sigma \\to z`). Bottom: the surrogate
    :math:`\\mathcal{S} = (\\mathcal{L} - b)\\,\\log q_\\phi(z \\mid x)` adds a node
    :math:`q` (standing for :math:`\\log q_\\phi(z \\mid x)`) fed by :math:`\\mu`,
    :math:`\\sigma` and the sample :math:`z`; its gradient flows through :math:`\\log q` into
    :math:`\\mu, \\sigma` and :math:`\\phi`,
    while :math:`\\mathcal{L}` enters :math:`\\mathcal{S}` detached (crossed out: a value,
    not a path) and the sample still blocks the path through :math:`z`.

    Introduced in chapter 9, *Training a variational autoencoder*; Williams (1992),
    Schulman et al. (2015), Mohamed et al. (2020), Sec. 4.

    Shapes:
        Not tensor-valued.
    """
    fig, axes = figure(2, 1, width=width, height=height)
    plot_computation_graph(
        axes[0],
        _NODES,
        _EDGES,
        gradient_edges=[*_DECODER_PATH, ("z", "logits")],
        blocked_edges=[("mu", "z"), ("sigma", "z")],
        title=r"naive backpropagation: the gradient stops at the sample $z \sim q_\phi(z \mid x)$",
        annotations={"cost": r"$\log p_\theta(x \mid z)$", "logits": "decoder"},
    )
    nodes = {
        **_NODES,
        "logq": (3.0, -0.9, "deterministic", r"$q$"),
        "surrogate": (7.4, -0.9, "deterministic", r"$\mathcal{S}$"),
    }
    edges = [
        *_EDGES,
        ("mu", "logq"),
        ("sigma", "logq"),
        ("z", "logq"),
        ("logq", "surrogate"),
        ("cost", "surrogate"),
    ]
    plot_computation_graph(
        axes[1],
        nodes,
        edges,
        gradient_edges=[
            *_DECODER_PATH,
            ("logq", "surrogate"),
            ("mu", "logq"),
            ("sigma", "logq"),
            ("phi", "mu"),
            ("phi", "sigma"),
        ],
        blocked_edges=[("mu", "z"), ("sigma", "z"), ("cost", "surrogate")],
        title=r"REINFORCE: the gradient reaches $\phi$ through $\log q_\phi(z \mid x)$",
        annotations={
            "cost": r"$\log p_\theta(x \mid z)$",
            "logits": "decoder",
            "logq": r"$\log q_\phi(z \mid x)$",
            "surrogate": r"$(\mathcal{L} - b)\,\log q$",
        },
    )
    with style():
        for ax in axes:
            ax.set_xlim(-0.9, 8.3)
            ax.set_ylim(-1.95, 3.35)
        _graph_legend(fig, blocked_label="no gradient (sample, or detached)", ncol=3, bottom=0.07)
    return fig


check_public_functions(globals())  # each public function checks its annotated arguments
