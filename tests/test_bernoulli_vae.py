"""Tests for lecture9.bernoulli_vae against exact enumeration of the codes and torch.distributions' KL."""

from __future__ import annotations

import json
import math

import pytest
import torch
from conftest import gen
from torch import distributions as D

from lecture9 import bernoulli_vae as bv
from lecture9 import cli, training, vae

pytestmark = pytest.mark.usefixtures("one_thread")

DTYPE = torch.float64
UNBIASED = [
    ("score_function", None, 1),
    ("score_function", "leave_one_out", 2),
    ("disarm", None, 1),
]
RELAXED = ["gumbel_softmax", "straight_through"]


@pytest.fixture(scope="module")
def tiny():
    """A 6-pixel model with a 3-bit code (8 codes) in float64, and four datapoints."""
    model = bv.BernoulliVAE(6, 3, (8,), generator=gen(1)).to(DTYPE)
    x = (torch.rand(4, 6, generator=gen(2), dtype=DTYPE) < 0.5).to(DTYPE)
    return model, x


def enumerated_elbo(model, x):
    """The exact ELBO per datapoint, written with torch.distributions: sum over the 2^3 codes, KL by kl_divergence."""
    codes = torch.tensor([[(c >> k) & 1 for k in range(3)] for c in range(8)], dtype=DTYPE)[
        :, None, :
    ]  # (8, 1, 3)
    logits = model.encode(x)
    q = D.Independent(D.Bernoulli(logits=logits), 1)
    prior = D.Independent(D.Bernoulli(probs=torch.full_like(logits, 0.5)), 1)
    log_px = D.Independent(
        D.Bernoulli(logits=model.decode(codes.expand(8, len(x), 3))), 1
    ).log_prob(x)
    return (q.log_prob(codes).exp() * log_px).sum(0) - D.kl_divergence(q, prior)


def encoder_params(model):
    return [p for name, p in model.named_parameters() if name.startswith("encoder.")]


def exact_encoder_gradient(model, x):
    grads = torch.autograd.grad(-enumerated_elbo(model, x).mean(), encoder_params(model))
    return torch.cat([g.reshape(-1) for g in grads])


def test_kl_against_torch_kl_divergence():
    logits = torch.linspace(-12.0, 12.0, 5 * 16, dtype=DTYPE).reshape(5, 16)
    q = D.Independent(D.Bernoulli(logits=logits), 1)
    prior = D.Independent(D.Bernoulli(probs=torch.full_like(logits, 0.5)), 1)
    torch.testing.assert_close(
        bv.bernoulli_kl(logits), D.kl_divergence(q, prior), rtol=1e-10, atol=1e-12
    )
    torch.testing.assert_close(bv.bernoulli_kl(torch.zeros(3, 7)), torch.zeros(3))
    extreme = bv.bernoulli_kl(torch.tensor([[-500.0, 500.0]]))  # stable from the logits: 2 log 2
    torch.testing.assert_close(extreme, torch.tensor([2 * math.log(2.0)]))
    with pytest.raises(ValueError, match="logits must be finite"):
        bv.bernoulli_kl(torch.tensor([[float("nan")]]))
    with pytest.raises(TypeError, match="logits"):
        bv.bernoulli_kl([0.0])


def test_exact_elbo_by_enumeration_and_iwae(tiny):
    model, x = tiny
    exact = enumerated_elbo(model, x)
    torch.testing.assert_close(bv.exact_elbo(model, x), exact, rtol=1e-12, atol=1e-12)
    # the ELBO of evaluate_bound uses hard codes: unbiased for the exact ELBO
    values = vae.evaluate_bound(model, x.expand(20_000, 4, 6), num_samples=1, generator=gen(3))
    se = values.std(0) / math.sqrt(len(values))
    assert ((values.mean(0) - exact).abs() < 5 * se).all(), (values.mean(0), exact, se)
    # the importance-weighted bound tends to log p(x) = logsumexp_b log p(x | b) + log p(b)
    codes = torch.tensor([[(c >> k) & 1 for k in range(3)] for c in range(8)], dtype=DTYPE)[
        :, None, :
    ]
    log_px = D.Independent(D.Bernoulli(logits=model.decode(codes.expand(8, 4, 3))), 1).log_prob(x)
    log_marginal = torch.logsumexp(log_px - 3 * math.log(2.0), 0)
    iwae = vae.evaluate_bound(model, x, bound="iwae", num_samples=4000, generator=gen(4))
    assert (iwae > exact).all()
    torch.testing.assert_close(
        iwae, log_marginal, rtol=0, atol=0.03
    )  # a stochastic bound, bias O(1/K)


@pytest.mark.parametrize(
    "estimator, baseline, num_samples", UNBIASED, ids=["score_function", "rloo", "disarm"]
)
def test_unbiased_encoder_gradients(tiny, estimator, baseline, num_samples):
    model, x = tiny
    exact = exact_encoder_gradient(model, x)
    draws = vae.encoder_gradients(
        model,
        x,
        num_draws=6000,
        num_samples=num_samples,
        estimator=estimator,
        baseline=baseline,
        generator=gen(5),
    )
    se = draws.std(0) / math.sqrt(len(draws))
    err = (draws.mean(0) - exact).abs()
    assert (err <= 5 * se + 1e-12).all(), float((err / (se + 1e-300)).max())
    # the value of the estimate is the Monte Carlo ELBO at hard codes: unbiased
    values = vae.elbo(
        model,
        x.expand(20_000, 4, 6),
        num_samples=num_samples,
        estimator=estimator,
        baseline=baseline,
        generator=gen(6),
    ).detach()
    se = values.std(0) / math.sqrt(len(values))
    assert ((values.mean(0) - enumerated_elbo(model, x)).abs() < 5 * se).all()


