"""Valid calls of every public function, class and method of lecture9, for tests/test_api_walk.py.

``VALID_CALLS[key]()`` returns the keyword arguments of one small, valid, fast call (or
``(callable, kwargs)`` for a method, bound to a fresh instance). ``key`` is
``"module.name"`` without the ``lecture9.`` prefix, the shortest module that exports the name.
``NOT_WALKED`` names what is deliberately not walked, each with the reason.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

D = torch.distributions


def gen():
    return torch.Generator().manual_seed(0)


def cost(x):
    return (x - 0.5) ** 2


def t(*values, dtype=torch.float64):
    return torch.tensor(values, dtype=dtype)


def ax():
    return plt.subplots()[1]


def normal_params():
    return {"loc": t(0.5, 1.0), "scale": t(1.0, 2.0)}


def bern_params():
    return {"logits": t(0.3, -1.0)}


def _lazy(module):
    import importlib

    return importlib.import_module(f"lecture9.{module}")


def mdp():
    return _lazy("policy_gradient").random_mdp(3, 2, horizon=4, discount=0.9, generator=gen())


def mdp_logits():
    return torch.zeros(3, 2, dtype=torch.float64)


def vae_model():
    return _lazy("vae").VAE(input_dim=6, latent_dim=2, hidden_dims=(4,), generator=gen())


def bvae_model():
    return _lazy("bernoulli_vae").BernoulliVAE(
        input_dim=6, latent_dim=3, hidden_dims=(4,), generator=gen()
    )


def cvae_model():
    return _lazy("categorical_vae").CategoricalVAE(
        input_dim=6, latent_dim=2, categories=3, hidden_dims=(4,), generator=gen()
    )


def xbin(n=4, d=6):
    return (torch.rand(n, d, generator=gen()) > 0.5).float()


def digits():
    return _lazy("data").BinarizedDigits(
        xbin(20, 64), torch.arange(20) % 10, xbin(10, 64), torch.arange(10) % 10
    )


def episodes():
    return _lazy("policy_gradient").sample_episodes(mdp(), mdp_logits(), 5, generator=gen())


#: Where the valid calls write their files: the test sets a temporary folder (never the working folder).
TMP_ROOT: Path | None = None


def _tmp() -> Path:
    return Path(tempfile.mkdtemp(prefix="l9walk", dir=TMP_ROOT))


def _idx_file():
    path = _tmp() / "a.idx"
    _lazy("data").write_idx(path, np.arange(6, dtype=np.uint8).reshape(2, 3))
    return path


def _mnist_root():
    root = _tmp()
    data = _lazy("data")
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    images[:, 10:15, 10:15] = 200
    for split in ("train", "t10k"):
        data.write_idx(root / f"{split}-images-idx3-ubyte", images)
        data.write_idx(root / f"{split}-labels-idx1-ubyte", np.arange(3, dtype=np.uint8))
    return root


def _notebook():
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("x = 1"))
    return nb


def _method(make, attr, /, **kwargs):
    return lambda: (getattr(make(), attr), dict(kwargs))


def _method_call(make, name, build_kwargs):
    def entry():
        obj = make()
        return getattr(obj, name), build_kwargs(obj)

    return entry


def _summaries():
    runs = [
        {"epoch": [1, 2, 3], "test_elbo": [-30.0, -25.0, -22.0]},
        {"epoch": [1, 2, 3], "test_elbo": [-31.0, -24.0, -21.0]},
    ]
    return _lazy("studies.replicates").summarize_runs({"pathwise, S=1": runs, "score, S=1": runs})


NORMAL = D.Normal


VALID_CALLS = {
    # ------------------------------------------------------------------ assign, exercises
    "assign.student_notebook": lambda: dict(nb=_notebook(), nbgrader=False, points=1.0),
    "assign.read_notebook": lambda: dict(path=_write_notebook()),
    "assign.find_chapters": lambda: dict(chapters=["01"], book=None),
    "assign.instructor_readme": lambda: dict(
        notebooks=[("01_x.ipynb", _notebook())], book=None, nbgrader=False
    ),
    "assign.assign": lambda: dict(
        notebooks=[_write_notebook()],
        out=_tmp() / "out",
        book=None,
        force=False,
        nbgrader=False,
        points=1.0,
    ),
    "assign.check_points": lambda: dict(points=1.0),
    "exercises.parse_exercise_header": lambda: dict(source="# Exercise 1: a title\nx = 1"),
    "exercises.has_solution_region": lambda: dict(source="x = 1"),
    "exercises.stub_source": lambda: dict(
        source="# Exercise 1: set x\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION"
    ),
    "exercises.check_estimate": lambda: dict(
        estimate=1.0, expected=1.0, standard_error=0.1, what="estimate", num_se=5.0
    ),
    "exercises.check_close": lambda: dict(
        actual=1.0, expected=1.0, what="result", rtol=1e-5, atol=1e-8
    ),
    # ------------------------------------------------------------------ baselines, control variates
    "baselines.apply_baseline": lambda: dict(
        f_values=t(1.0, 2.0, 3.0), scores={"loc": t(0.1, -0.2, 0.3)}, baseline=None
    ),
    "baselines.optimal_baseline": lambda: dict(
        f_values=t(1.0, 2.0, 3.0), scores={"loc": t(0.1, -0.2, 0.3)}
    ),
    "baselines.MovingAverageBaseline": lambda: dict(decay=0.9, initial=0.0),
    "baselines.MovingAverageBaseline.update": _method(
        lambda: _lazy("baselines").MovingAverageBaseline(0.9), "update", f_values=t(1.0, 2.0)
    ),
    "baselines.leave_one_out_baseline": lambda: dict(f_values=t(1.0, 2.0, 3.0, 4.0), group_size=2),
    "baselines.LeaveOneOutBaseline": lambda: dict(group_size=2),
    "baselines.group_means": lambda: dict(per_sample=t(1.0, 2.0, 3.0, 4.0), group_size=2),
    "control_variates.control_variate": lambda: dict(
        f_values=t(1.0, 2.0, 3.5), h_values=t(0.5, 1.0, 2.0), h_mean=1.0, beta="estimate"
    ),
    "control_variates.optimal_beta": lambda: dict(
        f_values=t(1.0, 2.0, 3.5), h_values=t(0.5, 1.0, 2.0)
    ),
    "control_variates.correlation": lambda: dict(
        f_values=t(1.0, 2.0, 3.5), h_values=t(0.5, 1.0, 2.0)
    ),
    "control_variates.variance_reduction_factor": lambda: dict(rho=0.5),
    "control_variates.taylor_coefficients": lambda: dict(f=cost, loc=1.0),
    "control_variates.delta_method_grad": lambda: dict(
        f=cost,
        params={"loc": t(1.0), "scale": t(1.0)},
        num_samples=8,
        estimator="score_function",
        order=2,
        beta="estimate",
        generator=gen(),
    ),
    "control_variates.delta_method_moments": lambda: dict(
        f=cost, loc=1.0, scale=1.0, param="loc", estimator="score_function", order=2, beta=1.0
    ),
    # ------------------------------------------------------------------ data
    "data.load_binarized_digits": lambda: dict(threshold=8.0, dtype=torch.float32),
    "data.load_mnist": lambda: dict(
        root=_mnist_root(),
        split="train",
        binarize="threshold",
        threshold=0.5,
        generator=gen(),
        dtype=torch.float32,
    ),
    "data.read_idx": lambda: dict(path=_idx_file()),
    "data.write_idx": lambda: dict(path=_tmp() / "b.idx", array=np.zeros((2, 2), dtype=np.uint8)),
    # ------------------------------------------------------------------ enumeration, families
    "enumeration.binary_codes": lambda: dict(bits=3, dtype=torch.float64),
    "enumeration.enumerated_gradient": lambda: dict(
        f=cost, distribution=D.Bernoulli, params=bern_params()
    ),
    "enumeration.relaxed_bernoulli_moments": lambda: dict(
        f=cost, logits=0.3, temperature=0.5, estimator="gumbel_softmax"
    ),
    "families.family_name": lambda: dict(distribution=D.Normal),
    "families.as_params": lambda: dict(params=normal_params()),
    "families.build": lambda: dict(distribution=D.Normal, params=normal_params()),
    "families.innermost": lambda: dict(dist=D.Independent(D.Normal(t(0.0, 1.0), t(1.0, 1.0)), 1)),
    "families.evaluate_cost": lambda: dict(
        f=cost,
        x=t(0.1, 0.2),
        expected=torch.Size([2]),
        differentiable=False,
        copy=False,
        finite=True,
    ),
    "families.check_cost_finite": lambda: dict(fx=t(1.0, 2.0)),
    # ------------------------------------------------------------------ estimators
    "estimators.get": lambda: dict(name="pathwise"),
    "estimators.names": lambda: dict(),
    "estimators.is_reparameterizable": lambda: dict(distribution=D.Normal, params=normal_params()),
    "estimators.score_function_grad": lambda: dict(
        f=cost,
        distribution=D.Normal,
        params=normal_params(),
        num_samples=8,
        baseline=None,
        generator=gen(),
    ),
    "estimators.score_function_terms": lambda: dict(
        f=cost,
        distribution=D.Normal,
        params=normal_params(),
        x=torch.randn(3, 2, dtype=torch.float64),
    ),
    "estimators.score_function_surrogate": lambda: dict(
        log_prob=t(-1.0, -2.0), cost=t(1.0, 3.0), baseline=None, reduction="mean"
    ),
    "estimators.pathwise_grad": lambda: dict(
        f=cost, distribution=D.Normal, params=normal_params(), num_samples=8, generator=gen()
    ),
    "estimators.pathwise_terms": lambda: dict(
        f=cost,
        distribution=D.Normal,
        params=normal_params(),
        noise=torch.randn(3, 2, dtype=torch.float64),
    ),
    "estimators.measure_valued_grad": lambda: dict(
        f=cost,
        distribution=D.Normal,
        params=normal_params(),
        num_samples=8,
        coupled=True,
        generator=gen(),
    ),
    "estimators.gumbel_max_sample": lambda: dict(
        logits=t(0.1, 0.5, -1.0), num_samples=8, generator=gen()
    ),
    "estimators.gumbel_softmax_grad": lambda: dict(
        f=cost,
        distribution=D.Bernoulli,
        params=bern_params(),
        num_samples=8,
        temperature=0.5,
        generator=gen(),
    ),
    "estimators.straight_through_grad": lambda: dict(
        f=cost,
        distribution=D.Bernoulli,
        params=bern_params(),
        num_samples=8,
        temperature=0.5,
        generator=gen(),
    ),
    "estimators.disarm_grad": lambda: dict(
        f=cost, distribution=D.Bernoulli, params=bern_params(), num_samples=8, generator=gen()
    ),
    "estimators.relaxed_bernoulli": lambda: dict(
        logits=t(0.3, -1.0), noise=t(0.2, 0.7), temperature=0.5
    ),
    "estimators.relaxed_one_hot": lambda: dict(
        logits=t(0.3, -1.0, 0.0), gumbel=t(0.2, 0.7, -0.1), temperature=0.5
    ),
    "estimators.hard_sample": lambda: dict(relaxed=t(0.2, 0.7), one_hot=False),
    "estimators.straight_through": lambda: dict(hard=t(0.0, 1.0), relaxed=t(0.2, 0.7)),
    "estimators.disarm_logit_grad": lambda: dict(
        diff=t(0.5, -0.5), b=t(1.0, 0.0), b_anti=t(0.0, 1.0), logits=t(0.3, -1.0)
    ),
    "estimators.measure_valued.supported_text": lambda: dict(),
    # ------------------------------------------------------------------ montecarlo, optimization, sampling
    "montecarlo.MonteCarloEstimate.confidence_interval": _method(
        lambda: _lazy("montecarlo").MonteCarloEstimate(1.0, 0.1, 10),
        "confidence_interval",
        level=0.95,
    ),
    "montecarlo.MonteCarloEstimate.from_values": lambda: dict(values=t(1.0, 2.0, 3.0)),
    "montecarlo.sample_unit_square": lambda: dict(num_samples=8, generator=gen()),
    "montecarlo.pi_from_points": lambda: dict(points=torch.rand(8, 2, generator=gen())),
    "montecarlo.estimate_pi": lambda: dict(num_samples=100, generator=gen(), batch_size=64),
    "montecarlo.mc_estimate": lambda: dict(
        f=cost, sampler=D.Normal(0.0, 1.0), num_samples=16, generator=gen()
    ),
    "montecarlo.repeated_estimates": lambda: dict(
        f=cost, sampler=D.Normal(0.0, 1.0), num_samples=8, num_repeats=3, generator=gen()
    ),
    "montecarlo.running_mean": lambda: dict(values=t(1.0, 2.0, 3.0)),
    "montecarlo.error_by_sample_size": lambda: dict(
        f=cost,
        sampler=D.Normal(0.0, 1.0),
        truth=1.25,
        sample_sizes=[4, 16],
        num_repeats=5,
        generator=gen(),
    ),
    "montecarlo.loglog_slope": lambda: dict(sample_sizes=[10, 100, 1000], errors=[1.0, 0.3, 0.1]),
    "montecarlo.integral_estimate": lambda: dict(
        f=cost, a=0.0, b=1.0, num_samples=16, proposal=None, generator=gen()
    ),
    "montecarlo.importance_estimate": lambda: dict(
        f=cost,
        target=D.Normal(0.0, 1.0),
        proposal=D.Normal(0.0, 2.0),
        num_samples=16,
        self_normalized=False,
        generator=gen(),
    ),
    "montecarlo.effective_sample_size": lambda: dict(log_weights=t(0.0, -1.0, 0.5)),
    "optimization.minimize_by_sampling": lambda: dict(
        f=cost, sampler=D.Normal(0.0, 1.0), num_samples=16, generator=gen()
    ),
    "optimization.stochastic_gradient_descent": lambda: dict(
        grad_estimate=lambda theta, generator=None: 2 * (theta - 1.0),
        init=t(0.0),
        learning_rate=0.1,
        num_steps=5,
        generator=gen(),
    ),
    "sampling.draw": lambda: dict(
        distribution=D.Normal(0.0, 1.0), sample_shape=(3,), generator=gen()
    ),
    "sampling.uniform_noise": lambda: dict(shape=(3,), like=t(0.0), generator=gen()),
    "sampling.normal_noise": lambda: dict(shape=(3,), like=t(0.0), generator=gen()),
    "sampling.inverse_cdf_sample": lambda: dict(
        icdf=lambda u: -torch.log1p(-u), num_samples=8, generator=gen(), dtype=torch.float64
    ),
    "sampling.rejection_sample": lambda: dict(
        target_log_prob=D.Normal(0.0, 1.0).log_prob,
        proposal=D.Normal(0.0, 2.0),
        log_M=math.log(2.0),
        num_samples=8,
        generator=gen(),
        max_proposals=10_000,
    ),
    # ------------------------------------------------------------------ quadrature, reference
    "quadrature.hermite_rule": lambda: dict(num_nodes=5),
    "quadrature.legendre_rule": lambda: dict(num_nodes=5, lo=0.0, hi=1.0),
    "quadrature.integrand_values": lambda: dict(f=cost, x=t(0.1, 0.2)),
    "quadrature.integrand_slopes": lambda: dict(f=cost, x=t(0.1, 0.2)),
    "quadrature.cosine_of_scaled_sum": lambda: dict(x=torch.rand(4, 3, generator=gen())),
    "quadrature.product_midpoint_rule": lambda: dict(
        f=_lazy("quadrature").cosine_of_scaled_sum, dim=2, nodes_per_dim=3
    ),
    "quadrature.midpoint_rule_errors": lambda: dict(
        f=_lazy("quadrature").cosine_of_scaled_sum,
        truth=_lazy("quadrature").COSINE_OF_SCALED_SUM_MEAN,
        dim=2,
        max_evaluations=100,
        nodes_per_dim=(2, 4),
    ),
    "reference.gaussian_expectation": lambda: dict(f=cost, loc=1.0, scale=1.0, num_nodes=40),
    "reference.exact_gradient": lambda: dict(f=cost, loc=1.0, scale=1.0, num_nodes=40),
    "reference.estimator_moments": lambda: dict(
        estimator="pathwise", f=cost, loc=1.0, scale=1.0, param="loc", method="gauss", num_nodes=40
    ),
    "reference.quadratic_variance": lambda: dict(
        estimator="pathwise", k=0.5, loc=1.0, scale=1.0, param="loc"
    ),
    "reference.ScoreFunctionMoments.variance": _method(
        lambda: _sf_moments(), "variance", baseline=0.0, baseline_variance=0.0
    ),
    "reference.ScoreFunctionMoments.moving_average_variance": _method(
        lambda: _sf_moments(), "moving_average_variance", decay=0.9, batch_size=4
    ),
    "reference.ScoreFunctionMoments.rloo_variance": _method(
        lambda: _sf_moments(), "rloo_variance", group_size=4
    ),
    "reference.gaussian_scores": lambda: dict(x=t(0.1, 0.2), loc=1.0, scale=1.0),
    "reference.gaussian_score_function_moments": lambda: dict(
        f=cost, loc=1.0, scale=1.0, param="loc", num_nodes=40
    ),
    "reference.discrete_score_function_moments": lambda: dict(
        f=cost, distribution=D.Bernoulli, params={"logits": t(0.3)}, param="logits"
    ),
    "reference.exact_optimal_baseline": lambda: dict(f=cost, loc=1.0, scale=1.0),
    "reference.poisson_rate_gradient": lambda: dict(f=lambda k: k.double(), rate=2.0, terms=60),
    "reference.even_floor_gradient": lambda: dict(loc=0.3, scale=1.0, num_intervals=40),
    # ------------------------------------------------------------------ transformed families
    "transformed_families.logistic": lambda: dict(loc=t(0.0), scale=t(1.0)),
    "transformed_families.rayleigh": lambda: dict(scale=t(1.0)),
    "transformed_families.isotropic_normal": lambda: dict(loc=t(0.0, 1.0), scale=t(1.0)),
    # ------------------------------------------------------------------ VAEs, training
    "vae.VAE": lambda: dict(
        input_dim=6,
        latent_dim=2,
        hidden_dims=(4,),
        activation="tanh",
        scale_param="softplus",
        min_scale=1e-4,
        generator=gen(),
    ),
    "vae.VAE.reset_parameters": _method(vae_model, "reset_parameters", generator=gen()),
    "vae.VAE.check_input": _method(vae_model, "check_input", x=xbin(), name="x"),
    "vae.VAE.check_options": _method(
        vae_model,
        "check_options",
        estimator="pathwise",
        baseline=None,
        num_samples=1,
        batch_shape=None,
    ),
    "vae.VAE.noise": _method(vae_model, "noise", num_samples=2, x=xbin(), generator=gen()),
    "vae.VAE.elbo_terms_from_noise": _method(
        vae_model,
        "elbo_terms_from_noise",
        x=xbin(),
        eps=torch.randn(1, 4, 2, generator=gen()),
        estimator="pathwise",
        baseline=None,
    ),
    "vae.VAE.log_weights": _method(
        vae_model, "log_weights", x=xbin(), eps=torch.randn(1, 4, 2, generator=gen())
    ),
    "vae.VAE.encode": _method(vae_model, "encode", x=xbin()),
    "vae.VAE.decode": _method(vae_model, "decode", z=torch.randn(4, 2, generator=gen())),
    "vae.VAE.forward": _method(vae_model, "forward", x=xbin()),
    "vae.VAE.sample": _method(vae_model, "sample", num_samples=3, generator=gen(), binary=False),
    "vae.VAE.reconstruct": _method(vae_model, "reconstruct", x=xbin()),
    "vae.gaussian_kl": lambda: dict(loc=t(0.1, 0.2), scale=t(1.0, 0.5)),
    "vae.evaluate_bound": lambda: dict(
        model=vae_model(), x=xbin(), bound="elbo", num_samples=1, generator=gen(), batch_size=2
    ),
    "vae.elbo": lambda: dict(
        model=vae_model(),
        x=xbin(),
        num_samples=1,
        estimator="pathwise",
        baseline=None,
        generator=gen(),
    ),
    "vae.elbo_terms": lambda: dict(model=vae_model(), x=xbin()),
    "vae.iwae_bound": lambda: dict(model=vae_model(), x=xbin(), num_samples=3, generator=gen()),
    "vae.log_likelihood": lambda: dict(
        model=vae_model(), x=xbin(), num_samples=5, generator=gen(), batch_size=2
    ),
    "vae.encoder_gradients": lambda: dict(
        model=vae_model(),
        x=xbin(),
        num_draws=3,
        num_samples=1,
        estimator="pathwise",
        baseline=None,
        generator=gen(),
        chunk_size=2,
    ),
    "vae.encoder_gradient_variance": lambda: dict(model=vae_model(), x=xbin()),
    "bernoulli_vae.BernoulliVAE": lambda: dict(
        input_dim=6,
        latent_dim=3,
        hidden_dims=(4,),
        activation="tanh",
        temperature=0.5,
        generator=gen(),
    ),
    "bernoulli_vae.BernoulliVAE.noise": _method(
        bvae_model, "noise", num_samples=2, x=xbin(), generator=gen()
    ),
    "bernoulli_vae.BernoulliVAE.encode": _method(bvae_model, "encode", x=xbin()),
    "bernoulli_vae.BernoulliVAE.reconstruct": _method(bvae_model, "reconstruct", x=xbin()),
    "bernoulli_vae.bernoulli_kl": lambda: dict(logits=t(0.3, -1.0)),
    "bernoulli_vae.exact_elbo": lambda: dict(model=bvae_model(), x=xbin()),
    "categorical_vae.CategoricalVAE": lambda: dict(
        input_dim=6,
        latent_dim=2,
        categories=3,
        hidden_dims=(4,),
        activation="tanh",
        temperature=0.5,
        anneal_to=None,
        generator=gen(),
    ),
    "categorical_vae.CategoricalVAE.noise": _method(
        cvae_model, "noise", num_samples=2, x=xbin(), generator=gen()
    ),
    "categorical_vae.CategoricalVAE.encode": _method(cvae_model, "encode", x=xbin()),
    "categorical_vae.CategoricalVAE.reconstruct": _method(cvae_model, "reconstruct", x=xbin()),
    "categorical_vae.categorical_kl": lambda: dict(logits=torch.zeros(2, 3, dtype=torch.float64)),
    "categorical_vae.annealed_temperature": lambda: dict(start=1.0, end=0.5, epoch=1, epochs=3),
    "categorical_vae.exact_elbo": lambda: dict(model=cvae_model(), x=xbin()),
    "training.resolve_device": lambda: dict(device="cpu"),
    "training.evaluate_elbo": lambda: dict(
        model=vae_model(), x=xbin(), num_samples=1, generator=gen(), batch_size=2
    ),
    "training.train": lambda: dict(
        model=vae_model(),
        data=xbin(8),
        epochs=1,
        batch_size=4,
        lr=1e-3,
        estimator="pathwise",
        num_samples=1,
        baseline=None,
        generator=gen(),
        device="cpu",
        test_data=xbin(4),
        progress=False,
    ),
    "training.save_checkpoint": lambda: dict(path=_tmp() / "c.pt", state={"a": 1}),
    "training.load_checkpoint": lambda: dict(path=_checkpoint()),
    "training.save_metrics": lambda: dict(path=_tmp() / "m.json", metrics={"a": 1.0}),
    # ------------------------------------------------------------------ policy gradients
    "policy_gradient.FiniteMDP": lambda: dict(
        transitions=torch.full((2, 2, 2), 0.5, dtype=torch.float64),
        rewards=torch.ones(2, 2, dtype=torch.float64),
        initial=t(1.0, 0.0),
        discount=0.9,
        horizon=3,
    ),
    "policy_gradient.FiniteMDP.from_gymnasium": lambda: dict(
        env=_frozenlake(), horizon=5, discount=0.9
    ),
    "policy_gradient.policy": lambda: dict(logits=mdp_logits()),
    "policy_gradient.state_distributions": lambda: dict(mdp=mdp(), logits=mdp_logits()),
    "policy_gradient.values": lambda: dict(mdp=mdp(), logits=mdp_logits()),
    "policy_gradient.exact_return": lambda: dict(mdp=mdp(), logits=mdp_logits()),
    "policy_gradient.exact_policy_gradient": lambda: dict(mdp=mdp(), logits=mdp_logits()),
    "policy_gradient.policy_gradient_theorem": lambda: dict(
        mdp=mdp(), logits=mdp_logits(), drop_discount=False
    ),
    "policy_gradient.sample_episodes": lambda: dict(
        mdp=mdp(), logits=mdp_logits(), num_episodes=5, generator=gen()
    ),
    "policy_gradient.Episodes.returns": _method(episodes, "returns", discount=0.9),
    "policy_gradient.reinforce_grad": lambda: dict(
        mdp=mdp(),
        logits=mdp_logits(),
        num_episodes=5,
        reward_to_go=True,
        baseline=None,
        drop_discount=False,
        generator=gen(),
        episodes=None,
    ),
    "policy_gradient.gymnasium_returns": lambda: dict(
        env=_frozenlake(), logits=torch.zeros(16, 4), num_episodes=3, discount=0.9, generator=gen()
    ),
    "policy_gradient.random_mdp": lambda: dict(
        num_states=3, num_actions=2, horizon=4, discount=0.9, generator=gen(), dtype=torch.float64
    ),
    "policy_gradient.enumerate_trajectories": lambda: dict(
        mdp=mdp(), logits=mdp_logits(), max_trajectories=10_000
    ),
    "policy_gradient.train_policy": lambda: dict(
        mdp=mdp(),
        num_iterations=3,
        learning_rate=0.1,
        num_episodes=None,
        reward_to_go=True,
        baseline=None,
        logits=None,
        generator=gen(),
    ),
    # ------------------------------------------------------------------ studies
    "studies.baseline_comparison.quadratic_cost": lambda: dict(k=0.5),
    "studies.baseline_comparison.method_names": lambda: dict(group_size=4),
    "studies.baseline_comparison.exact_method_variances": lambda: dict(
        f=cost, loc=1.0, scale=1.0, param="loc", decay=0.9, batch_size=4, group_size=4
    ),
    "studies.baseline_comparison.measured_method_variances": lambda: dict(
        ks=[0.5],
        num_samples=8,
        num_steps=3,
        decay=0.9,
        batch_size=4,
        group_size=4,
        warmup_steps=2,
        generator=gen(),
    ),
    "studies.binary_toy.toy_cost": lambda: dict(target=0.45),
    "studies.binary_toy.toy_moments": lambda: dict(target=0.45, thetas=[0.0, 0.5]),
    "studies.binary_toy.toy_variances": lambda: dict(
        target=0.45, thetas=[0.0, 0.5], thetas_mc=[0.0], num_samples=16, generator=gen()
    ),
    "studies.binary_toy.samples_for_sign": lambda: dict(grad=0.1, variance=1.0, probability=0.95),
    "studies.binary_toy.rloo_sign_probability": lambda: dict(theta=0.3, num_samples=4),
    "studies.binary_toy.constant_baseline_sign_simulation": lambda: dict(
        target=0.45, theta=0.3, num_samples=4, baseline=0.2, repetitions=10, generator=gen()
    ),
    "studies.binary_toy.rloo_sign_simulation": lambda: dict(
        target=0.45, theta=0.3, num_samples=4, repetitions=10, generator=gen()
    ),
    "studies.binary_toy.train_toy": lambda: dict(
        target=0.45, method="RLOO", num_steps=3, num_runs=2, lr=0.1, generator=gen()
    ),
    "studies.comparison.exact_variance_table": lambda: dict(
        f=lambda x, k: (x - k) ** 2, ks=[0.0, 1.0], loc=1.0, scale=1.0, estimators=["pathwise"]
    ),
    "studies.comparison.mc_variance_table": lambda: dict(
        f=lambda x, k: (x - k) ** 2,
        ks=[0.0, 1.0],
        loc=1.0,
        scale=1.0,
        estimators=["pathwise"],
        num_samples=16,
        generator=gen(),
    ),
    "studies.comparison.variance_gaps": lambda: _variance_gaps_args(),
    "studies.comparison.crossing_points": lambda: dict(
        ks=[0.0, 1.0, 2.0], first=[1.0, 2.0, 3.0], second=[3.0, 2.5, 1.0]
    ),
    "studies.cost_counting.CountingCost": lambda: dict(f=cost),
    "studies.cost_counting.CountingCost.reset": _method(
        lambda: _lazy("studies.cost_counting").CountingCost(cost), "reset"
    ),
    "studies.cost_counting.evaluations_per_sample": lambda: dict(
        estimator="pathwise",
        f=cost,
        distribution=D.Normal,
        params=normal_params(),
        num_samples=8,
        generator=gen(),
    ),
    "studies.doubly_stochastic.exact_loss": lambda: dict(theta=t(0.5), data=t(1.0, 2.0, 3.0)),
    "studies.doubly_stochastic.loss_estimates": lambda: dict(
        theta=t(0.5), data=t(1.0, 2.0, 3.0), batch_size=2, num_estimates=2, generator=gen()
    ),
    "studies.doubly_stochastic.gradient_estimate": lambda: dict(
        theta=t(0.5), data=t(1.0, 2.0, 3.0), batch_size=2, generator=gen()
    ),
    "studies.doubly_stochastic.gradient_estimator": lambda: dict(
        data=t(1.0, 2.0, 3.0), batch_size=2
    ),
    "studies.doubly_stochastic.stationary_sd": lambda: dict(
        learning_rate=0.1, batch_size=2, data=t(1.0, 2.0, 3.0)
    ),
    "studies.finite_differences.independent_central_difference": lambda: dict(
        f=cost, loc=1.0, scale=1.0, h=0.1, num_samples=8, num_estimates=2, generator=gen()
    ),
    "studies.finite_differences.forward_difference": lambda: dict(
        f=cost, loc=1.0, scale=1.0, h=0.1, num_samples=8, generator=gen()
    ),
    "studies.finite_differences.finite_difference_of_expectation": lambda: dict(
        f=cost, loc=1.0, scale=1.0, h=1e-4
    ),
    "studies.queueing.mm1_sojourn_times": lambda: dict(
        service_rate=2.0, arrival_rate=1.0, num_customers=5, num_paths=3, generator=gen()
    ),
    "studies.queueing.mean_sojourn_time": lambda: dict(service_rate=2.0, arrival_rate=1.0),
    "studies.queueing.mean_sojourn_sensitivity": lambda: dict(
        service_rate=2.0,
        arrival_rate=1.0,
        num_customers=5,
        num_paths=3,
        warm_up=1,
        wrt="service_rate",
        generator=gen(),
    ),
    "studies.queueing.queue_cost_gradient": lambda: dict(
        price=1.0, arrival_rate=1.0, num_customers=5, num_paths=3, warm_up=1, min_service_rate=1.2
    ),
    "studies.replicates.train_over_seeds": lambda: dict(
        settings={"pathwise": {"estimator": "pathwise"}},
        data=digits(),
        seeds=[0],
        epochs=1,
        model_config={"latent_dim": 2, "hidden_dims": (4,)},
        batch_size=10,
        lr=1e-3,
        device="cpu",
    ),
    "studies.replicates.summarize_runs": lambda: dict(
        histories={
            "a": [
                {"epoch": [1, 2], "test_elbo": [-3.0, -2.0]},
                {"epoch": [1, 2], "test_elbo": [-3.5, -2.5]},
            ]
        },
        key="test_elbo",
    ),
    "studies.replicates.final_summary": lambda: dict(
        histories={
            "a": [{"epoch": [1, 2], "test_elbo": [-3.0, -2.0]}] * 2,
            "b": [{"epoch": [1, 2], "test_elbo": [-3.0, -2.5]}] * 2,
        },
        key="test_elbo",
        reference="a",
    ),
    "studies.replicates.encoder_variance_over_models": lambda: dict(
        models=[vae_model()],
        x=xbin(),
        settings={"pathwise": {"estimator": "pathwise"}},
        num_draws=3,
        generator=gen(),
    ),
    # ------------------------------------------------------------------ plotting
    "plotting.style": lambda: dict(),
    "plotting.figure": lambda: dict(nrows=1, ncols=1, width=3.0, height=2.0),
    "plotting.finish_axes": lambda: dict(
        ax=ax(), xlabel="x", ylabel="y", title=None, logx=False, logy=False, legend_loc=None
    ),
    "plotting.estimator_style": lambda: dict(name="pathwise"),
    "plotting.plot_step_samples": lambda: dict(
        thetas=t(-1.0, 0.0, 1.0), samples={"u": [0.0, 1.0, 1.0]}, mean=t(0.3, 0.5, 0.7), ax=None
    ),
    "plotting.plot_relaxation_tradeoff": lambda: dict(
        temperatures=[0.1, 1.0],
        exact_means={"GS": [0.01, -0.01]},
        exact_variances={"GS": [1.0, 0.1]},
        true_gradient=0.02,
    ),
    "plotting.plot_discrete_vae_runs": lambda: dict(
        curves={"RLOO": [[25.0, 22.0], [26.0, 22.5]]}, variances={"RLOO": 5.0}, width=4.0
    ),
    "plotting.plot_estimate_draws": lambda: dict(
        estimates=torch.linspace(0, 1, 20),
        truth=0.5,
        marks={"low": 0.1},
        ax=None,
        bins=5,
        xlabel="estimate",
    ),
    "plotting.plot_variance_panel": lambda: dict(
        ax=ax(), ks=[0.0, 1.0], exact={"pathwise": [1.0, 2.0]}, mc=None
    ),
    "plotting.plot_function_panel": lambda: dict(
        ax=ax(), f=lambda x, k: (x - k) ** 2, ks=[0.0, 1.0]
    ),
    "plotting.plot_variance_figure": lambda: dict(
        ks=[0.0, 1.0],
        exact={"loc": {"pathwise": [1.0, 2.0]}, "scale": {"pathwise": [1.0, 2.0]}},
        f=lambda x, k: (x - k) ** 2,
        ks_show=(0.0,),
    ),
    "plotting.plot_weak_derivative_panel": lambda: dict(
        ax=ax(),
        x=t(-1.0, 0.0, 1.0),
        derivative=t(0.2, 0.0, -0.2),
        constant=1.0,
        positive=t(0.1, 0.4, 0.1),
        negative=t(0.1, 0.4, 0.1),
        every=1,
    ),
    "plotting.plot_estimates_panel": lambda: dict(
        ax=ax(), names=["pathwise"], means=[1.0], standard_errors=[0.1], exact=1.0, num_se=2.0
    ),
    "plotting.plot_evaluations_panel": lambda: dict(
        ax=ax(), dims=[1, 10], evaluations={"pathwise": [1, 1]}
    ),
    "plotting.plot_computation_graph": lambda: dict(
        ax=ax(),
        nodes={"a": (0, 0, "parameter", "a"), "b": (1, 0, "random", "b")},
        edges=[("a", "b")],
    ),
    "plotting.plot_optimisation_loop": lambda: dict(width=4.0, height=2.0),
    "plotting.plot_reparameterization_graph": lambda: dict(
        width=4.0, height=2.0, param_label="$p$"
    ),
    "plotting.plot_vae_computation_graph": lambda: dict(
        estimator="pathwise", width=4.0, height=2.0
    ),
    "plotting.plot_vae_gradient_paths": lambda: dict(width=4.0, height=3.0),
    "plotting.plot_reweight_vs_move": lambda: dict(
        samples=t(-1.0, 0.5, 2.0), f=lambda x: x**2, loc=0.0, scale=1.0, shift=0.5
    ),
    "plotting.plot_pi_scatter": lambda: dict(
        points=torch.rand(20, 2, generator=gen()), ax=None, marker_size=4.0
    ),
    "plotting.plot_convergence": lambda: dict(
        lines={"a": ([10, 100], [3.0, 3.1])}, truth=math.pi, ax=None
    ),
    "plotting.plot_running_mean": lambda: dict(
        values=torch.randn(50, generator=gen()), truth=0.0, ax=None, num_se=2.0, max_points=20
    ),
    "plotting.plot_estimator_histogram": lambda: dict(
        estimates={"a": torch.randn(50, generator=gen())},
        truth=0.0,
        ax=None,
        bins=5,
        clip_quantile=None,
    ),
    "plotting.plot_loglog_error": lambda: dict(
        sample_sizes=[10, 100, 1000], errors=[1.0, 0.3, 0.1], ax=None, reference_slope=-0.5
    ),
    "plotting.plot_integrand_and_proposals": lambda: dict(
        x_grid=torch.linspace(-3, 3, 11),
        integrand=lambda x: 1 / (1 + x**2),
        proposals={"N": D.Normal(0.0, 1.0)},
        ax=None,
    ),
    "plotting.plot_trajectory": lambda: dict(
        iterates=torch.linspace(0, 3, 10), optimum=3.0, ax=None
    ),
    "plotting.plot_learning_curves": lambda: dict(curves={"a": [0.5, 0.3, 0.2]}, reference=0.0),
    "plotting.plot_gradient_agreement": lambda: dict(
        exact=t(1.0, 2.0), estimates={"a": (t(1.0, 2.1), t(0.1, 0.1))}, ax=None, num_se=2.0
    ),
    "plotting.plot_estimator_variances": lambda: dict(
        x=[5, 10], variances={"a": [1.0, 3.0]}, xlabel="horizon", ax=None
    ),
    "plotting.plot_frozenlake": lambda: dict(
        desc=[b"SF", b"HG"], logits=torch.zeros(4, 4), values=None, ax=None
    ),
    "plotting.plot_return_distributions": lambda: dict(
        returns={"a": torch.rand(20, generator=gen())}, exact_mean=0.5, ax=None
    ),
    "plotting.plot_policy_training": lambda: dict(
        episodes=np.arange(4),
        curves={"a": torch.rand(2, 4, generator=gen())},
        exact=None,
        optimum=1.0,
        ax=None,
    ),
    "plotting.plot_learning_curve_bands": lambda: dict(
        summaries=_summaries(), ylim=(-35, -20), width=4.0, height=3.0
    ),
    "plotting.plot_values_by_seed": lambda: dict(
        values={"a": [7.3, 7.4, 7.5]}, ylabel="v", width=4.0, height=3.0
    ),
    "plotting.plot_density_comparison": lambda: dict(
        samples=torch.randn(50, generator=gen()), density=D.Normal(0.0, 1.0), ax=None, bins=10
    ),
    "plotting.plot_rejection_envelope": lambda: dict(
        proposals=t(0.1, 0.5, -0.3),
        heights=t(0.1, 0.2, 0.05),
        accepted=torch.tensor([True, False, True]),
        target_pdf=lambda x: D.Normal(0.0, 1.0).log_prob(x).exp(),
        envelope_pdf=lambda x: 2 * D.Normal(0.0, 2.0).log_prob(x).exp(),
    ),
    "plotting.plot_sgd_runs": lambda: dict(
        trajectories={"a": torch.linspace(0, 1, 6)[:, None] + torch.zeros(6, 3)},
        optimum=1.0,
        ax=None,
        quantiles=(0.1, 0.9),
    ),
    "plotting.plot_image_grid": lambda: dict(
        images=torch.rand(4, 64, generator=gen()), ncols=2, ax=None, width=3.0
    ),
    "plotting.plot_reconstructions": lambda: dict(
        inputs=torch.rand(2, 64, generator=gen()),
        reconstructions=torch.rand(2, 64, generator=gen()),
        width=3.0,
    ),
    "plotting.plot_latent_scatter": lambda: dict(
        z=torch.randn(10, 2, generator=gen()), labels=torch.arange(10), ax=None, width=3.0
    ),
    "plotting.plot_latent_traversal": lambda: dict(
        model=_lazy("vae").VAE(64, 2, (4,), generator=gen()),
        dims=(0, 1),
        values=[-1.0, 1.0],
        width=3.0,
    ),
    "plotting.plot_gradient_variance_bars": lambda: dict(
        variances={"pathwise": 0.5}, ax=None, width=3.0
    ),
    "plotting.plot_exact_vs_measured": lambda: dict(
        x=[1.0, 2.0], exact={"pathwise": [1.0, 2.0]}, ax=None
    ),
    "plotting.plot_control_variate_scatter": lambda: dict(
        f_values=t(1.0, 2.0, 3.0), h_values=t(0.1, 0.2, 0.4), h_mean=0.2, beta=1.0, ax=None
    ),
}


def _pn():
    return _lazy("policy_networks")


def _net(mdp_=None):
    return _pn().mlp((3, 4, 2), generator=gen(), dtype=torch.float64)


def _cartpole():
    return _pn().make_envs("CartPole-v1", 2)


def _cartpole_policy():
    return _pn().mlp((4, 8, 2), generator=gen())


def _batch():
    return _pn().collect_episodes(_cartpole(), _cartpole_policy(), generator=gen())


def _value_net():
    return _pn().mlp((4, 8, 1), generator=gen())


def _reinforce_step_args():
    policy, value = _cartpole_policy(), _value_net()
    return dict(
        batch=_batch(),
        policy=policy,
        optimizer=torch.optim.Adam(policy.parameters(), lr=1e-2),
        discount=0.99,
        value=value,
        value_optimizer=torch.optim.Adam(value.parameters(), lr=1e-2),
        value_steps=1,
        drop_discount=True,
    )


def _fit_value_args():
    value = _value_net()
    return dict(
        value=value,
        observations=torch.randn(5, 4, generator=gen()),
        targets=torch.randn(5, generator=gen()),
        optimizer=torch.optim.Adam(value.parameters(), lr=1e-2),
        num_steps=1,
    )


def _overfitting_data():
    from types import SimpleNamespace

    return SimpleNamespace(x_train=xbin(20), x_test=xbin(10))


SMALL_TRAINING = dict(
    epochs=1, batch_size=10, lr=1e-2, model_config={"latent_dim": 2, "hidden_dims": (4,)}
)


def _study():
    return _lazy("studies.overfitting").overfitting_study(
        _overfitting_data(), variants=("vae",), seeds=(0, 1), eval_draws=1, **SMALL_TRAINING
    )


def _rewards(n=3, steps=4):
    return torch.randn(n, steps, generator=gen(), dtype=torch.float64)


NEW_CALLS = {
    "bernoulli_vae.BernoulliVAE.bound_terms_from_noise": _method(
        bvae_model, "bound_terms_from_noise", x=xbin(), u=torch.rand(1, 4, 3, generator=gen())
    ),
    "categorical_vae.CategoricalVAE.bound_terms_from_noise": _method_call(
        cvae_model, "bound_terms_from_noise", lambda m: dict(x=xbin(), u=m.noise(1, xbin(), gen()))
    ),
    "categorical_vae.CategoricalVAE.start_epoch": _method(
        cvae_model, "start_epoch", epoch=1, epochs=3
    ),
    "enumeration.relaxed_categorical_moments": lambda: dict(
        logits=-torch.linspace(0.0, 1.0, 3, dtype=torch.float64),
        values=torch.linspace(0.0, 1.0, 3, dtype=torch.float64),
        target=0.45,
        temperature=0.5,
        estimator="gumbel_softmax",
    ),
    "estimators.hessian.pathwise_hessian": lambda: dict(
        f=cost, distribution=D.Normal, params=normal_params(), num_samples=8, generator=gen()
    ),
    "estimators.hessian.score_function_hessian": lambda: dict(
        f=cost, distribution=D.Normal, params=normal_params(), num_samples=8, generator=gen()
    ),
    "plotting.plot_categorical_relaxation": lambda: dict(
        temperatures=[0.1, 1.0],
        exact={("gumbel_softmax", 2): ([0.1, 0.01], [1.0, 0.1])},
        measured_temperatures=[1.0],
        measured={("gumbel_softmax", 2): ([0.01], [0.1])},
        width=4.0,
    ),
    "plotting.plot_gae_tradeoff": lambda: dict(
        lams=[0.0, 0.5, 1.0],
        bias={"exact V": [0.0, 0.0, 0.0]},
        variance={"exact V": [1.0, 2.0, 3.0]},
        noise={"exact V": [0.1, 0.1, 0.1]},
    ),
    "policy_gradient.discounted_to_go": lambda: dict(rewards=_rewards(), discount=0.9, mask=None),
    "policy_gradient.episode_weights": lambda: dict(
        rewards=_rewards(), discount=0.9, reward_to_go=True, baseline=None, drop_discount=False
    ),
    "policy_gradient.expected_gae_gradient": lambda: dict(
        mdp=mdp(), logits=mdp_logits(), values=torch.zeros(5, 3, dtype=torch.float64), lam=0.5
    ),
    "policy_gradient.gae_advantages": lambda: dict(
        rewards=_rewards(), values=torch.zeros(3, 5, dtype=torch.float64), discount=0.9, lam=0.5
    ),
    "policy_gradient.surrogate_loss": lambda: dict(
        log_probs=-torch.rand(3, 4, generator=gen(), dtype=torch.float64), weights=_rewards()
    ),
    "policy_gradient.weighted_scores": lambda: dict(
        logits=mdp_logits(),
        states=torch.tensor([[0, 1, 2, 0]]),
        actions=torch.tensor([[1, 0, 1, 1]]),
        weights=_rewards(1),
    ),
    "policy_networks.EpisodeBatch.log_probs": _method(
        _batch, "log_probs", policy=_cartpole_policy()
    ),
    "policy_networks.EpisodeBatch.returns": _method(_batch, "returns"),
    "policy_networks.collect_episodes": lambda: dict(
        envs=_cartpole(), policy=_cartpole_policy(), generator=gen(), max_steps=1000
    ),
    "policy_networks.exact_network_gradient": lambda: dict(mdp=mdp(), network=_net()),
    "policy_networks.exact_network_return": lambda: dict(mdp=mdp(), network=_net()),
    "policy_networks.fit_value": _fit_value_args,
    "policy_networks.logits_jacobian": lambda: dict(mdp=mdp(), network=_net()),
    "policy_networks.make_envs": lambda: dict(env_id="CartPole-v1", num_envs=2),
    "policy_networks.mlp": lambda: dict(sizes=(3, 4, 2), generator=gen(), dtype=torch.float64),
    "policy_networks.network_logits": lambda: dict(mdp=mdp(), network=_net()),
    "policy_networks.network_surrogate": lambda: dict(
        mdp=mdp(),
        network=_net(),
        episodes=episodes(),
        reward_to_go=True,
        baseline=None,
        drop_discount=False,
    ),
    "policy_networks.one_hot_states": lambda: dict(
        states=torch.tensor([0, 2, 1]), num_states=3, dtype=torch.float64
    ),
    "policy_networks.per_episode_gradients": lambda: dict(
        mdp=mdp(), network=_net(), episodes=episodes(), weights=_rewards(5)
    ),
    "policy_networks.reinforce_step": _reinforce_step_args,
    "policy_networks.train_policy": lambda: dict(
        envs=_cartpole(),
        policy=_cartpole_policy(),
        num_batches=1,
        learning_rate=0.01,
        discount=0.99,
        value=None,
        value_steps=1,
        drop_discount=True,
        stop_at=None,
        generator=gen(),
    ),
    "studies.finance.black_scholes": lambda: dict(
        spot=100.0, strike=100.0, rate=0.05, volatility=0.2, maturity=1.0, option="call"
    ),
    "studies.finance.discounted_payoff": lambda: dict(
        strike=100.0, rate=0.05, maturity=1.0, option="call"
    ),
    "studies.finance.greeks_summary": lambda: dict(
        samples={"price": t(1.0, 2.0, 3.0), "delta": t(0.5, 0.6, 0.4)}
    ),
    "studies.finance.monte_carlo_greeks": lambda: dict(
        spot=100.0,
        strike=100.0,
        rate=0.05,
        volatility=0.2,
        maturity=1.0,
        num_samples=16,
        option="call",
        estimator="pathwise",
        generator=gen(),
    ),
    "studies.overfitting.objective": lambda: dict(
        model=vae_model(), x=xbin(), variant="vae", generator=gen()
    ),
    "studies.overfitting.overfitting_study": lambda: dict(
        data=_overfitting_data(), variants=("vae",), seeds=(0,), eval_draws=1, **SMALL_TRAINING
    ),
    "studies.overfitting.summarize_study": lambda: dict(study=_study()),
    "studies.overfitting.train_variant": lambda: dict(
        data=_overfitting_data(),
        variant="vae",
        seed=0,
        num_train=None,
        eval_draws=1,
        eval_seed=0,
        **SMALL_TRAINING,
    ),
    "vae.VAE.bound_terms_from_noise": _method(
        vae_model, "bound_terms_from_noise", x=xbin(), noise=torch.randn(1, 4, 2, generator=gen())
    ),
    "vae.VAE.decoder_log_likelihood": _method(
        vae_model, "decoder_log_likelihood", z=torch.randn(4, 2, generator=gen()), x=xbin()
    ),
    "vae.VAE.score_surrogate": lambda: dict(
        log_q=-torch.rand(1, 4, generator=gen()),
        log_px=-torch.rand(1, 4, generator=gen()),
        baseline=None,
    ),
    "vae.VAE.start_epoch": _method(vae_model, "start_epoch", epoch=1, epochs=3),
    "vae.VAE.surrogate_reconstruction": lambda: dict(
        log_px=-torch.rand(1, 4, generator=gen()), surrogate=torch.zeros(1, 4)
    ),
    "vae.check_vae": lambda: dict(model=vae_model(), name="model"),
}
VALID_CALLS.update(NEW_CALLS)

#: Parameters whose bad values the valid value alone does not tell: by name, or by "key:name".
PARAMETER_KINDS = {
    "path": "path",
    "root": "path",
    "out": "path",
    "book": "optional-path",
    "checkpoint": "optional-path",
    "dtype": "dtype",
    "ax": "object",
    "xlabel": "text",
    "ylabel": "text",
    "title": "text",
    "label": "text",
    "reference_label": "text",
    "param_label": "text",
}


def _domain_errors():
    from gymnasium.error import Error as GymnasiumError

    from lecture9.exercises import ExerciseCheckError
    from lecture9.sampling import RejectionSamplingError

    verdict = (ExerciseCheckError,), "the autograde verdict on a student's value"
    diverged = (FloatingPointError,), "training diverged at a huge lr: the message says to lower lr"
    missing = (KeyError,), "a history without the requested key: the message names the key"
    return {
        "exercises.check_close": verdict,
        "exercises.check_estimate": verdict,
        "sampling.rejection_sample": (
            (RejectionSamplingError,),
            "a valid but too loose envelope (huge log_M) accepts nothing: the message says to tighten log_M",
        ),
        "training.train": diverged,
        "studies.replicates.train_over_seeds": diverged,
        "studies.overfitting.train_variant": diverged,
        "studies.overfitting.overfitting_study": diverged,
        "studies.replicates.final_summary": missing,
        "studies.replicates.summarize_runs": missing,
        "policy_networks.make_envs": ((GymnasiumError,), "Gymnasium's own error for an unknown id"),
    }


#: Documented errors of a domain other than ValueError/TypeError, with the reason: the message
#: must name the parameter (or an alias of it, below) or its value.
DOMAIN_ERRORS: dict[str, tuple[tuple[type[BaseException], ...], str]] = _domain_errors()

#: Bad values that still give an unclear error or a non-finite result: each is a known gap, reported
#: as an expected failure (xfail) with the reason until its function validates the argument.
KNOWN_GAPS: dict[str, str] = {}

#: How a message may name a parameter instead of by its name ("key:parameter" -> words).
ALIASES = {
    "exercises.check_close:actual": "your result",
    "exercises.check_close:expected": "reference",
    "exercises.stub_source:source": "the cell",
    "estimators.get:name": "estimator",
    "families.check_cost_finite:fx": "f(x)",
}

_HOOK = (
    "a documented unchecked hook of the model (the training loop's hot path), called only by the "
    "checked entry points (vae.elbo_terms, vae.evaluate_bound, vae.iwae_bound, training.train), "
    "which are walked"
)
#: The models' unchecked hooks: not walked (see ``NOT_WALKED``).
HOOKS = (
    "vae.VAE.elbo_terms_from_noise",
    "vae.VAE.bound_terms_from_noise",
    "vae.VAE.log_weights",
    "vae.VAE.decoder_log_likelihood",
    "vae.VAE.score_surrogate",
    "vae.VAE.surrogate_reconstruction",
    "bernoulli_vae.BernoulliVAE.bound_terms_from_noise",
    "categorical_vae.CategoricalVAE.bound_terms_from_noise",
)
for _hook in HOOKS:
    VALID_CALLS.pop(_hook, None)


#: Valid calls whose result holds a NaN by definition, with the reason.
NONFINITE_RESULTS = {
    "montecarlo.running_mean": "the standard error of the first value alone is undefined (NaN)",
    "training.train": "the history holds NaN (test ELBO, encoder-gradient variance) on epochs where "
    "it is not measured",
}

NOT_WALKED = {
    "assign.ExercisePreprocessor": "an nbconvert preprocessor configured by traitlets (**kw), used by assign",
    "assign.ExercisePreprocessor.preprocess": "called by nbconvert on a whole notebook; walked through assign.assign",
    "estimators.registry.register": "a decorator that adds to the global registry; calling it has side effects",
}
# Records the package returns (dataclasses): built by the package from checked values.
for _record in (
    "data.BinarizedDigits",
    "estimators.EstimatorSpec",
    "montecarlo.MonteCarloEstimate",
    "montecarlo.ImportanceEstimate",
    "policy_gradient.Episodes",
    "policy_networks.EpisodeBatch",
    "reference.ScoreFunctionMoments",
    "sampling.RejectionSamples",
):
    NOT_WALKED[_record] = "a result record (dataclass) the package builds from checked values"


def _write_notebook():
    import nbformat

    path = _tmp() / "01_x.ipynb"
    nbformat.write(_notebook(), path)
    return path


def _checkpoint():
    path = _tmp() / "c.pt"
    torch.save({"a": 1}, path)
    return path


def _sf_moments():
    return _lazy("reference").gaussian_score_function_moments(cost, 1.0, 1.0, "loc", num_nodes=40)


def _frozenlake():
    import gymnasium

    return gymnasium.make("FrozenLake-v1", map_name="4x4", is_slippery=False)


def _variance_gaps_args():
    var = {"loc": {"pathwise": np.array([1.0, 2.0])}, "scale": {"pathwise": np.array([1.0, 2.0])}}
    se = {"loc": {"pathwise": np.array([0.1, 0.1])}, "scale": {"pathwise": np.array([0.1, 0.1])}}
    return dict(mc=var, mc_se=se, exact=var, tiny=1e-9)


for _hook in HOOKS:
    NOT_WALKED[_hook] = _HOOK
