"""Tests of lecture9.studies.replicates: reductions over seeds against NumPy, paired runs, variances at fixed parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lecture9 import vae
from lecture9.studies import replicates

SMALL = dict(input_dim=6, latent_dim=2, hidden_dims=(5,))


def _histories():
    runs = {
        "a": [
            {"epoch": [1, 2, 3], "test_elbo": [-3.0, -2.0, -1.0]},
            {"epoch": [1, 2, 3], "test_elbo": [-5.0, -2.5, -2.0]},
            {"epoch": [1, 2, 3], "test_elbo": [-4.0, -3.0, -1.5]},
        ],
        "b": [
            {"epoch": [1, 2, 3], "test_elbo": [-3.5, -2.5, -1.25]},
            {"epoch": [1, 2, 3], "test_elbo": [-5.0, -3.0, -2.5]},
            {"epoch": [1, 2, 3], "test_elbo": [-4.0, -3.5, -1.0]},
        ],
    }
    return runs


def _data(n=40, generator=None):
    x = (torch.rand(n, 6, generator=generator) < 0.4).float()
    return x, torch.zeros(n), x[:10], torch.zeros(10)


def test_summarize_runs_is_the_mean_sd_and_range_over_seeds():
    summary = replicates.summarize_runs(_histories())
    values = np.array([[-3.0, -2.0, -1.0], [-5.0, -2.5, -2.0], [-4.0, -3.0, -1.5]])
    np.testing.assert_allclose(summary["a"]["mean"], values.mean(0))
    np.testing.assert_allclose(summary["a"]["std"], values.std(0, ddof=1))
    np.testing.assert_allclose(summary["a"]["min"], values.min(0))
    np.testing.assert_allclose(summary["a"]["max"], values.max(0))
    np.testing.assert_array_equal(summary["a"]["epoch"], [1, 2, 3])
    assert summary["b"]["values"].shape == (3, 3)


def test_final_summary_pairs_the_seeds():
    final = replicates.final_summary(_histories(), reference="a")
    diff = np.array([-1.25 - -1.0, -2.5 - -2.0, -1.0 - -1.5])
    assert final["b"]["diff_mean"] == pytest.approx(diff.mean())
    assert final["b"]["diff_std"] == pytest.approx(diff.std(ddof=1))
    assert final["a"]["diff_mean"] == 0.0 and final["a"]["diff_std"] == 0.0
    assert final["a"]["mean"] == pytest.approx(-1.5) and final["a"]["std"] == pytest.approx(0.5)
    assert final["a"]["min"] == -2.0 and final["a"]["max"] == -1.0


def test_one_seed_has_no_standard_deviation():
    summary = replicates.summarize_runs({"a": _histories()["a"][:1]})
    assert np.isnan(summary["a"]["std"]).all()


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="reference must be one of"):
        replicates.final_summary(_histories(), reference="c")
    with pytest.raises(KeyError, match="no entry 'train_elbo'"):
        replicates.summarize_runs(_histories(), key="train_elbo")
    ragged = {"a": [{"test_elbo": [1.0, 2.0]}, {"test_elbo": [1.0]}]}
    with pytest.raises(ValueError, match="different numbers of epochs"):
        replicates.summarize_runs(ragged)
    with pytest.raises(ValueError, match="distinct"):
        replicates.train_over_seeds({"p": {}}, _data(), seeds=(1, 1), epochs=1)
    with pytest.raises(ValueError, match="unknown keys"):
        replicates.train_over_seeds({"p": {"lr": 1.0}}, _data(), seeds=(1,), epochs=1)
    with pytest.raises(TypeError, match="non-empty dict"):
        replicates.train_over_seeds({}, _data(), seeds=(1,), epochs=1)


def test_train_over_seeds_is_paired_and_reproducible():
    data = _data(generator=torch.Generator().manual_seed(0))
    settings = {
        "pathwise": {},
        "score function": {
            "estimator": "score_function",
            "num_samples": 2,
            "baseline": "leave_one_out",
        },
    }
    histories, models = replicates.train_over_seeds(
        settings, data, seeds=(3, 4), epochs=2, model_config=SMALL, batch_size=10
    )
    again, _ = replicates.train_over_seeds(
        {"pathwise": {}}, data, seeds=(3,), epochs=2, model_config=SMALL, batch_size=10
    )
    assert [len(histories[k]) for k in settings] == [2, 2]
    assert (
        histories["pathwise"][0]["test_elbo"] == again["pathwise"][0]["test_elbo"]
    )  # same seed, same run
    assert (
        histories["pathwise"][0]["test_elbo"] != histories["pathwise"][1]["test_elbo"]
    )  # seeds differ
    # paired: at a seed, the start (weights, minibatch order) does not depend on the setting's label or position
    twins, _ = replicates.train_over_seeds(
        {"first": {}, "second": {}}, data, seeds=(4,), epochs=2, model_config=SMALL, batch_size=10
    )
    assert (
        twins["first"][0]["test_elbo"]
        == twins["second"][0]["test_elbo"]
        == histories["pathwise"][1]["test_elbo"]
    )
    assert all(math.isfinite(v) for h in histories["score function"] for v in h["test_elbo"])


def test_encoder_variance_over_models_is_the_package_measurement_model_by_model():
    x = _data(generator=torch.Generator().manual_seed(1))[0][:8]
    models = [vae.VAE(**SMALL, generator=torch.Generator().manual_seed(s)) for s in (0, 1)]
    settings = {"pw": {"num_samples": 2}, "sf": {"estimator": "score_function"}}
    got = replicates.encoder_variance_over_models(
        models, x, settings, num_draws=50, generator=torch.Generator().manual_seed(2)
    )
    gen = torch.Generator().manual_seed(2)
    want = {
        label: [
            vae.encoder_gradient_variance(
                m, x, num_draws=50, generator=gen, **{"estimator": "pathwise", **s}
            )["total_variance"]
            for m in models
        ]
        for label, s in settings.items()
    }
    for label in settings:
        np.testing.assert_allclose(got[label], want[label], rtol=1e-6)


def test_pathwise_variance_halves_with_two_samples_within_standard_errors():
    """Var of an average of S independent draws is Var / S: the S = 2 measurement is half the S = 1 one."""
    x = _data(generator=torch.Generator().manual_seed(5))[0][:8]
    model = vae.VAE(**SMALL, generator=torch.Generator().manual_seed(6))
    n = 2000
    got = replicates.encoder_variance_over_models(
        [model],
        x,
        {"1": {}, "2": {"num_samples": 2}},
        num_draws=n,
        generator=torch.Generator().manual_seed(7),
    )
    ratio = got["2"][0] / got["1"][0]
    # each total variance is a sum of sample variances from n draws: relative SE about sqrt(2 / n) at most each
    assert abs(ratio - 0.5) < 5 * 0.5 * math.sqrt(2 * 2 / n)
