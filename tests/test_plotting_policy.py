"""The policy-gradient figures (chapter 11) return labelled figures, on new or given axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from lecture9 import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _labelled(fig):
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel()
    return ax


def test_gradient_agreement_and_variances():
    exact = torch.linspace(-1, 1, 6)
    fig = plotting.plot_gradient_agreement(
        exact, {"whole return": (exact + 0.01, torch.full((6,), 0.02))}
    )
    _labelled(fig)
    fig = plotting.plot_estimator_variances(
        [5, 10, 20], {"whole return": [1.0, 3.0, 9.0]}, xlabel="horizon"
    )
    assert _labelled(fig).get_yscale() == "log"


def test_return_distributions_and_training_on_given_axes():
    fig, ax = plt.subplots()
    out = plotting.plot_return_distributions({"package": torch.rand(200)}, exact_mean=0.5, ax=ax)
    assert out is fig
    _labelled(out)
    fig = plotting.plot_policy_training(
        np.arange(4), {"REINFORCE": torch.rand(3, 4)}, exact=torch.rand(4)
    )
    _labelled(fig)


def test_gae_tradeoff_and_learning_curves():
    lams = [0.0, 0.5, 1.0]
    fig = plotting.plot_gae_tradeoff(
        lams,
        {"exact V": [0.0, 0.0, 0.0], "learned V": [0.3, 0.2, 0.0]},
        {"exact V": [1.0, 2.0, 3.0], "learned V": [1.0, 2.0, 3.0]},
        noise={"exact V": [0.1, 0.1, 0.1]},
    )
    assert len(fig.axes) == 2 and fig.axes[1].get_yscale() == "log"
    _labelled(fig)
    fig = plotting.plot_policy_training(
        np.arange(1, 6),
        {"learned baseline": torch.rand(3, 5) * 500},
        optimum=500,
        xlabel="batch",
        ylabel="mean return of the batch",
        optimum_label="maximum return {:g}",
    )
    _labelled(fig)
    with pytest.raises(ValueError, match="bias"):
        plotting.plot_gae_tradeoff(lams, {"exact V": [0.0]}, {"exact V": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="num_seeds"):
        plotting.plot_policy_training(np.arange(5), {"x": torch.rand(5)})
    with pytest.raises(TypeError, match="curves"):
        plotting.plot_policy_training(np.arange(5), {})
