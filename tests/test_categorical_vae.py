"""Tests for lecture9.categorical_vae against exact enumeration of the codes and torch.distributions' KL."""

from __future__ import annotations

import itertools
import json
import math

import pytest
import torch
from conftest import gen
from torch import distributions as D

from lecture9 import categorical_vae as cv
from lecture9 import cli, training, vae

pytestmark = pytest.mark.usefixtures("one_thread")

DTYPE = torch.float64


@pytest.fixture(scope="module")
def tiny():
    """A 6-pixel model with 2 variables of 3 categories (9 codes) in float64, and four datapoints."""
    model = cv.CategoricalVAE(6, 2, 3, (8,), generator=gen(1)).to(DTYPE)
    x = (torch.rand(4, 6, generator=gen(2), dtype=DTYPE) < 0.5).to(DTYPE)
    return model, x


def enumerated_elbo(model, x):
    """The exact ELBO per datapoint with torch.distributions: the sum over the 9 codes, KL by kl_divergence."""
    index = torch.tensor(list(itertools.product(range(3), repeat=2)))
    codes = torch.nn.functional.one_hot(index, 3).to(DTYPE)[:, None]  # (9, 1, 2, 3)
    logits = model.encode(x)
    q = D.Independent(D.OneHotCategorical(logits=logits), 1)
    prior = D.Independent(D.OneHotCategorical(logits=torch.zeros_like(logits)), 1)
    log_px = D.Independent(
        D.Bernoulli(logits=model.decode(codes.flatten(-2).expand(9, len(x), 6))), 1
    ).log_prob(x)
    return (q.log_prob(codes).exp() * log_px).sum(0) - D.kl_divergence(q, prior)


def exact_encoder_gradient(model, x):
    params = [p for name, p in model.named_parameters() if name.startswith("encoder.")]
    grads = torch.autograd.grad(-enumerated_elbo(model, x).mean(), params)
    return torch.cat([g.reshape(-1) for g in grads])


def test_shapes_and_config(tiny):
    model, x = tiny
    assert model.encode(x).shape == (4, 2, 3)
    u = model.noise(5, x, gen(3))
    assert u.shape == (5, 4, 6) and bool(((u > 0) & (u < 1)).all())
    for estimator, baseline, k in (
        ("score_function", "leave_one_out", 5),
        ("gumbel_softmax", None, 5),
        ("straight_through", None, 1),
    ):
        terms = model.elbo_terms_from_noise(
            x, u[:k], estimator, model.check_options(estimator, baseline, k)
        )
        assert all(t.shape == (4,) for t in terms)
    assert all(t.shape == (4,) for t in model.bound_terms_from_noise(x, u))
    assert model.log_weights(x, u).shape == (5, 4)
    rebuilt = cv.CategoricalVAE(**model.config, generator=gen(1)).to(DTYPE)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), rebuilt.parameters()))
    assert model.config["categories"] == 3 and model.decoder[0].in_features == 6
    images = model.sample(7, generator=gen(4), binary=True)
    assert images.shape == (7, 6) and set(images.unique().tolist()) <= {0.0, 1.0}
    assert model.reconstruct(x).shape == (4, 6)


def test_kl_against_torch_kl_divergence():
    logits = torch.linspace(-12.0, 12.0, 5 * 8 * 4, dtype=DTYPE).reshape(5, 8, 4)
    q = D.Independent(D.OneHotCategorical(logits=logits), 1)
    prior = D.Independent(D.OneHotCategorical(logits=torch.zeros_like(logits)), 1)
    torch.testing.assert_close(
        cv.categorical_kl(logits), D.kl_divergence(q, prior), rtol=1e-10, atol=1e-12
    )
    with pytest.raises(ValueError, match="finite"):
        cv.categorical_kl(torch.tensor([[math.nan, 0.0]]))
    with pytest.raises(ValueError, match="shape"):
        cv.categorical_kl(torch.zeros(4))
    with pytest.raises(TypeError, match="logits"):
        cv.categorical_kl([[0.0, 1.0]])


def test_exact_elbo_by_enumeration_against_the_estimate(tiny):
    model, x = tiny
    exact = enumerated_elbo(model, x)
    torch.testing.assert_close(cv.exact_elbo(model, x), exact, rtol=1e-12, atol=1e-12)
    values = vae.evaluate_bound(
        model, x.expand(20_000, 4, 6), num_samples=1, generator=gen(5)
    )  # hard codes
    se = values.std(0) / math.sqrt(len(values))
    assert ((values.mean(0) - exact).abs() < 5 * se).all(), (values.mean(0), exact, se)
    for estimator, baseline, k in (
        ("score_function", "leave_one_out", 2),
        ("straight_through", None, 1),
    ):
        estimate = vae.elbo(
            model,
            x.expand(20_000, 4, 6),
            num_samples=k,
            estimator=estimator,
            baseline=baseline,
            generator=gen(6),
        ).detach()  # the value at hard codes: unbiased
        assert ((estimate.mean(0) - exact).abs() < 5 * estimate.std(0) / math.sqrt(20_000)).all()
    iwae = vae.evaluate_bound(model, x, bound="iwae", num_samples=4000, generator=gen(7))
    assert (iwae > exact).all()


