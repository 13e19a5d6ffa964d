"""The estimator registry: one name, one function, its properties; and the models' hooks."""

from __future__ import annotations

import pytest
import torch

from lecture9 import estimators, training, vae
from lecture9.studies import cost_counting

D = torch.distributions
NORMAL = {
    "loc": torch.tensor(0.5, dtype=torch.float64),
    "scale": torch.tensor(1.5, dtype=torch.float64),
}
BERNOULLI = {"logits": torch.tensor([0.3, -0.2], dtype=torch.float64)}


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def problem(spec):
    """A problem every registered estimator accepts: a family it takes and a differentiable cost."""
    if spec.families is None or "Normal" in spec.families:
        return (lambda x: (x - 2.0) ** 2), D.Normal, NORMAL
    return (
        (lambda b: ((b - 0.4) ** 2).sum(-1)),
        (lambda logits: D.Independent(D.Bernoulli(logits=logits), 1)),
        BERNOULLI,
    )


def test_every_name_maps_to_its_function_with_the_names_options():
    assert set(estimators.REGISTRY) == {
        "score_function",
        "score_function_optimal_baseline",
        "pathwise",
        "measure_valued",
        "measure_valued_coupled",
        "gumbel_softmax",
        "straight_through",
        "disarm",
    }
    assert estimators.get("pathwise").function is estimators.pathwise_grad
    assert estimators.get("measure_valued").options == {"coupled": False}
    for name, spec in estimators.REGISTRY.items():
        assert spec.name == name and estimators.get(name) is spec
        f, family, params = problem(spec)
        direct = spec.function(f, family, params, 64, generator=gen(1), **spec.options)
        via = spec.grad(f, family, params, 64, generator=gen(1))
        for key in direct:
            torch.testing.assert_close(via[key], direct[key])


def test_properties_answer_what_an_estimator_needs():
    assert estimators.names(temperature=True) == ("gumbel_softmax", "straight_through")
    assert set(estimators.names(unbiased=False)) == {"gumbel_softmax", "straight_through"}
    assert estimators.names(reparameterizable=True) == ("pathwise",)
    assert set(estimators.names(differentiable_cost=True)) == {
        "pathwise",
        "gumbel_softmax",
        "straight_through",
    }
    assert estimators.get("score_function").terms is estimators.score_function_terms
    assert estimators.get("pathwise").terms_at == "noise"


@pytest.mark.parametrize("name", sorted(estimators.REGISTRY))
def test_evaluations_per_sample_are_the_registered_counts(name):
    spec = estimators.get(name)
    f, family, params = problem(spec)
    counted = cost_counting.evaluations_per_sample(name, f, family, params, 100, generator=gen(2))
    size = 2 if spec.per_parameter else 1
    assert counted == spec.evaluations * size


def test_unknown_names_and_double_registration_are_refused():
    with pytest.raises(ValueError, match="estimator must be one of"):
        estimators.get("reinforce")
    with pytest.raises(ValueError, match="registered already"):
        estimators.registry.register("pathwise")(lambda *a, **k: None)


def test_the_training_loop_calls_the_epoch_hook_before_each_epoch():
    class Recording(vae.VAE):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.seen = []

        def start_epoch(self, epoch, epochs):
            self.seen.append((epoch, epochs))

    model = Recording(input_dim=4, latent_dim=2, hidden_dims=(3,), generator=gen(3))
    data = (torch.rand(20, 4, generator=gen(4)) > 0.5).float()
    training.train(model, data, epochs=3, batch_size=10, generator=gen(5), progress=False)
    assert model.seen == [(0, 3), (1, 3), (2, 3)]
