r"""Network policies: the surrogate loss, a learned value baseline, GAE, and a CartPole loop.

Introduced in chapter 11, *Policy gradients*, sections on networks; Williams (1992),
Schulman et al. (2016, GAE), OpenAI Spinning Up (Achiam, 2018).

A policy is a :class:`torch.nn.Module` mapping observations to action logits: one-hot
states for a :class:`~lecture9.policy_gradient.FiniteMDP`, vectors for Gymnasium's
classic control. Episodes are stored per episode and step, shape ``(N, T)``, with a
``mask`` of the steps that happened when episodes have different lengths.

The weights of the scores, the surrogate loss and GAE advantages are tensor
functions of :mod:`lecture9.policy_gradient` (:func:`~lecture9.policy_gradient.episode_weights`,
:func:`~lecture9.policy_gradient.surrogate_loss`, :func:`~lecture9.policy_gradient.gae_advantages`);
this module applies them to networks.

**Exact network gradient.** On a finite MDP the policy's logit table is the network
applied to the one-hot states, so :math:`J` is a differentiable function of the
network's parameters through :func:`lecture9.policy_gradient.exact_return`, and autograd
gives the exact gradient (chain rule through the network).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import gymnasium
import numpy as np
import torch
from torch import nn

from . import policy_gradient as pg
from ._validation import (
    check_dtype,
    check_finite,
    check_float,
    check_generator,
    check_instance,
    check_positive_int,
    check_shape,
)

__all__ = [
    "mlp",
    "one_hot_states",
    "network_logits",
    "exact_network_return",
    "exact_network_gradient",
    "logits_jacobian",
    "per_episode_gradients",
    "network_surrogate",
    "fit_value",
    "make_envs",
    "EpisodeBatch",
    "collect_episodes",
    "reinforce_step",
    "train_policy",
    "MAX_EPISODE_STEPS",
]

#: The longest episode :func:`collect_episodes` runs before it stops with an error.
MAX_EPISODE_STEPS = 100_000


def _check_module(module, name: str) -> nn.Module:
    if not isinstance(module, nn.Module):
        raise TypeError(
            f"{name} must be a torch.nn.Module mapping observations to outputs, got {type(module).__name__}"
        )
    return module


def _check_output(out, shape: tuple, name: str) -> torch.Tensor:
    if not isinstance(out, torch.Tensor) or not out.is_floating_point():
        raise TypeError(f"{name} must return a floating-point tensor, got {type(out).__name__}")
    check_shape(out, shape, f"the output of {name}", hint="one row per observation")
    return check_finite(out, f"the output of {name}", hint="check the network's parameters for NaN")


def _param_dtype(module: nn.Module) -> torch.dtype:
    return next(module.parameters(), torch.empty(0)).dtype


# ---------------------------------------------------------------------------
# Networks on finite MDPs, and their exact gradient
# ---------------------------------------------------------------------------


def mlp(
    sizes: Sequence[int],
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> nn.Sequential:
    """A tanh MLP with layer sizes ``sizes`` (e.g. ``(4, 64, 2)``), initialised from ``generator``.

    The initialisation of :class:`torch.nn.Linear`, drawn from ``generator`` (not the
    global generator), layer by layer, weight before bias.
    """
    generator = check_generator(generator)
    if not isinstance(sizes, Sequence) or len(sizes) < 2:
        raise ValueError(
            f"sizes must be a sequence of at least two layer sizes, e.g. (4, 64, 2), got {sizes!r}"
        )
    sizes = [check_positive_int(s, "sizes[i]", maximum=100_000) for s in sizes]
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        linear = torch.nn.utils.skip_init(nn.Linear, fan_in, fan_out, dtype=dtype)
        with torch.no_grad():
            nn.init.kaiming_uniform_(linear.weight, a=math.sqrt(5), generator=generator)
            bound = 1 / math.sqrt(fan_in)
            nn.init.uniform_(linear.bias, -bound, bound, generator=generator)
        layers += [linear, nn.Tanh()]
    return nn.Sequential(*layers[:-1])


def one_hot_states(
    states: torch.Tensor, num_states: int, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """One-hot observations of integer states. Shapes: ``(...)`` -> ``(..., num_states)``."""
    num_states = check_positive_int(num_states, "num_states", maximum=10**6)
    check_dtype(dtype, "dtype")
    if not isinstance(states, torch.Tensor) or states.is_floating_point():
        raise TypeError("states must be an integer tensor of state indices")
    if states.numel() and (states.min() < 0 or states.max() >= num_states):
        raise ValueError(
            f"states must lie in [0, {num_states - 1}], got values {states.min()} to {states.max()}"
        )
    return nn.functional.one_hot(states.long(), num_states).to(dtype)


def network_logits(mdp: pg.FiniteMDP, network: nn.Module) -> torch.Tensor:
    """The logit table of a network policy on a finite MDP: the network on every one-hot state.

    Shapes: ``(S, A)``. Raises: TypeError/ValueError if the network's output is not a
    finite ``(S, A)`` floating-point tensor.
    """
    if not isinstance(mdp, pg.FiniteMDP):
        raise TypeError(f"mdp must be a FiniteMDP, got {type(mdp).__name__}")
    network = _check_module(network, "network")
    out = network(
        one_hot_states(torch.arange(mdp.num_states), mdp.num_states, _param_dtype(network))
    )
    return _check_output(out, (mdp.num_states, mdp.num_actions), "network")


def exact_network_return(mdp: pg.FiniteMDP, network: nn.Module) -> torch.Tensor:
    """The exact :math:`J` of a network policy, differentiable in the network's parameters. Shapes: ``()``."""
    return pg.exact_return(mdp, network_logits(mdp, network))