def test_rloo_encoder_gradient_is_unbiased_and_the_relaxed_ones_are_not(tiny):
    model, x = tiny
    exact = exact_encoder_gradient(model, x)
    draws = vae.encoder_gradients(
        model,
        x,
        num_draws=4000,
        num_samples=2,
        estimator="score_function",
        baseline="leave_one_out",
        generator=gen(8),
    )
    se = draws.std(0) / math.sqrt(len(draws))
    assert ((draws.mean(0) - exact).abs() <= 5 * se + 1e-12).all()
    relaxed = vae.encoder_gradients(
        model, x, num_draws=4000, estimator="gumbel_softmax", generator=gen(8)
    )
    se = relaxed.std(0) / math.sqrt(len(relaxed))
    assert (
        float(((relaxed.mean(0) - exact).abs()[se > 0] / se[se > 0]).max()) > 10
    )  # biased at tau = 0.5


def test_annealed_temperature():
    assert cv.annealed_temperature(1.0, 0.5, 0, 200) == 1.0
    assert cv.annealed_temperature(1.0, 0.5, 199, 200) == pytest.approx(0.5)
    assert cv.annealed_temperature(1.0, 0.5, 100, 201) == pytest.approx(math.sqrt(0.5))
    assert cv.annealed_temperature(0.7, None, 5, 10) == 0.7
    model = cv.CategoricalVAE(6, 2, 3, (8,), temperature=2.0, anneal_to=0.5)
    model.start_epoch(3, 4)
    assert model.current_temperature == pytest.approx(0.5)
    x = (torch.rand(20, 6, generator=gen(12)) < 0.5).float()
    training.train(
        model,
        x,
        epochs=3,
        batch_size=10,
        estimator="gumbel_softmax",
        progress=False,
        generator=gen(13),
    )
    assert model.current_temperature == pytest.approx(0.5) and model.config["temperature"] == 2.0
    with pytest.raises(ValueError, match="epoch"):
        cv.annealed_temperature(1.0, 0.5, 10, 10)


def test_options_and_bad_input(tiny):
    model, x = tiny
    with pytest.raises(ValueError, match="estimator must be one of"):
        vae.elbo(model, x, estimator="disarm")
    with pytest.raises(ValueError, match="estimator must be one of"):
        vae.elbo(model, x, estimator="reinforce")
    with pytest.raises(ValueError, match="baseline is only used"):
        vae.elbo(model, x, estimator="gumbel_softmax", baseline="leave_one_out", num_samples=2)
    with pytest.raises(ValueError, match="num_samples >= 2"):
        vae.elbo(model, x, estimator="score_function", baseline="leave_one_out")
    with pytest.raises(ValueError, match="categories"):
        cv.CategoricalVAE(6, 2, 1)
    for bad in (0.0, -1.0, math.inf):
        with pytest.raises(ValueError, match="temperature"):
            cv.CategoricalVAE(6, 2, 3, temperature=bad)
        with pytest.raises(ValueError, match="anneal_to"):
            cv.CategoricalVAE(6, 2, 3, anneal_to=bad)
    with pytest.raises(TypeError, match="CategoricalVAE"):
        cv.exact_elbo(vae.VAE(6, 3), x.float())
    with pytest.raises(ValueError, match="4096"):
        cv.exact_elbo(cv.CategoricalVAE(6, 8, 4), x.float())


def test_training_reduces_the_loss():
    x = (torch.rand(200, 64, generator=gen(9)) < 0.3).float()
    for estimator, baseline, k in (
        ("score_function", "leave_one_out", 2),
        ("gumbel_softmax", None, 1),
        ("straight_through", None, 1),
    ):
        model = cv.CategoricalVAE(64, 4, 4, (32,), generator=gen(10))
        history = training.train(
            model,
            x,
            test_data=x[:50],
            epochs=8,
            batch_size=50,
            lr=3e-3,
            estimator=estimator,
            baseline=baseline,
            num_samples=k,
            generator=gen(11),
            progress=False,
        )
        assert history["test_elbo"][-1] > history["test_elbo"][0] + 1.0, (
            estimator,
            history["test_elbo"],
        )


def test_cli_round_trip_on_digits(tmp_path):
    out = tmp_path / "run"
    argv = [
        "train-vae",
        "--latent",
        "categorical",
        "--latent-dim",
        "8",
        "--categories",
        "4",
        "--estimator",
        "gumbel_softmax",
        "--temperature",
        "1.0",
        "--anneal-to",
        "0.5",
        "--epochs",
        "2",
        "--no-progress",
        "--iwae-samples",
        "20",
        "--out",
        str(out),
    ]
    assert cli.main(argv) == 0
    metrics = json.loads((out / training.METRICS_NAME).read_text())
    assert metrics["latent"] == "categorical" and metrics["model_config"]["categories"] == 4
    assert (
        metrics["model_config"]["temperature"] == 1.0
        and metrics["model_config"]["anneal_to"] == 0.5
    )
    assert 20 < metrics["final"]["test_neg_elbo"] < 60
    rloo = [
        "train-vae",
        "--latent",
        "categorical",
        "--latent-dim",
        "8",
        "--categories",
        "4",
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
        "0",
        "--out",
        str(tmp_path / "rloo"),
    ]
    assert cli.main(rloo) == 0