@pytest.mark.parametrize("estimator", RELAXED)
def test_relaxed_encoder_gradients_are_biased(tiny, estimator):
    model, x = tiny
    exact = exact_encoder_gradient(model, x)
    draws = vae.encoder_gradients(model, x, num_draws=6000, estimator=estimator, generator=gen(7))
    se = draws.std(0) / math.sqrt(len(draws))
    z = (draws.mean(0) - exact).abs()[se > 0] / se[
        se > 0
    ]  # (weights of a pixel that is 0 in x get no gradient)
    assert z.max() > 10, float(z.max())  # measurably biased at temperature 0.5
    # DisARM at the same seed and number of draws stays within its standard errors
    disarm = vae.encoder_gradients(model, x, num_draws=6000, estimator="disarm", generator=gen(7))
    assert ((disarm.mean(0) - exact).abs() <= 5 * disarm.std(0) / math.sqrt(6000) + 1e-12).all()


def test_options_and_bad_input(tiny):
    model, x = tiny
    with pytest.raises(ValueError, match="no path through a Bernoulli"):
        vae.elbo(model, x, estimator="pathwise")
    with pytest.raises(ValueError, match="estimator must be one of"):
        vae.elbo(model, x, estimator="reinforce")
    with pytest.raises(ValueError, match="baseline is only used by estimator='score_function'"):
        vae.elbo(model, x, estimator="disarm", baseline="leave_one_out", num_samples=2)
    with pytest.raises(ValueError, match="num_samples >= 2"):
        vae.elbo(model, x, estimator="score_function", baseline="leave_one_out")
    for bad in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="temperature"):
            bv.BernoulliVAE(6, 3, temperature=bad)
    with pytest.raises(TypeError, match="temperature"):
        bv.BernoulliVAE(6, 3, temperature="0.5")
    with pytest.raises(ValueError, match="input_dim|shape"):
        vae.elbo(model, x[:, :5], estimator="disarm")
    with pytest.raises(TypeError, match="BernoulliVAE"):
        bv.exact_elbo(vae.VAE(6, 3), x.float())


def test_model_rebuilds_samples_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    a = bv.BernoulliVAE(64, 16, generator=gen(0))
    assert torch.equal(torch.random.get_rng_state(), state)
    b = bv.BernoulliVAE(**a.config, generator=gen(0))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert a.encoder[-1].out_features == 16 and a.config["temperature"] == 0.5
    images = a.sample(5, generator=gen(1), binary=True)
    assert images.shape == (5, 64) and set(images.unique().tolist()) <= {0.0, 1.0}
    assert a.reconstruct(images).shape == (5, 64)


def test_trains_with_the_shared_loop_and_resumes(tmp_path):
    x = (torch.rand(60, 64, generator=gen(8)) < 0.3).float()
    kwargs = dict(epochs=2, batch_size=20, estimator="disarm", test_data=x[:20], progress=False)
    full = training.train(
        bv.BernoulliVAE(64, 4, (16,), generator=gen(9)), x, generator=gen(10), **kwargs
    )
    ckpt = tmp_path / "ckpt.pt"
    model = bv.BernoulliVAE(64, 4, (16,), generator=gen(9))
    training.train(model, x, generator=gen(10), checkpoint=ckpt, **{**kwargs, "epochs": 1})
    resumed = training.train(
        bv.BernoulliVAE(64, 4, (16,), generator=gen(9)),
        x,
        generator=gen(11),
        checkpoint=ckpt,
        resume=True,
        **kwargs,
    )
    assert resumed["test_elbo"] == full["test_elbo"] and resumed["train_elbo"] == full["train_elbo"]
    with pytest.raises(ValueError, match="temperature"):  # another relaxation is another model
        training.train(
            bv.BernoulliVAE(64, 4, (16,), temperature=0.3),
            x,
            checkpoint=ckpt,
            resume=True,
            **kwargs,
        )


def test_cli_round_trip_on_digits(tmp_path):
    out = tmp_path / "run"
    argv = [
        "train-vae",
        "--latent",
        "bernoulli",
        "--latent-dim",
        "16",
        "--estimator",
        "score_function",
        "--baseline",
        "leave_one_out",
        "--num-samples",
        "2",
        "--epochs",
        "1",
        "--no-progress",
        "--iwae-samples",
        "50",
        "--out",
        str(out),
    ]
    assert cli.main(argv) == 0
    metrics = json.loads((out / training.METRICS_NAME).read_text())
    assert metrics["latent"] == "bernoulli" and metrics["final"]["test_elbo_codes"] == "hard"
    assert (
        metrics["model_config"]["latent_dim"] == 16
        and metrics["settings"]["estimator"] == "score_function"
    )
    assert (
        20 < metrics["final"]["test_neg_elbo"] < 60
        and metrics["final"]["test_iwae_nll"] < metrics["final"]["test_neg_elbo"]
    )
    assert (
        cli.main(
            [*argv[:-5], "--epochs", "2", "--iwae-samples", "0", "--resume", "--out", str(out)]
        )
        == 0
    )
    assert json.loads((out / training.METRICS_NAME).read_text())["final"]["epochs"] == 2