def exact_network_gradient(mdp: pg.FiniteMDP, network: nn.Module) -> tuple[torch.Tensor, ...]:
    """The exact gradient of :math:`J` per parameter of ``network``: autograd of :func:`exact_network_return`."""
    params = [p for p in _check_module(network, "network").parameters() if p.requires_grad]
    if not params:
        raise ValueError("network has no parameters that require gradients")
    return torch.autograd.grad(exact_network_return(mdp, network), params)


def logits_jacobian(mdp: pg.FiniteMDP, network: nn.Module) -> torch.Tensor:
    """The Jacobian of the logit table with respect to the flattened parameters. Shapes: ``(S * A, P)``."""
    check_instance(mdp, pg.FiniteMDP, "mdp")
    params = [p for p in _check_module(network, "network").parameters() if p.requires_grad]
    if not params:
        raise ValueError("network has no parameters that require gradients")
    if mdp.num_states * mdp.num_actions * sum(p.numel() for p in params) > 10**8:
        raise ValueError(
            "the Jacobian would have more than 1e8 entries; use a smaller network or MDP"
        )
    rows = []
    for entry in network_logits(mdp, network).flatten():
        grads = torch.autograd.grad(entry, params, retain_graph=True, allow_unused=True)
        rows.append(
            torch.cat(
                [(torch.zeros_like(p) if g is None else g).flatten() for p, g in zip(params, grads)]
            )
        )
    return torch.stack(rows)


def per_episode_gradients(
    mdp: pg.FiniteMDP, network: nn.Module, episodes: pg.Episodes, weights: torch.Tensor
) -> torch.Tensor:
    r"""Each episode's :math:`\sum_t w_t \nabla_\theta \log \pi_\theta(a_t \mid s_t)` for the network's parameters.

    By the chain rule: the tabular per-episode gradients times :func:`logits_jacobian`;
    their mean is minus the gradient of :func:`~lecture9.policy_gradient.surrogate_loss` with the same weights.
    Shapes: weights ``(N, T)`` -> ``(N, P)``, parameters flattened in ``parameters()`` order.
    """
    if not isinstance(episodes, pg.Episodes):
        raise TypeError(
            f"episodes must be Episodes from sample_episodes, got {type(episodes).__name__}"
        )
    logits = network_logits(mdp, network).detach()
    tabular = pg.weighted_scores(logits, episodes.states, episodes.actions, weights)
    return tabular.flatten(1) @ logits_jacobian(mdp, network)


# ---------------------------------------------------------------------------
# The surrogate of a network policy, and a learned value
# ---------------------------------------------------------------------------


def network_surrogate(
    mdp: pg.FiniteMDP,
    network: nn.Module,
    episodes: pg.Episodes,
    *,
    reward_to_go: bool = True,
    baseline: str | torch.Tensor | None = None,
    drop_discount: bool = False,
) -> torch.Tensor:
    """The surrogate loss of a network policy on episodes of a finite MDP.

    ``baseline``: ``None``, ``"value"`` (exact :math:`V_t(s_t)`) or a tensor ``(N, T)``.
    Shapes: ``()``; its gradient has the shapes of the network's parameters.
    """
    if not isinstance(episodes, pg.Episodes):
        raise TypeError(
            f"episodes must be Episodes from sample_episodes, got {type(episodes).__name__}"
        )
    logits = network_logits(mdp, network)
    log_pi = torch.log_softmax(logits, -1)
    rewards = episodes.rewards.to(logits.dtype)
    if isinstance(baseline, str):
        if baseline != "value":
            raise ValueError(f"baseline must be None, 'value' or a tensor (N, T), got {baseline!r}")
        baseline = pg.values(mdp, logits.detach())[1].gather(1, episodes.states.T).T
    weights = pg.episode_weights(
        rewards,
        discount=mdp.discount,
        reward_to_go=reward_to_go,
        baseline=baseline,
        drop_discount=drop_discount,
    )
    return pg.surrogate_loss(log_pi[episodes.states, episodes.actions], weights)


