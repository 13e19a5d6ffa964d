"""lecture9.studies.overfitting: the VAE against the same network without noise."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from lecture9.studies import overfitting
from lecture9.vae import VAE, gaussian_kl

DATA = SimpleNamespace(
    x_train=(torch.rand(40, 6, generator=torch.Generator().manual_seed(0)) < 0.4).float(),
    x_test=(torch.rand(20, 6, generator=torch.Generator().manual_seed(1)) < 0.4).float(),
)
SMALL = dict(epochs=3, batch_size=10, lr=1e-2, model_config=dict(latent_dim=2, hidden_dims=(8,)))


def test_objectives_differ_by_the_noise_and_the_kl_term():
    model = VAE(
        input_dim=6, latent_dim=2, hidden_dims=(8,), generator=torch.Generator().manual_seed(2)
    )
    x = DATA.x_test
    with torch.no_grad():
        loc, scale = model.encode(x)
        plain = overfitting.objective(model, x, "autoencoder")
        with_kl = overfitting.objective(model, x, "autoencoder + KL")
        torch.testing.assert_close(plain - with_kl, gaussian_kl(loc, scale))
        # the VAE's objective with zero noise is the noiseless one with the KL term
        eps_free = overfitting.objective(
            model, x, "vae", generator=torch.Generator().manual_seed(3)
        )
    assert eps_free.shape == (20,)
    assert not torch.allclose(eps_free, with_kl)


def test_study_shapes_pairing_and_summary():
    study = overfitting.overfitting_study(
        DATA, variants=overfitting.VARIANTS, seeds=(0, 1), **SMALL
    )
    assert set(study) == set(overfitting.VARIANTS)
    for runs in study.values():
        assert runs["train"].shape == runs["test"].shape == (2, 3)
        assert torch.isfinite(runs["train"]).all()
    again = overfitting.train_variant(DATA, "vae", seed=1, **SMALL)
    torch.testing.assert_close(
        torch.tensor(again["test"], dtype=torch.float64), study["vae"]["test"][1]
    )
    summary = overfitting.summarize_study(study)
    row = summary["autoencoder"]
    assert row["gap"] == pytest.approx(
        float((study["autoencoder"]["train"] - study["autoencoder"]["test"])[:, -1].mean())
    )
    assert 1.0 <= row["best_epoch"] <= 3.0 and row["drop"] >= 0.0


def test_training_lowers_the_loss_and_num_train_subsets():
    history = overfitting.train_variant(
        DATA, "autoencoder", seed=0, num_train=20, **{**SMALL, "epochs": 15}
    )
    assert history["train"][-1] > history["train"][0]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        (dict(variant="noise"), ValueError),
        (dict(variant="vae", epochs=0), ValueError),
        (dict(variant="vae", lr=-1.0), ValueError),
        (dict(variant="vae", num_train=1000), ValueError),
        (dict(variant="vae", seed="a"), TypeError),
    ],
)
def test_arguments_are_validated(kwargs, error):
    with pytest.raises(error):
        overfitting.train_variant(DATA, **kwargs)


def test_study_arguments_are_validated():
    with pytest.raises(TypeError):
        overfitting.overfitting_study(DATA, variants="vae")
    with pytest.raises(TypeError):
        overfitting.overfitting_study(DATA, seeds=3)
