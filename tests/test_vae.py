"""Tests of lecture9.vae: the KL, the ELBO, the IWAE bound and the two encoder-gradient estimators."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from lecture9 import data, vae

pytestmark = pytest.mark.usefixtures("one_thread")


def small_model(seed=0, **kw):
    args = dict(input_dim=6, latent_dim=2, hidden_dims=(5,), activation="tanh")
    args.update(kw)
    return vae.VAE(**args, generator=torch.Generator().manual_seed(seed))


def binary_data(n, d, seed=1):
    return torch.bernoulli(torch.full((n, d), 0.4), generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------------------- KL


def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    loc = 3 * torch.randn(500, 4, generator=g, dtype=torch.float64)
    scale = torch.exp(2 * torch.randn(500, 4, generator=g, dtype=torch.float64))
    expected = kl_divergence(Normal(loc, scale), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(vae.gaussian_kl(loc, scale), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("loc_value", [0.0, -50.0, 1e3])
@pytest.mark.parametrize("scale_value", [1e-6, 1e-3, 1.0, 1e3])
def test_gaussian_kl_extreme_values(loc_value, scale_value):
    loc = torch.full((3, 2), loc_value, dtype=torch.float64)
    scale = torch.full((3, 2), scale_value, dtype=torch.float64)
    expected = kl_divergence(Normal(loc, scale), Normal(0.0, 1.0)).sum(-1)
    kl = vae.gaussian_kl(loc, scale)
    assert torch.isfinite(kl).all()
    torch.testing.assert_close(kl, expected, rtol=1e-12, atol=1e-12)
    # and the hand formula 0.5 * sum(mu^2 + s^2 - 1 - log s^2)
    hand = 2 * 0.5 * (loc_value**2 + scale_value**2 - 1 - math.log(scale_value**2))
    assert kl[0].item() == pytest.approx(hand, rel=1e-12)


def test_gaussian_kl_zero_at_the_prior_and_errors():
    assert vae.gaussian_kl(torch.zeros(4, 3), torch.ones(4, 3)).abs().max() == 0
    with pytest.raises(ValueError, match="same shape"):
        vae.gaussian_kl(torch.zeros(3), torch.ones(4))
    with pytest.raises(ValueError, match="scale must be finite and > 0"):
        vae.gaussian_kl(torch.zeros(3), torch.tensor([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="loc must be finite"):
        vae.gaussian_kl(torch.tensor([float("nan")]), torch.ones(1))
    with pytest.raises(TypeError, match="torch.Tensor"):
        vae.gaussian_kl([0.0], torch.ones(1))


# ----------------------------------------------------------------------------- model


def test_model_shapes_and_config():
    m = vae.VAE(
        input_dim=64,
        latent_dim=3,
        hidden_dims=(16, 8),
        activation="relu",
        generator=torch.Generator(),
    )
    x = torch.zeros(7, 64)
    loc, scale = m.encode(x)
    assert loc.shape == scale.shape == (7, 3) and (scale > 0).all()
    assert m.decode(torch.zeros(2, 5, 3)).shape == (2, 5, 64)
    assert vae.VAE(**m.config).config == m.config
    g = torch.Generator().manual_seed(0)
    s = m.sample(4, generator=g)
    assert s.shape == (4, 64) and ((s > 0) & (s < 1)).all()
    sb = m.sample(4, generator=g, binary=True)
    assert set(sb.unique().tolist()) <= {0.0, 1.0}
    assert m.reconstruct(x).shape == (7, 64)
    m_exp = vae.VAE(input_dim=4, latent_dim=2, hidden_dims=3, scale_param="exp")
    _, s_exp = m_exp.encode(torch.zeros(1, 4))
    raw = m_exp.encoder(torch.zeros(1, 4))[:, 2:]
    torch.testing.assert_close(s_exp, torch.exp(0.5 * raw))


def test_generator_initialization_is_reproducible_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    a = small_model(seed=3)
    b = small_model(seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    bound = 1 / math.sqrt(6)
    w = a.encoder[0].weight
    assert w.abs().max() <= bound


def test_model_constructor_errors():
    with pytest.raises(ValueError, match="latent_dim"):
        vae.VAE(latent_dim=0)
    with pytest.raises(ValueError, match="activation"):
        vae.VAE(activation="swishy")
    with pytest.raises(ValueError, match="scale_param"):
        vae.VAE(scale_param="square")
    with pytest.raises(ValueError, match="hidden_dims"):
        vae.VAE(hidden_dims=(0,))
    with pytest.raises(TypeError, match="generator"):
        vae.VAE(generator=1)


# ----------------------------------------------------------------------------- ELBO


def test_elbo_equals_reconstruction_minus_kl_per_sample():
    """Reseed and recompute the ELBO by hand with torch.distributions."""
    m = small_model()
    x = binary_data(9, 6)
    out, recon, kl = vae.elbo_terms(m, x, num_samples=3, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(out, recon - kl)
    eps = torch.randn(3, 9, 2, generator=torch.Generator().manual_seed(5))
    loc, scale = m.encode(x)
    z = loc + scale * eps
    hand_recon = Bernoulli(logits=m.decode(z)).log_prob(x).sum(-1).mean(0)
    hand_kl = kl_divergence(Normal(loc, scale), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(recon, hand_recon)
    torch.testing.assert_close(kl, hand_kl)
    assert out.shape == (9,)
    # the public elbo is the first term; the score-function variant has the same value for the same noise
    same = vae.elbo(m, x, num_samples=3, generator=torch.Generator().manual_seed(5))
    sf = vae.elbo(
        m, x, num_samples=3, estimator="score_function", generator=torch.Generator().manual_seed(5)
    )
    torch.testing.assert_close(same, out)
    torch.testing.assert_close(sf, out)


def test_elbo_batch_shapes():
    m = small_model()
    x = binary_data(12, 6).reshape(3, 4, 6)
    assert vae.elbo(m, x, num_samples=2).shape == (3, 4)
    assert vae.elbo(m, x[0, 0]).shape == ()
    assert vae.iwae_bound(m, x, 3).shape == (3, 4)


def _bounds(m, x, k, reps, seed):
    g = torch.Generator().manual_seed(seed)
    xr = x.expand(reps, *x.shape)
    return vae.iwae_bound(m, xr, k, generator=g).detach()


def test_elbo_le_iwae_k_le_iwae_k_prime_on_average():
    d = data.load_binarized_digits()
    m = vae.VAE(
        input_dim=64, latent_dim=4, hidden_dims=(32,), generator=torch.Generator().manual_seed(0)
    )
    x = d.x_test
    reps = 20
    with torch.no_grad():
        g = torch.Generator().manual_seed(1)
        elbos = vae.elbo(m, x.expand(reps, *x.shape), generator=g)
        i5 = _bounds(m, x, 5, reps, 2)
        i50 = _bounds(m, x, 50, reps, 3)
    for low, high in [(elbos, i5), (i5, i50)]:
        diff = (high - low).mean(0)  # per datapoint, averaged over replicates
        se = diff.std() / math.sqrt(len(diff))
        assert diff.mean() > 5 * se  # strictly larger, significantly


def test_iwae_one_sample_equals_elbo_in_expectation():
    m = small_model()
    x = binary_data(50, 6)
    n = 4000
    with torch.no_grad():
        i1 = vae.iwae_bound(m, x.expand(n, 50, 6), 1, generator=torch.Generator().manual_seed(0))
        e = vae.elbo(m, x.expand(n, 50, 6), generator=torch.Generator().manual_seed(1))
    diff = i1.mean(0) - e.mean(0)  # per datapoint
    se = torch.sqrt((i1.var(0) + e.var(0)) / n)
    assert (diff.abs() < 5 * se).all()
    # with the same noise, IWAE(1) is the ELBO with the KL estimated by Monte Carlo instead of in closed form
    with torch.no_grad():
        i1 = vae.iwae_bound(m, x, 1, generator=torch.Generator().manual_seed(7))
        _, recon, _ = vae.elbo_terms(m, x, generator=torch.Generator().manual_seed(7))
        eps = torch.randn(1, 50, 2, generator=torch.Generator().manual_seed(7))
        loc, scale = m.encode(x)
        z = (loc + scale * eps)[0]
        mc_kl = (Normal(loc, scale).log_prob(z) - Normal(0.0, 1.0).log_prob(z)).sum(-1)
    torch.testing.assert_close(i1, recon - mc_kl)


def test_log_likelihood_is_the_iwae_bound_and_above_the_elbo():
    m = small_model()
    x = binary_data(30, 6)
    ll = vae.log_likelihood(m, x, 7, generator=torch.Generator().manual_seed(0), batch_size=30)
    iw = vae.iwae_bound(m, x, 7, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(ll, iw.detach())
    big = vae.log_likelihood(m, x, 1000, generator=torch.Generator().manual_seed(1), batch_size=8)
    assert big.shape == (30,) and not big.requires_grad
    with torch.no_grad():
        e = vae.elbo(m, x.expand(200, 30, 6), generator=torch.Generator().manual_seed(2)).mean(0)
    assert (big > e).all()
    with pytest.raises(ValueError, match="batch_size"):
        vae.log_likelihood(m, x, 10, batch_size=0)


# ----------------------------------------------------------------------------- gradients


def test_encoder_gradients_match_explicit_backward_passes():
    m = small_model()
    x = binary_data(8, 6)
    for estimator in vae.ESTIMATORS:
        grads = vae.encoder_gradients(
            m,
            x,
            num_draws=3,
            num_samples=2,
            estimator=estimator,
            generator=torch.Generator().manual_seed(4),
        )
        eps = torch.randn(3, 2, 8, 2, generator=torch.Generator().manual_seed(4))
        for i in range(3):
            m.zero_grad()
            value = m.elbo_terms_from_noise(x, eps[i], estimator, None)[0]
            (-value.mean()).backward()
            explicit = torch.cat([p.grad.reshape(-1) for p in m.encoder.parameters()])
            torch.testing.assert_close(grads[i], explicit, rtol=1e-5, atol=1e-6)


def test_decoder_gradient_is_the_same_for_both_estimators():
    m = small_model()
    x = binary_data(8, 6)
    dec = {}
    for estimator in vae.ESTIMATORS:
        m.zero_grad()
        (
            -vae.elbo(m, x, estimator=estimator, generator=torch.Generator().manual_seed(0)).mean()
        ).backward()
        dec[estimator] = torch.cat([p.grad.reshape(-1) for p in m.decoder.parameters()])
    torch.testing.assert_close(dec["pathwise"], dec["score_function"])


def test_pathwise_and_score_function_encoder_gradients_agree_in_expectation():
    m = small_model()
    x = binary_data(4, 6)
    n = 20000
    results = {}
    for name, estimator, baseline, k in [
        ("pathwise", "pathwise", None, 2),
        ("score_function", "score_function", None, 2),
        ("rloo", "score_function", "leave_one_out", 2),
    ]:
        g = vae.encoder_gradients(
            m,
            x,
            num_draws=n,
            num_samples=k,
            estimator=estimator,
            baseline=baseline,
            generator=torch.Generator().manual_seed(len(results)),
            chunk_size=None,
        )
        results[name] = (g.mean(0), g.var(0))
    m_pw, v_pw = results["pathwise"]
    for name in ("score_function", "rloo"):
        m_sf, v_sf = results[name]
        se = torch.sqrt((v_pw + v_sf) / n)
        assert ((m_pw - m_sf).abs() <= 5 * se + 1e-7).all(), name
    # the reparameterization gradient has the smaller variance, and the baseline helps REINFORCE
    assert v_pw.sum() < results["rloo"][1].sum() < results["score_function"][1].sum()
    # not a vacuous check: the mean gradient is clearly non-zero
    assert (m_pw.abs() > 10 * torch.sqrt(v_pw / n)).any()


def test_encoder_gradient_variance_summary():
    """Against an independent computation: explicit backward passes written out here, NumPy moments,
    and the signal as the U-statistic mean over pairs i != j of g_i . g_j (unbiased for ||E g||^2)."""
    import numpy as np

    m = small_model()
    x = binary_data(8, 6)
    n = 50
    out = vae.encoder_gradient_variance(
        m, x, num_draws=n, estimator="score_function", generator=torch.Generator().manual_seed(0)
    )
    eps = torch.randn(n, 1, 8, 2, generator=torch.Generator().manual_seed(0))
    rows = []
    for i in range(n):
        m.zero_grad()
        loc, scale = m.encode(x)
        z = (loc + scale * eps[i]).detach()
        log_px = Bernoulli(logits=m.decode(z)).log_prob(x).sum(-1)
        log_q = Normal(loc, scale).log_prob(z).sum(-1)
        kl = kl_divergence(Normal(loc, scale), Normal(0.0, 1.0)).sum(-1)
        # REINFORCE surrogate for the reconstruction term, exact KL gradient
        (-(log_px.detach() * log_q + log_px - kl).mean()).backward()
        rows.append(
            np.concatenate([p.grad.double().numpy().ravel() for p in m.encoder.parameters()])
        )
    g = np.stack(rows)
    assert out["total_variance"] == pytest.approx(float(g.var(axis=0, ddof=1).sum()), rel=1e-4)
    gram = g @ g.T
    u_stat = (gram.sum() - np.trace(gram)) / (n * (n - 1))
    assert out["mean_norm_sq"] == pytest.approx(
        float(u_stat), rel=1e-4, abs=1e-6 * out["total_variance"]
    )
    assert out["num_draws"] == n


def test_encoder_gradient_mean_norm_sq_is_unbiased():
    """E[||mean of n draws||^2] = ||g||^2 + tr Cov / n: the returned value removes the noise term.

    Exact check: average the estimate over many independent batches of n = 4 draws and compare
    with ||g||^2 from the mean of all draws (whose own bias, tr Cov / N, is accounted for).
    """
    m = small_model()
    x = binary_data(8, 6)
    n, batches = 4, 2000
    g = vae.encoder_gradients(
        m,
        x,
        num_draws=n * batches,
        estimator="score_function",
        generator=torch.Generator().manual_seed(3),
        chunk_size=None,
    ).double()
    tr_cov = g.var(0).sum()
    truth = g.mean(0).square().sum() - tr_cov / len(g)
    per_batch = g.reshape(batches, n, -1)
    plug_in = per_batch.mean(1).square().sum(-1)
    unbiased = plug_in - per_batch.var(1).sum(-1) / n
    se = unbiased.std() / math.sqrt(batches)
    assert abs(unbiased.mean() - truth) < 5 * se
    # the noise term is large here, so the plug-in value is clearly biased upwards
    assert plug_in.mean() - truth > 5 * plug_in.std() / math.sqrt(batches)
    assert (plug_in.mean() - truth) == pytest.approx(tr_cov.item() / n, rel=0.2)
    with pytest.raises(ValueError, match="num_draws must be an integer >= 2"):
        vae.encoder_gradients(m, x, num_draws=1)


# ----------------------------------------------------------------------------- numerics


def _extreme_model(logit, raw_scale, scale_param):
    m = small_model(scale_param=scale_param, min_scale=0.0)
    with torch.no_grad():
        last_dec = m.decoder[-1]
        last_dec.weight.zero_()
        last_dec.bias.copy_(torch.tensor([logit, -logit] * 3))
        last_enc = m.encoder[-1]
        last_enc.weight[2:].zero_()
        last_enc.bias[2:] = raw_scale
    return m


@pytest.mark.parametrize("scale_param, raw_scale", [("softplus", -14.0), ("exp", -27.6)])
@pytest.mark.parametrize("logit", [100.0, -100.0])
@pytest.mark.parametrize("estimator", vae.ESTIMATORS)
def test_no_nan_or_inf_at_extreme_logits_and_scales(scale_param, raw_scale, logit, estimator):
    m = _extreme_model(logit, raw_scale, scale_param)
    x = binary_data(5, 6)
    _, scale = m.encode(x)
    assert scale.max() < 2e-6 and scale.min() > 0
    out = vae.elbo(
        m, x, num_samples=2, estimator=estimator, generator=torch.Generator().manual_seed(0)
    )
    assert torch.isfinite(out).all()
    # a mismatched pixel at logit +-100 costs exactly 100 nats (no overflow to inf)
    (-out.mean()).backward()
    for p in m.parameters():
        assert torch.isfinite(p.grad).all()
    iw = vae.iwae_bound(m, x, 10, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(iw).all()
    assert torch.isfinite(vae.log_likelihood(m, x, 50)).all()


def test_bernoulli_term_at_logit_100_is_exact():
    m = _extreme_model(100.0, 0.0, "softplus")
    x = torch.tensor([[1.0, 1.0, 0.0, 0.0, 1.0, 0.0]])  # logits +100,-100,+100,-100,+100,-100
    _, recon, _ = vae.elbo_terms(m, x, generator=torch.Generator().manual_seed(0))
    # mismatches: pixel 2 (logit -100, x=1), pixel 3 (logit +100, x=0) -> -200 nats (+ tiny terms)
    assert recon.item() == pytest.approx(-200.0, abs=1e-3)


# ----------------------------------------------------------------------------- bad input


def test_bad_input_errors():
    m = small_model()
    x = binary_data(4, 6)
    with pytest.raises(ValueError, match=r"expects \(batch, 6\)"):
        vae.elbo(m, torch.zeros(4, 7))
    with pytest.raises(ValueError, match=r"expects \(batch, 6\)"):
        vae.iwae_bound(m, torch.zeros(4, 5), 3)
    with pytest.raises(ValueError, match="num_samples must be >= 1"):
        vae.elbo(m, x, num_samples=0)
    with pytest.raises(ValueError, match="num_samples must be >= 1"):
        vae.iwae_bound(m, x, 0)
    with pytest.raises(TypeError, match="num_samples must be a positive integer"):
        vae.elbo(m, x, num_samples=1.5)
    with pytest.raises(ValueError, match="estimator must be one of"):
        vae.elbo(m, x, estimator="reinforce")
    with pytest.raises(ValueError, match="estimator must be one of"):
        vae.encoder_gradients(m, x, estimator="measure_valued")
    with pytest.raises(ValueError, match="only used by estimator='score_function'"):
        vae.elbo(m, x, baseline=1.0)
    for baseline in (1.0, "leave_one_out", torch.zeros(2, 4), lambda cost: cost.mean(0)):
        with pytest.raises(ValueError, match="only used by estimator='score_function'"):
            vae.encoder_gradients(m, x, num_samples=2, estimator="pathwise", baseline=baseline)
        with pytest.raises(ValueError, match="only used by estimator='score_function'"):
            vae.encoder_gradient_variance(
                m, x, num_samples=2, estimator="pathwise", baseline=baseline
            )
    with pytest.raises(ValueError, match="needs num_samples >= 2"):
        vae.elbo(m, x, estimator="score_function", baseline="leave_one_out")
    with pytest.raises(ValueError, match="baseline must be one of"):
        vae.elbo(m, x, estimator="score_function", baseline="optimal")
    with pytest.raises(TypeError, match="floating tensor"):
        vae.elbo(m, x.long())
    with pytest.raises(TypeError, match="torch.Tensor"):
        vae.elbo(m, x.tolist())
    with pytest.raises(TypeError, match="lecture9.vae.VAE"):
        vae.elbo(torch.nn.Linear(6, 6), x)
    with pytest.raises(TypeError, match="generator"):
        vae.elbo(m, x, generator=0)


@pytest.mark.parametrize("shape", [(3,), (2, 3), (3, 2, 4), (2, 2, 4)])
def test_baseline_of_the_wrong_shape_names_baseline(shape):
    m = small_model()
    x = binary_data(4, 6)  # cost shape (num_samples, batch) = (2, 4)
    bad = torch.zeros(shape)
    with pytest.raises(
        ValueError, match=r"baseline has shape .* does not broadcast to the cost's shape .*\(2, 4\)"
    ):
        vae.elbo(m, x, num_samples=2, estimator="score_function", baseline=bad)
    with pytest.raises(ValueError, match=r"baseline has shape .*\(2, 4\)"):
        vae.encoder_gradients(
            m, x, num_draws=3, num_samples=2, estimator="score_function", baseline=bad
        )
    with pytest.raises(ValueError, match=r"baseline callable has shape"):
        vae.elbo(
            m,
            x,
            num_samples=2,
            estimator="score_function",
            baseline=lambda cost: torch.zeros(shape),
        )
    with pytest.raises(ValueError, match=r"baseline callable has shape"):
        vae.encoder_gradients(
            m,
            x,
            num_draws=3,
            num_samples=2,
            estimator="score_function",
            baseline=lambda cost: torch.zeros(shape),
        )
    # shapes that broadcast to (2, 4) are fine
    for good in (
        torch.zeros(()),
        torch.zeros(4),
        torch.zeros(1, 4),
        torch.zeros(2, 1),
        torch.zeros(2, 4),
    ):
        vae.elbo(m, x, num_samples=2, estimator="score_function", baseline=good)
        vae.encoder_gradients(
            m, x, num_draws=3, num_samples=2, estimator="score_function", baseline=good
        )


def test_score_function_with_constant_and_callable_baselines():
    m = small_model()
    x = binary_data(4, 6)
    previous = None
    for baseline in (-5.0, torch.tensor(-5.0), lambda cost: cost.mean(0, keepdim=True) * 0 - 5.0):
        m.zero_grad()
        out = vae.elbo(
            m,
            x,
            estimator="score_function",
            baseline=baseline,
            generator=torch.Generator().manual_seed(0),
        )
        (-out.mean()).backward()
        g = torch.cat([p.grad.reshape(-1) for p in m.encoder.parameters()])
        if not isinstance(baseline, float):
            torch.testing.assert_close(g, previous)
        previous = g


# ----------------------------------------------------------------------------- bad and extreme input


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"hidden_dims": "abc"}, TypeError, "hidden_dims must be a sequence of positive integers"),
        ({"hidden_dims": (2.7,)}, TypeError, "hidden_dims must be a sequence of positive integers"),
        ({"min_scale": "x"}, TypeError, "min_scale must be a number"),
        ({"min_scale": math.nan}, ValueError, "min_scale must be finite"),
        ({"latent_dim": 2.5}, TypeError, "latent_dim must be a positive integer"),
    ],
    ids=["hidden-str", "hidden-float", "min-scale-str", "min-scale-nan", "latent-float"],
)
def test_constructor_type_errors(kwargs, err, match):
    with pytest.raises(err, match=match):
        small_model(**kwargs)


@pytest.mark.parametrize(
    "scale_param, raw_scale", [("softplus", -300.0), ("exp", -300.0), ("exp", 300.0)]
)
def test_elbo_stays_finite_with_min_scale_zero_and_extreme_raw_scales(scale_param, raw_scale):
    m = _extreme_model(3.0, raw_scale, scale_param)
    x = binary_data(5, 6)
    _, scale = m.encode(x)
    lo, hi = vae.SCALE_RANGE
    assert (scale >= lo * (1 - 1e-5)).all() and (
        scale <= hi * (1 + 1e-5)
    ).all()  # up to float32 rounding
    for estimator in vae.ESTIMATORS:
        out = vae.elbo(
            m, x, num_samples=2, estimator=estimator, generator=torch.Generator().manual_seed(0)
        )
        assert torch.isfinite(out).all()
        m.zero_grad()
        (-out.mean()).backward()
        assert all(torch.isfinite(p.grad).all() for p in m.parameters())
    assert torch.isfinite(
        vae.iwae_bound(m, x, 10, generator=torch.Generator().manual_seed(0))
    ).all()


def test_inputs_outside_the_unit_interval_and_of_another_dtype():
    m = small_model()
    x = binary_data(4, 6)
    for bad in (2.0, -0.5, math.nan):
        y = x.clone()
        y[1, 2] = bad
        with pytest.raises(ValueError, match=r"x must hold pixel values in \[0, 1\]"):
            vae.elbo(m, y)
    grey = x * 0.7  # grayscale intensities in [0, 1] stay allowed
    assert torch.isfinite(vae.elbo(m, grey, generator=torch.Generator().manual_seed(0))).all()
    with pytest.raises(
        TypeError, match=r"x has dtype torch.float32 but the model's parameters are torch.float64"
    ):
        vae.elbo(small_model().double(), x)


def test_empty_batch_is_consistent_between_elbo_and_log_likelihood():
    m = small_model()
    empty = torch.zeros(0, 6)
    assert vae.elbo(m, empty).shape == (0,)
    assert vae.log_likelihood(m, empty, 10).shape == (0,)
    assert vae.evaluate_bound(m, empty, bound="iwae", num_samples=3).shape == (0,)


def test_evaluate_bound_matches_elbo_and_iwae_bound_in_chunks():
    m = small_model()
    x = binary_data(7, 6)
    a = vae.evaluate_bound(
        m, x, num_samples=3, generator=torch.Generator().manual_seed(2), batch_size=7
    )
    with torch.no_grad():
        b = vae.elbo(m, x, num_samples=3, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(a, b)
    c = vae.evaluate_bound(
        m, x, bound="iwae", num_samples=5, generator=torch.Generator().manual_seed(2), batch_size=7
    )
    with torch.no_grad():
        d = vae.iwae_bound(m, x, 5, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(c, d)
    with pytest.raises(ValueError, match="bound must be 'elbo' or 'iwae'"):
        vae.evaluate_bound(m, x, bound="kl")


def test_decode_checks_its_codes_and_the_hot_path_does_not():
    model = vae.VAE(input_dim=6, latent_dim=3, hidden_dims=(5,), generator=torch.Generator())
    z = torch.zeros(4, 3)
    assert model.decode(z).shape == (4, 6)
    with pytest.raises(ValueError, match="z must be finite"):
        model.decode(torch.full((4, 3), math.nan))
    with pytest.raises(ValueError, match=r"z must have shape \(\.\.\., 3\).*got \(4, 2\)"):
        model.decode(torch.zeros(4, 2))
    with pytest.raises(TypeError, match="z must be a floating-point tensor"):
        model.decode(torch.zeros(4, 3, dtype=torch.long))
    # the training loop's unchecked hook: a diverged code gives NaN, reported per epoch by train
    x = torch.zeros(4, 6)
    assert torch.isnan(model.decoder_log_likelihood(torch.full((4, 3), math.nan), x)).all()