def fit_value(
    value: nn.Module,
    observations: torch.Tensor,
    targets: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    num_steps: int = 1,
) -> float:
    """Regression steps of a value network on observed returns to go: mean squared error, ``num_steps`` steps.

    Shapes: observations ``(M, D)``, targets ``(M,)``. Returns: the last loss.
    """
    value = _check_module(value, "value")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )
    num_steps = check_positive_int(num_steps, "num_steps", maximum=10**6)
    if not isinstance(observations, torch.Tensor) or observations.dim() != 2:
        raise ValueError("observations must be a tensor of shape (M, D)")
    check_finite(observations, "observations")
    check_shape(
        check_finite(targets, "targets"),
        (observations.shape[0],),
        "targets",
        hint="one target per row",
    )
    for _ in range(num_steps):
        prediction = _check_output(value(observations), (observations.shape[0], 1), "value")[:, 0]
        loss = (prediction - targets.detach().to(prediction.dtype)).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


# ---------------------------------------------------------------------------
# Gymnasium: vectorised episodes and the training loop
# ---------------------------------------------------------------------------


def make_envs(env_id: str = "CartPole-v1", num_envs: int = 16) -> gymnasium.vector.VectorEnv:
    """Gymnasium's native vectorised environment (``vectorization_mode="vector_entry_point"``)."""
    if not isinstance(env_id, str):
        raise TypeError(f"env_id must be a Gymnasium id such as 'CartPole-v1', got {env_id!r}")
    num_envs = check_positive_int(num_envs, "num_envs", maximum=100_000)
    return gymnasium.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")


@dataclasses.dataclass(frozen=True)
class EpisodeBatch:
    """One episode per sub-environment, padded to the longest.

    Shapes: observations ``(N, T, D)``, actions ``(N, T)`` (long), rewards ``(N, T)``,
    mask ``(N, T)`` (bool, True where a step happened).
    """

    observations: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    mask: torch.Tensor

    def returns(self) -> torch.Tensor:
        """The undiscounted return of each episode, shape ``(N,)``."""
        return (self.rewards * self.mask).sum(1)

    def log_probs(self, policy: nn.Module) -> torch.Tensor:
        """:math:`\\log \\pi_\\theta(a_t \\mid s_t)` under ``policy``, with gradients; shape ``(N, T)``."""
        logits = _check_module(policy, "policy")(self.observations)
        width = logits.shape[-1] if isinstance(logits, torch.Tensor) and logits.dim() else 0
        _check_output(logits, (*self.actions.shape, width), "policy")
        log_pi = torch.log_softmax(logits, -1).gather(-1, self.actions[..., None])[..., 0]
        return torch.where(self.mask, log_pi, 0.0)


def _check_envs(envs) -> gymnasium.vector.VectorEnv:
    if not isinstance(envs, gymnasium.vector.VectorEnv):
        raise TypeError(
            f"envs must be a Gymnasium vector environment (make_envs), got {type(envs).__name__}"
        )
    if not isinstance(envs.single_action_space, gymnasium.spaces.Discrete):
        raise ValueError(f"envs must have a Discrete action space, got {envs.single_action_space}")
    if len(getattr(envs.single_observation_space, "shape", ()) or ()) != 1:
        raise ValueError(f"envs must have vector observations, got {envs.single_observation_space}")
    return envs


@torch.no_grad()
def collect_episodes(
    envs: gymnasium.vector.VectorEnv,
    policy: nn.Module,
    *,
    generator: torch.Generator | None = None,
    max_steps: int = MAX_EPISODE_STEPS,
) -> EpisodeBatch:
    """One episode in each sub-environment, all advancing together (no loop over episodes).

    The environments are reset with a seed drawn from ``generator``; actions are drawn
    by the inverse CDF of :math:`\\pi_\\theta(\\cdot \\mid s_t)` from ``generator``'s uniforms.
    Raises: RuntimeError if an episode is longer than ``max_steps``.
    """
    envs, policy, generator = (
        _check_envs(envs),
        _check_module(policy, "policy"),
        check_generator(generator),
    )
    max_steps = check_positive_int(max_steps, "max_steps", maximum=10**7)
    dtype, n = _param_dtype(policy), envs.num_envs
    obs, _ = envs.reset(seed=int(torch.randint(2**31 - 1, (), generator=generator)))
    alive = np.ones(n, dtype=bool)
    observations, actions, rewards, masks = [], [], [], []
    while alive.any():
        if len(actions) == max_steps:
            raise RuntimeError(
                f"an episode ran past max_steps={max_steps}; raise max_steps or use a time limit"
            )
        x = torch.as_tensor(obs, dtype=dtype)
        logits = policy(x)
        if not actions:  # checked once here; every step again when log_probs evaluates the batch
            _check_output(logits, (n, envs.single_action_space.n), "policy")
        probs = torch.softmax(logits, -1)
        u = torch.rand(n, 1, generator=generator, dtype=dtype)
        action = (probs.cumsum(-1)[:, :-1] < u).sum(-1)
        obs, reward, terminated, truncated, _ = envs.step(action.numpy())
        observations.append(x)
        actions.append(action)
        alive_now = torch.as_tensor(alive.copy())
        rewards.append(torch.as_tensor(reward, dtype=dtype) * alive_now)
        masks.append(alive_now)
        alive &= ~(terminated | truncated)
    return EpisodeBatch(
        torch.stack(observations, 1),
        torch.stack(actions, 1),
        torch.stack(rewards, 1),
        torch.stack(masks, 1),
    )


