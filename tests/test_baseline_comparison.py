"""Tests of lecture9.studies.baseline_comparison against closed forms on the Fig. 2 problem."""

from __future__ import annotations

import pytest
import torch

from lecture9.studies import baseline_comparison as bc

SETTINGS = dict(decay=0.9, batch_size=16, group_size=4)


def test_exact_variances_are_the_closed_forms():
    # f = (x - k)^2 at mu = sigma = 1, d = mu - k: no baseline d^4 + 14 d^2 + 15 (loc), pathwise 4 (loc), 8 + 4 d^2 (scale)
    for k in (-1.0, 2.5):
        d = 1.0 - k
        loc = bc.exact_method_variances(bc.quadratic_cost(k), 1.0, 1.0, "loc", **SETTINGS)
        scale = bc.exact_method_variances(bc.quadratic_cost(k), 1.0, 1.0, "scale", **SETTINGS)
        assert loc["no baseline"] == pytest.approx(d**4 + 14 * d**2 + 15, rel=1e-8)
        assert loc["pathwise"] == pytest.approx(4.0, rel=1e-8)
        assert scale["pathwise"] == pytest.approx(8 + 4 * d**2, rel=1e-8)
        # the optimal constant is the floor of the constant baselines; RLOO pays about K / (K - 1)
        assert loc["optimal baseline"] <= min(
            loc["moving average"], loc["RLOO (K = 4)"], loc["no baseline"]
        )
        assert list(loc) == list(bc.method_names(4))


def test_measured_variances_are_within_five_standard_errors():
    ks = [-2.0, 1.0, 3.0]
    measured, se = bc.measured_method_variances(
        ks,
        num_samples=20_000,
        num_steps=400,
        generator=torch.Generator().manual_seed(0),
        **SETTINGS,
    )
    for p in ("loc", "scale"):
        for m in bc.method_names(4):
            exact = torch.tensor(
                [
                    bc.exact_method_variances(bc.quadratic_cost(k), 1.0, 1.0, p, **SETTINGS)[m]
                    for k in ks
                ]
            )
            z = (measured[p][m] - exact).abs() / se[p][m]
            assert (z < 5).all(), (p, m, z)


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="decay"):
        bc.exact_method_variances(
            bc.quadratic_cost(0.0), 1.0, 1.0, "loc", decay=1.0, batch_size=16, group_size=4
        )
    with pytest.raises(ValueError, match="group_size"):
        bc.exact_method_variances(
            bc.quadratic_cost(0.0), 1.0, 1.0, "loc", decay=0.9, batch_size=16, group_size=1
        )
    with pytest.raises(ValueError, match="param"):
        bc.exact_method_variances(bc.quadratic_cost(0.0), 1.0, 1.0, "rate", **SETTINGS)
    with pytest.raises(ValueError, match="multiple of group_size"):
        bc.measured_method_variances([0.0], num_samples=10, num_steps=1, **SETTINGS)