def reinforce_step(
    batch: EpisodeBatch,
    policy: nn.Module,
    optimizer: torch.optim.Optimizer,
    *,
    discount: float = 0.99,
    value: nn.Module | None = None,
    value_optimizer: torch.optim.Optimizer | None = None,
    value_steps: int = 1,
    drop_discount: bool = True,
) -> torch.Tensor:
    """One policy step on ``batch`` (reward-to-go, ``value``'s baseline if given), then ``value_steps`` value fits.

    The baseline comes from the value network before it sees this batch. Returns: the
    surrogate loss before the step (not a performance measure).
    """
    if not isinstance(batch, EpisodeBatch):
        raise TypeError(
            f"batch must be an EpisodeBatch from collect_episodes, got {type(batch).__name__}"
        )
    if (value is None) != (value_optimizer is None):
        raise ValueError("pass value and value_optimizer together, or neither")
    policy = _check_module(policy, "policy")
    check_instance(optimizer, torch.optim.Optimizer, "optimizer")
    if value is not None:
        _check_module(value, "value")
        check_instance(value_optimizer, torch.optim.Optimizer, "value_optimizer")
    value_steps = check_positive_int(value_steps, "value_steps", maximum=10**6)
    baseline = None
    if value is not None:
        with torch.no_grad():
            baseline = _check_output(value(batch.observations), (*batch.mask.shape, 1), "value")[
                ..., 0
            ]
    weights = pg.episode_weights(
        batch.rewards,
        discount=discount,
        baseline=baseline,
        drop_discount=drop_discount,
        mask=batch.mask,
    )
    loss = pg.surrogate_loss(batch.log_probs(policy), weights, mask=batch.mask)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if value is not None:
        targets = pg.discounted_to_go(batch.rewards, discount=discount, mask=batch.mask)
        fit_value(
            value,
            batch.observations[batch.mask],
            targets[batch.mask],
            value_optimizer,
            num_steps=value_steps,
        )
    return loss.detach()


def train_policy(
    envs: gymnasium.vector.VectorEnv,
    policy: nn.Module,
    num_batches: int,
    *,
    learning_rate: float = 1e-2,
    discount: float = 0.99,
    value: nn.Module | None = None,
    value_steps: int = 1,
    drop_discount: bool = True,
    stop_at: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """REINFORCE with reward-to-go on a vectorised Gymnasium environment, Adam on the policy (and value).

    Each batch is one episode per sub-environment (:func:`collect_episodes`) and one
    :func:`reinforce_step`. With ``stop_at``, training stops once the mean return of the
    last 20 episodes reaches it. Returns: the return of every episode, shape
    ``(batches run, num_envs)``.
    """
    num_batches = check_positive_int(num_batches, "num_batches", maximum=10**6)
    check_float(learning_rate, "learning_rate", minimum=0.0, strict=True, maximum=1e6)
    if stop_at is not None:
        check_finite(stop_at, "stop_at")
    optimizer = torch.optim.Adam(_check_module(policy, "policy").parameters(), lr=learning_rate)
    value_optimizer = (
        None
        if value is None
        else torch.optim.Adam(_check_module(value, "value").parameters(), lr=learning_rate)
    )
    history = []
    for _ in range(num_batches):
        batch = collect_episodes(envs, policy, generator=generator)
        reinforce_step(
            batch,
            policy,
            optimizer,
            discount=discount,
            value=value,
            value_optimizer=value_optimizer,
            value_steps=value_steps,
            drop_discount=drop_discount,
        )
        history.append(batch.returns())
        if stop_at is not None and torch.cat(history)[-20:].mean() >= stop_at:
            break
    return torch.stack(history)
