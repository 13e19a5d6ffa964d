r"""Policy gradients on finite Markov decision processes, with the exact gradient beside every estimate.

Introduced in chapter 11, *Policy gradients*; Williams (1992), Sutton et al. (2000),
Greensmith et al. (2004), Thomas (2014), Sutton & Barto (2018), Ch. 13.

**The contract.** A :class:`FiniteMDP` holds ``transitions`` :math:`P(s' \mid s, a)`,
shape ``(S, A, S)``; ``rewards``, shape ``(S, A)`` (:math:`r(s, a)`) or ``(S, A, S)``
(:math:`r(s, a, s')`, the reward of a transition); ``initial`` :math:`p(s_0)`, shape
``(S,)``; a ``discount`` :math:`\gamma \in [0, 1]` and a ``horizon`` :math:`T \geq 1`.
The policy is tabular softmax, :math:`\pi_\theta(a \mid s) = \operatorname{softmax}(\theta_{s, \cdot})_a`,
with ``logits`` :math:`\theta` of shape ``(S, A)``. The objective is the expected
discounted return of an episode of :math:`T` steps,

.. math::

    J(\theta) = \mathbb{E}_{p_\theta(\tau)}\Bigl[\sum_{t=0}^{T-1} \gamma^t r_t\Bigr],
    \qquad
    p_\theta(\tau) = p(s_0) \prod_{t=0}^{T-1} \pi_\theta(a_t \mid s_t) P(s_{t+1} \mid s_t, a_t).

The exact functions (:func:`exact_return`, :func:`exact_policy_gradient`,
:func:`policy_gradient_theorem`, :func:`state_distributions`, :func:`values`) are
deterministic, differentiable by autograd in ``logits``, and compute in the dtype of
``logits``. The random functions (:func:`sample_episodes`, :func:`reinforce_grad`,
:func:`gymnasium_returns`) take ``num_episodes`` :math:`N \geq 1` and a keyword
``generator`` (a :class:`torch.Generator` or ``None``); they are vectorised over
episodes (a Python loop over time steps only, except the reference Gymnasium loop)
and return per-episode values with leading dimension ``N``: per-episode gradients
have shape ``(N, S, A)``, so ``.mean(0)`` is the estimate and ``.var(0)`` the
variance of a one-episode estimate.

The score of a trajectory contains no dynamics,
:math:`\nabla_\theta \log p_\theta(\tau) = \sum_t \nabla_\theta \log \pi_\theta(a_t \mid s_t)`,
and for the softmax it is closed form:
:math:`\partial \log \pi_\theta(a \mid s) / \partial \theta_{s', b} = [s' = s]\,([b = a] - \pi_\theta(b \mid s))`.
The estimators use it directly: no autograd, no loop over episodes.

**Surrogate loss** (Spinning Up's form). With weights :math:`w_t` that carry no
gradient, :math:`L(\theta) = -\frac1N \sum_n \sum_t w^{(n)}_t \log \pi_\theta(a^{(n)}_t
\mid s^{(n)}_t)`; :math:`-\nabla_\theta L` is the REINFORCE estimate. Weights:
whole return :math:`R - \gamma^t b_t`, reward-to-go :math:`\gamma^t (G_t - b_t)`, and with
``drop_discount`` :math:`G_t - b_t` (the common form, biased for the discounted
objective, chapter 11). The value of :math:`L` is not a performance measure: it says
nothing about :math:`J`, only its gradient does.

**GAE** (Schulman et al., 2016). With :math:`\delta_t = r_t + \gamma V_{t+1} - V_t`,
:math:`A^{\lambda}_t = \sum_{k \ge 0} (\gamma\lambda)^k \delta_{t+k}`: :math:`\lambda = 1`
is :math:`G_t - V_t` (reward-to-go with baseline :math:`V`), :math:`\lambda = 0` is
:math:`\delta_t`. With the exact :math:`V` every :math:`\lambda` is unbiased; with an
imperfect :math:`V` the bias grows as :math:`\lambda` falls.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable

import torch

from ._validation import (
    check_finite,
    check_generator,
    check_instance,
    check_num_samples,
    check_positive,
    check_probability,
    check_shape,
    check_tensor,
)
from .sampling import uniform_noise

__all__ = [
    "MAX_HORIZON",
    "FiniteMDP",
    "policy",
    "state_distributions",
    "values",
    "exact_return",
    "exact_policy_gradient",
    "policy_gradient_theorem",
    "sample_episodes",
    "Episodes",
    "reinforce_grad",
    "gymnasium_returns",
    "random_mdp",
    "enumerate_trajectories",
    "train_policy",
    "weighted_scores",
    "expected_gae_gradient",
    "discounted_to_go",
    "episode_weights",
    "surrogate_loss",
    "gae_advantages",
]


#: The longest horizon a :class:`FiniteMDP` may have: the exact functions loop over it.
MAX_HORIZON = 100_000

# ---------------------------------------------------------------------------
# The MDP
# ---------------------------------------------------------------------------


def _as_float_tensor(value, name: str) -> torch.Tensor:
    if (
        isinstance(value, bool)
        or not isinstance(value, (torch.Tensor, list, tuple, numbers.Real))
        and not hasattr(value, "__array__")
    ):
        raise TypeError(
            f"{name} must be a tensor (or array) of probabilities / rewards, got {type(value).__name__}"
        )
    tensor = torch.as_tensor(value)
    if not tensor.is_floating_point():
        tensor = tensor.to(torch.get_default_dtype())
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{name} must be finite everywhere; found NaN or inf")
    return tensor


def _check_distribution_rows(tensor: torch.Tensor, name: str, what: str) -> None:
    tol = 1e-6 if tensor.dtype == torch.float64 else 1e-4
    if (tensor < 0).any():
        raise ValueError(f"{name} has negative entries; {what} must be probabilities >= 0")
    worst = (tensor.sum(-1) - 1).abs().max().item()
    if worst > tol:
        raise ValueError(
            f"{name}: {what} must sum to 1 (largest deviation {worst:.3g}); normalise them"
        )


@dataclasses.dataclass(frozen=True)
class FiniteMDP:
    r"""A finite MDP with a finite horizon: the environment of chapter 11.

    Args:
        transitions: :math:`P(s' \mid s, a)`; every row ``transitions[s, a]`` sums to 1.
        rewards: :math:`r(s, a)` or :math:`r(s, a, s')`. The exact functions use the
            expected reward :math:`\bar r(s, a) = \sum_{s'} P(s' \mid s, a) r(s, a, s')`;
            the sampler draws the reward of the transition that happened.
        initial: :math:`p(s_0)`, sums to 1.
        discount: :math:`\gamma \in [0, 1]`.
        horizon: the number of steps :math:`T \geq 1` of an episode.

    Raises:
        ValueError: naming the argument, if shapes disagree, a probability row does
            not sum to 1, ``discount`` is outside [0, 1] or ``horizon`` < 1.
        TypeError: if ``horizon`` is not an integer or ``discount`` not a number.

    Shapes:
        transitions ``(S, A, S)``, rewards ``(S, A)`` or ``(S, A, S)``, initial ``(S,)``.
    """

    transitions: torch.Tensor
    rewards: torch.Tensor
    initial: torch.Tensor
    discount: float
    horizon: int

    def __post_init__(self):
        transitions = _as_float_tensor(self.transitions, "transitions")
        if transitions.dim() != 3 or transitions.shape[0] != transitions.shape[2]:
            raise ValueError(
                f"transitions has shape {tuple(transitions.shape)}, expected (S, A, S): "
                f"transitions[s, a, s'] = P(s' | s, a)"
            )
        num_states, num_actions = transitions.shape[0], transitions.shape[1]
        if num_states < 1 or num_actions < 1:
            raise ValueError(
                f"transitions has shape {tuple(transitions.shape)}: need at least one state and one action"
            )
        _check_distribution_rows(transitions, "transitions", "the rows transitions[s, a, :]")
        rewards = _as_float_tensor(self.rewards, "rewards").to(transitions.dtype)
        if tuple(rewards.shape) not in (
            (num_states, num_actions),
            (num_states, num_actions, num_states),
        ):
            raise ValueError(
                f"rewards has shape {tuple(rewards.shape)}, expected (S, A) = {(num_states, num_actions)} "
                f"or (S, A, S) = {(num_states, num_actions, num_states)} to match transitions"
            )
        initial = _as_float_tensor(self.initial, "initial").to(transitions.dtype)
        if tuple(initial.shape) != (num_states,):
            raise ValueError(
                f"initial has shape {tuple(initial.shape)}, expected (S,) = ({num_states},) to match transitions"
            )
        _check_distribution_rows(initial, "initial", "the initial state probabilities")
        discount = self.discount
        if isinstance(discount, torch.Tensor) and discount.numel() == 1:
            discount = discount.item()
        if isinstance(discount, bool) or not isinstance(discount, numbers.Real):
            raise TypeError(f"discount must be a number in [0, 1], got {type(discount).__name__}")
        if not 0.0 <= float(discount) <= 1.0:
            raise ValueError(f"discount must be in [0, 1], got {discount}; e.g. discount=0.99")
        horizon = self.horizon
        if isinstance(horizon, bool) or not isinstance(horizon, numbers.Integral):
            raise TypeError(
                f"horizon must be an integer >= 1, got {horizon!r} of type {type(horizon).__name__}"
            )
        if horizon < 1:
            raise ValueError(
                f"horizon must be >= 1, got {horizon}; an episode has at least one step"
            )
        if horizon > MAX_HORIZON:
            raise ValueError(
                f"horizon must be at most {MAX_HORIZON} (the exact functions loop over it), got {horizon}"
            )
        object.__setattr__(self, "transitions", transitions)
        object.__setattr__(self, "rewards", rewards)
        object.__setattr__(self, "initial", initial)
        object.__setattr__(self, "discount", float(discount))
        object.__setattr__(self, "horizon", int(horizon))

    @property
    def num_states(self) -> int:
        """The number of states S."""
        return self.transitions.shape[0]

    @property
    def num_actions(self) -> int:
        """The number of actions A."""
        return self.transitions.shape[1]

    @property
    def expected_rewards(self) -> torch.Tensor:
        r""":math:`\bar r(s, a) = \sum_{s'} P(s' \mid s, a)\, r(s, a, s')`, shape ``(S, A)``."""
        if self.rewards.dim() == 2:
            return self.rewards
        return (self.transitions * self.rewards).sum(-1)

    @classmethod
    def from_gymnasium(cls, env, horizon: int, discount: float) -> FiniteMDP:
        r"""The finite MDP of a Gymnasium toy-text environment, read from its transition table.

        ``env.unwrapped.P[s][a]`` is a list of ``(probability, next_state, reward,
        terminated)`` tuples (FrozenLake, CliffWalking, Taxi); the initial distribution is
        ``env.unwrapped.initial_state_distrib``. A state entered with ``terminated=True``
        ends the episode in Gymnasium; here it becomes **absorbing with zero reward** (all
        actions lead back to it, reward 0), so an episode of ``horizon`` steps has the
        return of the Gymnasium episode truncated at ``horizon`` steps
        (``gymnasium.make(..., max_episode_steps=horizon)``). The terminal states are read
        from the table, not from the map. Rewards are stored per transition, shape
        ``(S, A, S)``, so sampled returns have Gymnasium's distribution, not only its mean.

        Args:
            env: a Gymnasium environment (wrapped or not) whose unwrapped version has
                ``P``, ``initial_state_distrib`` and discrete spaces.
            horizon: the episode length :math:`T`.
            discount: :math:`\gamma`.

        Raises:
            TypeError: if the environment has no transition table.
            ValueError: if a state is entered both with and without termination.
        """
        base = getattr(env, "unwrapped", env)
        table = getattr(base, "P", None)
        if not isinstance(table, dict):
            raise TypeError(
                f"env must expose a transition table env.unwrapped.P (Gymnasium's toy-text environments do); "
                f"{type(base).__name__} has none"
            )
        try:
            num_states, num_actions = int(base.observation_space.n), int(base.action_space.n)
        except AttributeError:
            raise TypeError("env must have Discrete observation and action spaces") from None
        transitions = torch.zeros(num_states, num_actions, num_states, dtype=torch.float64)
        weighted_rewards = torch.zeros_like(transitions)
        entered_terminal = torch.zeros(num_states, dtype=torch.bool)
        entered_running = torch.zeros(num_states, dtype=torch.bool)
        for s in range(num_states):
            for a in range(num_actions):
                for probability, next_state, reward, terminated in table[s][a]:
                    if probability == 0:
                        continue
                    transitions[s, a, next_state] += probability
                    weighted_rewards[s, a, next_state] += probability * reward
                    (entered_terminal if terminated else entered_running)[next_state] = True
        conflict = (entered_terminal & entered_running).nonzero().flatten().tolist()
        if conflict:
            raise ValueError(
                f"states {conflict} are entered both with and without termination; cannot make them absorbing"
            )
        rewards = torch.where(
            transitions > 0,
            weighted_rewards / transitions.clamp_min(1e-300),
            torch.zeros_like(transitions),
        )
        terminal = entered_terminal.nonzero().flatten()
        transitions[terminal] = 0.0
        transitions[terminal, :, terminal] = 1.0
        rewards[terminal] = 0.0
        initial = torch.as_tensor(base.initial_state_distrib, dtype=torch.float64)
        return cls(transitions, rewards, initial / initial.sum(), discount, horizon)


def random_mdp(
    num_states: int,
    num_actions: int,
    *,
    horizon: int,
    discount: float,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
) -> FiniteMDP:
    """A random dense MDP: Dirichlet(1) transition rows and initial distribution, N(0, 1) rewards r(s, a).

    Used by the tests and the chapter as a generic small problem.

    Shapes:
        transitions ``(S, A, S)``, rewards ``(S, A)``, initial ``(S,)``.
    """
    generator = check_generator(generator)
    num_states = check_num_samples(num_states, "num_states", maximum=10_000)
    num_actions = check_num_samples(num_actions, "num_actions", maximum=10_000)
    if num_states**2 * num_actions > 10**8:
        raise ValueError(
            f"S^2 A = {num_states**2 * num_actions} transition entries exceed 1e8; use fewer states"
        )
    exp = -torch.log(
        torch.rand(num_states, num_actions, num_states, generator=generator, dtype=dtype)
    )
    init = -torch.log(torch.rand(num_states, generator=generator, dtype=dtype))
    rewards = torch.randn(num_states, num_actions, generator=generator, dtype=dtype)
    return FiniteMDP(exp / exp.sum(-1, keepdim=True), rewards, init / init.sum(), discount, horizon)


# ---------------------------------------------------------------------------
# Exact quantities
# ---------------------------------------------------------------------------


def _check_logits(mdp: FiniteMDP, logits) -> torch.Tensor:
    if not isinstance(mdp, FiniteMDP):
        raise TypeError(f"mdp must be a FiniteMDP, got {type(mdp).__name__}")
    if not isinstance(logits, torch.Tensor):
        raise TypeError(
            f"logits must be a torch.Tensor of shape (S, A), got {type(logits).__name__}"
        )
    if tuple(logits.shape) != (mdp.num_states, mdp.num_actions):
        raise ValueError(
            f"logits has shape {tuple(logits.shape)}, expected (S, A) = {(mdp.num_states, mdp.num_actions)}: "
            f"one logit per state and action"
        )
    if not logits.is_floating_point():
        raise TypeError(f"logits must be a floating-point tensor, got dtype {logits.dtype}")
    if not torch.isfinite(logits).all():
        raise ValueError("logits must be finite everywhere; found NaN or inf")
    return logits


def _tables(mdp: FiniteMDP, logits: torch.Tensor):
    dtype, device = logits.dtype, logits.device
    return (
        mdp.transitions.to(dtype=dtype, device=device),
        mdp.expected_rewards.to(dtype=dtype, device=device),
        mdp.initial.to(dtype=dtype, device=device),
    )


def policy(logits: torch.Tensor) -> torch.Tensor:
    r"""The tabular softmax policy :math:`\pi_\theta(a \mid s)`.

    Shapes:
        logits ``(S, A)`` -> probabilities ``(S, A)``.
    """
    return torch.softmax(check_tensor(logits, "logits", floating=True), dim=-1)


def state_distributions(mdp: FiniteMDP, logits: torch.Tensor) -> torch.Tensor:
    r"""The state distributions :math:`d_t(s) = P(s_t = s)`, :math:`t = 0, \dots, T-1`.

    .. math::

        d_0 = p(s_0), \qquad
        d_{t+1}(s') = \sum_{s, a} d_t(s)\, \pi_\theta(a \mid s)\, P(s' \mid s, a).

    Shapes:
        ``(T, S)``.
    """
    logits = _check_logits(mdp, logits)
    transitions, _, initial = _tables(mdp, logits)
    pi = policy(logits)
    d, out = initial, []
    for _ in range(mdp.horizon):
        out.append(d)
        d = torch.einsum("s,sa,sax->x", d, pi, transitions)
    return torch.stack(out)


def values(mdp: FiniteMDP, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The time-dependent action values :math:`Q_t` and state values :math:`V_t` of the policy.

    The expected discounted return from step :math:`t` on (discounted back to :math:`t`):

    .. math::

        Q_t(s, a) = \bar r(s, a) + \gamma \sum_{s'} P(s' \mid s, a) V_{t+1}(s'), \qquad
        V_t(s) = \sum_a \pi_\theta(a \mid s) Q_t(s, a), \qquad V_T = 0.

    Returns:
        ``(Q, V)``.

    Shapes:
        Q ``(T, S, A)``, V ``(T, S)``.
    """
    logits = _check_logits(mdp, logits)
    transitions, rewards, _ = _tables(mdp, logits)
    pi = policy(logits)
    v_next = torch.zeros(mdp.num_states, dtype=logits.dtype, device=logits.device)
    qs, vs = [], []
    for _ in range(mdp.horizon):
        q = rewards + mdp.discount * transitions @ v_next
        v_next = (pi * q).sum(-1)
        qs.append(q)
        vs.append(v_next)
    return torch.stack(qs[::-1]), torch.stack(vs[::-1])


def exact_return(mdp: FiniteMDP, logits: torch.Tensor) -> torch.Tensor:
    r"""The exact objective :math:`J(\theta) = \sum_t \gamma^t \sum_{s, a} d_t(s) \pi_\theta(a \mid s) \bar r(s, a)`.

    Computed by propagating the state distribution forward over the horizon
    (:func:`state_distributions`); differentiable by autograd in ``logits``.

    Shapes:
        logits ``(S, A)`` -> ``()``.
    """
    logits = _check_logits(mdp, logits)
    _, rewards, _ = _tables(mdp, logits)
    d = state_distributions(mdp, logits)
    weights = mdp.discount ** torch.arange(mdp.horizon, dtype=logits.dtype, device=logits.device)
    return torch.einsum("t,ts,sa,sa->", weights, d, policy(logits), rewards)


def _softmax_jacobian(pi: torch.Tensor) -> torch.Tensor:
    # d pi(a | s) / d theta(s, b) = pi(a | s) ([a = b] - pi(b | s)), shape (S, A, B)
    eye = torch.eye(pi.shape[-1], dtype=pi.dtype, device=pi.device)
    return pi[:, :, None] * (eye - pi[:, None, :])


def exact_policy_gradient(mdp: FiniteMDP, logits: torch.Tensor) -> torch.Tensor:
    r"""The exact gradient :math:`\nabla_\theta J(\theta)`, by forward propagation of sensitivities.

    Propagates the state distribution :math:`d_t` together with its Jacobian
    :math:`D_t = \partial d_t / \partial \theta` (shape ``(S, S, A)``) through the horizon,
    with the closed-form softmax Jacobian; no autograd and no value functions, so it
    is a computation independent of autograd of :func:`exact_return` (reverse mode) and
    of :func:`policy_gradient_theorem` (backward values). With
    :math:`\rho_t(s, a) = d_t(s) \pi_\theta(a \mid s)`,

    .. math::

        \nabla_\theta J = \sum_t \gamma^t \sum_{s, a} \nabla_\theta \rho_t(s, a)\, \bar r(s, a), \qquad
        D_{t+1}(s') = \sum_{s, a} \nabla_\theta \rho_t(s, a)\, P(s' \mid s, a).

    The result is itself differentiable by autograd (Hessian-vector products).

    Shapes:
        logits ``(S, A)`` -> ``(S, A)``.
    """
    logits = _check_logits(mdp, logits)
    transitions, rewards, initial = _tables(mdp, logits)
    pi = policy(logits)
    num_states = mdp.num_states
    eye_s = torch.eye(num_states, dtype=logits.dtype, device=logits.device)
    jac = _softmax_jacobian(pi)  # (S, A, B)
    d = initial
    dd = torch.zeros(
        num_states, num_states, mdp.num_actions, dtype=logits.dtype, device=logits.device
    )  # (X, S, B)
    grad = torch.zeros_like(logits)
    for t in range(mdp.horizon):
        # d rho_t(x, a) / d theta(s, b): through d_t, and through pi where x = s
        drho = torch.einsum("xsb,xa->xasb", dd, pi) + torch.einsum("x,xab,xs->xasb", d, jac, eye_s)
        grad = grad + mdp.discount**t * torch.einsum("xasb,xa->sb", drho, rewards)
        dd = torch.einsum("xasb,xay->ysb", drho, transitions)
        d = torch.einsum("x,xa,xay->y", d, pi, transitions)
    return grad


def policy_gradient_theorem(
    mdp: FiniteMDP, logits: torch.Tensor, *, drop_discount: bool = False
) -> torch.Tensor:
    r"""The policy gradient theorem with exact time-dependent values (Sutton et al., 2000).

    .. math::

        \nabla_\theta J = \sum_{t=0}^{T-1} \gamma^t \sum_s d_t(s) \sum_a
        \nabla_\theta \pi_\theta(a \mid s)\, Q_t(s, a),
        \qquad
        \frac{\partial J}{\partial \theta_{s, b}} = \sum_t \gamma^t d_t(s)\, \pi_\theta(b \mid s)
        \bigl(Q_t(s, b) - V_t(s)\bigr).

    With ``drop_discount=True`` the factor :math:`\gamma^t` is left out: the exact
    expectation of the REINFORCE estimator with the common slip of Thomas (2014)
    (``reinforce_grad(..., drop_discount=True)``), which is not the gradient of
    :math:`J` (nor of any function, in general) when :math:`\gamma < 1`.

    Shapes:
        logits ``(S, A)`` -> ``(S, A)``.
    """
    logits = _check_logits(mdp, logits)
    d = state_distributions(mdp, logits)
    q, v = values(mdp, logits)
    weights = mdp.discount ** torch.arange(mdp.horizon, dtype=logits.dtype, device=logits.device)
    if drop_discount:
        weights = torch.ones_like(weights)
    return torch.einsum("t,ts,sb,tsb->sb", weights, d, policy(logits), q - v[..., None])


def expected_gae_gradient(
    mdp: FiniteMDP, logits: torch.Tensor, values: torch.Tensor, *, lam: float
) -> torch.Tensor:
    r"""The exact mean of the GAE gradient :math:`\sum_t \gamma^t A^\lambda_t \nabla \log \pi(a_t \mid s_t)`.

    For any value table ``values[t, s]`` :math:`= V_t(s)`, ``t = 0..T`` (Schulman et al.,
    2016), by a backward recursion over the Bellman residuals
    :math:`e_t(s) = \mathbb{E}_\pi[\delta_t \mid s_t = s]`:
    :math:`U_t = e_t + \gamma\lambda P_\pi U_{t+1}`, and
    :math:`\mathbb{E}[A^\lambda_t \mid s, a] = \bar r(s, a) + \gamma P V_{t+1} - V_t(s) + \gamma\lambda P U_{t+1}`.
    Equals :func:`exact_policy_gradient` for the exact values, or at ``lam=1`` with ``values[T] = 0``.

    Shapes: logits ``(S, A)``, values ``(T + 1, S)`` -> ``(S, A)``.
    """
    logits = _check_logits(mdp, logits).detach()
    horizon, num_states = mdp.horizon, mdp.num_states
    if not isinstance(values, torch.Tensor) or tuple(values.shape) != (horizon + 1, num_states):
        raise ValueError(
            f"values must be a tensor of shape (T + 1, S) = {(horizon + 1, num_states)}"
        )
    check_finite(values, "values")
    lam = _check_unit(lam, "lam")
    transitions, rewards, _ = _tables(mdp, logits)
    values = values.to(logits.dtype)
    pi, gamma = policy(logits), mdp.discount
    d = state_distributions(mdp, logits)
    u_next = torch.zeros(num_states, dtype=logits.dtype)
    grad = torch.zeros_like(logits)
    for t in reversed(range(horizon)):
        step = (
            rewards + gamma * transitions @ values[t + 1] - values[t][:, None]
        )  # E[delta_t | s, a]
        w = step + gamma * lam * transitions @ u_next  # E[A_t | s, a]
        grad = grad + gamma**t * d[t][:, None] * pi * (w - (pi * w).sum(-1, keepdim=True))
        u_next = (pi * step).sum(-1) + gamma * lam * (pi * (transitions @ u_next)).sum(-1)
    return grad


# ---------------------------------------------------------------------------
# Sampling and REINFORCE
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Episodes:
    """Episodes of a :class:`FiniteMDP`: states, actions and rewards per episode and step.

    Shapes:
        states ``(N, T)`` (long), actions ``(N, T)`` (long), rewards ``(N, T)``.
    """

    states: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor

    def returns(self, discount: float) -> torch.Tensor:
        r"""The discounted return :math:`\sum_t \gamma^t r_t` of each episode, shape ``(N,)``."""
        discount = check_probability(discount, "discount")
        weights = discount ** torch.arange(
            self.rewards.shape[1], dtype=self.rewards.dtype, device=self.rewards.device
        )
        return self.rewards @ weights

    def __iter__(self):  # states, actions, rewards = sample_episodes(...)
        return iter((self.states, self.actions, self.rewards))


def _cdf(probs: torch.Tensor) -> torch.Tensor:
    # cumulative sums along the last dim, the last entry exactly 1 (x / x == 1 in floating point)
    cdf = probs.cumsum(-1)
    return cdf / cdf[..., -1:]


def _inverse_cdf(cdf_rows: torch.Tensor, generator) -> torch.Tensor:
    # one categorical draw per row of cdf_rows (n, k): the smallest k with cdf_k >= u, u ~ U(0, 1)
    u = uniform_noise(cdf_rows.shape[:-1] + (1,), cdf_rows, generator)
    return (cdf_rows < u).sum(-1).clamp_max(cdf_rows.shape[-1] - 1)


def sample_episodes(
    mdp: FiniteMDP,
    logits: torch.Tensor,
    num_episodes: int,
    *,
    generator: torch.Generator | None = None,
) -> Episodes:
    r"""Sample ``num_episodes`` independent episodes of ``horizon`` steps under :math:`\pi_\theta`.

    :math:`s_0 \sim p(s_0)`, :math:`a_t \sim \pi_\theta(\cdot \mid s_t)`,
    :math:`s_{t+1} \sim P(\cdot \mid s_t, a_t)`, :math:`r_t = r(s_t, a_t[, s_{t+1}])`;
    all episodes advance together: per step one uniform per episode for the actions and
    one for the next states, turned into categorical draws by the inverse CDF
    (chapter 2) of the rows :math:`\pi_\theta(\cdot \mid s_t)` and :math:`P(\cdot \mid s_t, a_t)`.
    ``logits`` are detached.

    Returns:
        :class:`Episodes`, which also unpacks as ``states, actions, rewards``.

    Shapes:
        states, actions, rewards ``(num_episodes, T)``.
    """
    logits = _check_logits(mdp, logits).detach()
    num_episodes = check_num_samples(num_episodes, "num_episodes")
    generator = check_generator(generator)
    transitions_cdf = _cdf(mdp.transitions.to(logits.dtype))
    rewards = mdp.rewards.to(logits.dtype)
    policy_cdf = _cdf(policy(logits))
    state = _inverse_cdf(
        _cdf(mdp.initial.to(logits.dtype)).expand(num_episodes, mdp.num_states), generator
    )
    states, actions, rewards_out = [], [], []
    for _ in range(mdp.horizon):
        action = _inverse_cdf(policy_cdf[state], generator)
        next_state = _inverse_cdf(transitions_cdf[state, action], generator)
        reward = (
            rewards[state, action, next_state] if rewards.dim() == 3 else rewards[state, action]
        )
        states.append(state)
        actions.append(action)
        rewards_out.append(reward)
        state = next_state
    return Episodes(torch.stack(states, 1), torch.stack(actions, 1), torch.stack(rewards_out, 1))


_BASELINES = (None, "value")


def _baseline_values(
    baseline: Callable, t: int, states: torch.Tensor, dtype: torch.dtype
) -> torch.Tensor:
    values = baseline(t, states)
    if isinstance(values, bool) or not isinstance(values, (torch.Tensor, float, int)):
        raise TypeError(
            f"baseline(t, states) must return a tensor of shape (N,), got {type(values).__name__}"
        )
    values = check_finite(torch.as_tensor(values, dtype=dtype), "baseline(t, states)")
    if values.shape not in ((), states.shape):
        raise ValueError(
            f"baseline(t, states) must return one value per episode, shape {tuple(states.shape)}, "
            f"got shape {tuple(values.shape)} at t={t}"
        )
    return values.expand(states.shape)


def reinforce_grad(
    mdp: FiniteMDP,
    logits: torch.Tensor,
    num_episodes: int,
    *,
    reward_to_go: bool = True,
    baseline: str | Callable | None = None,
    drop_discount: bool = False,
    generator: torch.Generator | None = None,
    episodes: Episodes | None = None,
) -> torch.Tensor:
    r"""Per-episode REINFORCE estimates of :math:`\nabla_\theta J` (Williams, 1992).

    With :math:`g_t = \nabla_\theta \log \pi_\theta(a_t \mid s_t)`,
    :math:`R = \sum_k \gamma^k r_k` and the reward-to-go
    :math:`G_t = \sum_{k \geq t} \gamma^{k - t} r_k`, one episode gives

    .. math::

        \hat\eta = \sum_t g_t\, R \quad (\texttt{reward\_to\_go=False}), \qquad
        \hat\eta = \sum_t g_t\, \gamma^t \bigl(G_t - b_t(s_t)\bigr) \quad (\texttt{reward\_to\_go=True}),

    both unbiased: an action cannot change earlier rewards, and a baseline that depends
    only on the state and the time step has :math:`\mathbb{E}[g_t\, b_t(s_t)] = 0`
    (a control variate, chapter 8; Greensmith et al., 2004). With the whole return the
    baseline enters as :math:`\sum_t g_t (R - \gamma^t b_t(s_t))`.

    Args:
        reward_to_go: weight each score by the reward that follows it (default) or by
            the whole return.
        baseline: ``None``; ``"value"``, the exact state value :math:`V_t(s_t)` of the
            current policy (:func:`values`); or a callable ``(t, states) -> tensor`` of
            shape ``(N,)`` for the time step ``t`` and the states ``(N,)`` at that step.
        drop_discount: leave out :math:`\gamma^t` in front of :math:`G_t - b_t`: the
            common slip (Thomas, 2014), biased for :math:`\nabla_\theta J` when
            :math:`\gamma < 1`; its exact expectation is
            ``policy_gradient_theorem(mdp, logits, drop_discount=True)``. Needs
            ``reward_to_go=True``.
        episodes: episodes to reuse (from :func:`sample_episodes` with the same
            ``logits``), so that several estimators see the same episodes; then
            ``num_episodes`` must equal their number and ``generator`` is unused.

    Shapes:
        ``(num_episodes, S, A)``.
    """
    logits = _check_logits(mdp, logits).detach()
    num_episodes = check_num_samples(num_episodes, "num_episodes")
    if baseline not in _BASELINES and not callable(baseline):
        raise ValueError(
            f"baseline must be None, 'value' or a callable (t, states) -> values, got {baseline!r}"
        )
    if drop_discount and not reward_to_go:
        raise ValueError(
            "drop_discount=True is the slip of the reward-to-go estimator; pass reward_to_go=True"
        )
    if episodes is None:
        episodes = sample_episodes(mdp, logits, num_episodes, generator=generator)
    elif not isinstance(episodes, Episodes) or episodes.states.shape != (num_episodes, mdp.horizon):
        raise ValueError(
            f"episodes must be Episodes of {num_episodes} episodes of {mdp.horizon} steps from sample_episodes"
        )
    states, actions, rewards = episodes.states, episodes.actions, episodes.rewards.to(logits.dtype)
    horizon = mdp.horizon
    discounts = mdp.discount ** torch.arange(horizon, dtype=logits.dtype, device=logits.device)
    if reward_to_go:
        # G_t = r_t + gamma G_{t+1}, backwards over time (a loop over steps, not episodes)
        to_go, running = torch.empty_like(rewards), torch.zeros_like(rewards[:, 0])
        for t in reversed(range(horizon)):
            running = rewards[:, t] + mdp.discount * running
            to_go[:, t] = running
        weights = to_go if drop_discount else discounts * to_go
    else:
        weights = (rewards @ discounts)[:, None].expand(num_episodes, horizon)
    if baseline is not None:
        if baseline == "value":
            _, v = values(mdp, logits)
            b = v.gather(1, states.T).T  # (N, T): V_t(s_t)
        else:
            b = torch.stack(
                [_baseline_values(baseline, t, states[:, t], logits.dtype) for t in range(horizon)],
                1,
            )
        weights = weights - (b if drop_discount else discounts * b)
    return weighted_scores(logits, states, actions, weights)


def weighted_scores(
    logits: torch.Tensor, states: torch.Tensor, actions: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    r"""Per-episode :math:`\sum_t w_t \nabla_\theta \log \pi_\theta(a_t \mid s_t)` of the tabular softmax policy.

    Shapes: logits ``(S, A)``, states, actions, weights ``(N, T)`` -> ``(N, S, A)``.
    """
    check_tensor(logits, "logits", ndim=2, floating=True)
    for name, value in (("states", states), ("actions", actions), ("weights", weights)):
        check_tensor(value, name, ndim=2)
        if value.shape != states.shape:
            raise ValueError(
                f"{name} must be a tensor of shape (N, T) like states {tuple(states.shape)}"
            )
    check_finite(weights, "weights")
    num_episodes, horizon = states.shape
    num_states, num_actions = logits.shape
    pi = policy(logits.detach())
    score = (
        torch.nn.functional.one_hot(actions, num_actions).to(logits.dtype) - pi[states]
    )  # (N, T, A)
    grads = torch.zeros(
        num_episodes, num_states, num_actions, dtype=logits.dtype, device=logits.device
    )
    index = states[..., None].expand(num_episodes, horizon, num_actions)
    return grads.scatter_add_(1, index, weights.to(logits.dtype)[..., None] * score)


def enumerate_trajectories(
    mdp: FiniteMDP, logits: torch.Tensor, *, max_trajectories: int = 1_000_000
):
    r"""Every trajectory of a small MDP with its probability :math:`p_\theta(\tau)`: exact expectations by enumeration.

    With ``episodes, probs = enumerate_trajectories(mdp, logits)``, the exact mean and
    single-episode covariance of any estimator follow from its values on ``episodes``,
    e.g. ``torch.einsum("n,nsa->sa", probs, reinforce_grad(mdp, logits, len(probs),
    episodes=episodes))`` is its expectation. The probabilities are differentiable in
    ``logits``.

    Returns:
        ``(episodes, probs)``: :class:`Episodes` of all :math:`S^{T+1} A^T` state and
        action sequences (the last state only decides a transition reward) and their
        probabilities, which sum to 1.

    Raises:
        ValueError: if there are more than ``max_trajectories`` trajectories.

    Shapes:
        episodes ``(M, T)`` each, probs ``(M,)`` with :math:`M = S^{T+1} A^T`.
    """
    logits = _check_logits(mdp, logits)
    S, A, T = mdp.num_states, mdp.num_actions, mdp.horizon
    count = S ** (T + 1) * A**T
    if count > max_trajectories:
        raise ValueError(
            f"the MDP has {count} trajectories, more than max_trajectories={max_trajectories}; "
            f"use a smaller horizon or fewer states, or raise max_trajectories"
        )
    grids = torch.meshgrid(*([torch.arange(S)] * (T + 1) + [torch.arange(A)] * T), indexing="ij")
    index = torch.stack([g.reshape(-1) for g in grids], 1)
    states, actions = index[:, : T + 1], index[:, T + 1 :]
    transitions, _, initial = _tables(mdp, logits)
    pi = policy(logits)
    probs = initial[states[:, 0]] * (
        pi[states[:, :-1], actions] * transitions[states[:, :-1], actions, states[:, 1:]]
    ).prod(1)
    rewards = mdp.rewards.to(logits.dtype)
    step_rewards = (
        rewards[states[:, :-1], actions, states[:, 1:]]
        if rewards.dim() == 3
        else rewards[states[:, :-1], actions]
    )
    return Episodes(states[:, :-1], actions, step_rewards), probs


# ---------------------------------------------------------------------------
# Gymnasium's own loop, the reference for the sampler
# ---------------------------------------------------------------------------


def _uniform_stream(generator):
    while True:
        yield from torch.rand(4096, generator=generator, dtype=torch.float64).tolist()


def gymnasium_returns(
    env,
    logits: torch.Tensor,
    num_episodes: int,
    *,
    discount: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Discounted returns of episodes run through Gymnasium's own ``reset`` / ``step`` loop.

    The reference against which :func:`sample_episodes` is checked: one Python loop over
    episodes and steps, actions drawn from :math:`\pi_\theta(\cdot \mid s)` with
    ``generator``, the environment's randomness seeded once from ``generator``
    (``env.reset(seed=...)``). An episode ends when Gymnasium says so (``terminated`` or
    ``truncated``, e.g. by ``max_episode_steps``).

    Shapes:
        logits ``(S, A)`` -> ``(num_episodes,)``.
    """
    num_episodes = check_num_samples(num_episodes, "num_episodes", maximum=10**7)
    generator = check_generator(generator)
    if (
        isinstance(discount, bool)
        or not isinstance(discount, (int, float))
        or not 0.0 <= discount <= 1.0
    ):
        raise ValueError(f"discount must be a number in [0, 1], got {discount!r}")
    base = getattr(env, "unwrapped", env)
    spaces = (getattr(base, "observation_space", None), getattr(base, "action_space", None))
    if not all(hasattr(space, "n") for space in spaces):
        raise TypeError(
            f"env must have Discrete observation and action spaces (a toy-text environment), "
            f"got {type(base).__name__}"
        )
    if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != (
        int(spaces[0].n),
        int(spaces[1].n),
    ):
        raise ValueError(
            f"logits must be a tensor of shape (S, A) = {(int(spaces[0].n), int(spaces[1].n))}"
        )
    check_finite(logits, "logits")
    cumulative = policy(logits.detach().double()).cumsum(-1).tolist()
    seed = int(torch.randint(2**31 - 1, (), generator=generator))
    uniforms = _uniform_stream(generator)
    returns = []
    for episode in range(num_episodes):
        state, _ = env.reset(seed=seed if episode == 0 else None)
        total, weight, done = 0.0, 1.0, False
        while not done:
            u, row = next(uniforms), cumulative[state]
            action = next((a for a, c in enumerate(row) if u < c), len(row) - 1)  # inverse CDF
            state, reward, terminated, truncated, _ = env.step(action)
            total += weight * float(reward)
            weight *= discount
            done = terminated or truncated
        returns.append(total)
    return torch.tensor(returns, dtype=torch.float64)


# ---------------------------------------------------------------------------
# Weights, the surrogate loss and GAE: tensors of shape (N, T)
# ---------------------------------------------------------------------------


def _check_unit(value, name: str) -> float:
    if isinstance(value, torch.Tensor) and value.dim() == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a number in [0, 1], got {value!r} of type {type(value).__name__}"
        )
    if not 0.0 <= float(value) <= 1.0:  # NaN fails too
        raise ValueError(f"{name} must be in [0, 1], got {value}; e.g. {name}=0.95")
    return float(value)


def _check_mask(mask, like: torch.Tensor) -> torch.Tensor:
    if mask is None:
        return torch.ones_like(like, dtype=torch.bool)
    check_shape(mask, like.shape, "mask", hint="one entry per episode and step")
    if mask.dtype != torch.bool:
        raise TypeError(
            f"mask must be a bool tensor (True where a step happened), got dtype {mask.dtype}"
        )
    return mask


def _check_steps(values, name: str, dim: int = 2) -> torch.Tensor:
    if not isinstance(values, torch.Tensor) or not values.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor of shape (N, T), got {type(values).__name__}"
        )
    if values.dim() != dim or 0 in values.shape:
        raise ValueError(f"{name} must have shape (N, T) with N, T >= 1, got {tuple(values.shape)}")
    return check_finite(values, name)


def discounted_to_go(
    rewards: torch.Tensor, *, discount: float, mask: torch.Tensor | None = None
) -> torch.Tensor:
    r"""The discounted reward-to-go :math:`G_t = \sum_{k \ge t} \gamma^{k-t} r_k`, masked steps contributing 0.

    Shapes: rewards ``(N, T)`` -> ``(N, T)``.
    """
    rewards = _check_steps(rewards, "rewards")
    discount = _check_unit(discount, "discount")
    rewards = rewards * _check_mask(mask, rewards)
    out, running = torch.empty_like(rewards), torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.shape[1])):
        running = rewards[:, t] + discount * running
        out[:, t] = running
    return out


def episode_weights(
    rewards: torch.Tensor,
    *,
    discount: float,
    reward_to_go: bool = True,
    baseline: torch.Tensor | None = None,
    drop_discount: bool = False,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""The weights :math:`w_t` of the scores in REINFORCE, as :func:`reinforce_grad` uses them.

    Whole return :math:`R - \gamma^t b_t`; reward-to-go :math:`\gamma^t (G_t - b_t)`;
    ``drop_discount`` :math:`G_t - b_t`. ``baseline`` holds :math:`b_t(s_t)` per step.

    Shapes: rewards, baseline, mask ``(N, T)`` -> ``(N, T)``, zero where ``mask`` is False.
    """
    rewards = _check_steps(rewards, "rewards")
    mask = _check_mask(mask, rewards)
    if drop_discount and not reward_to_go:
        raise ValueError(
            "drop_discount=True is the slip of the reward-to-go estimator; pass reward_to_go=True"
        )
    to_go = discounted_to_go(rewards, discount=discount, mask=mask)
    discounts = float(discount) ** torch.arange(
        rewards.shape[1], dtype=rewards.dtype, device=rewards.device
    )
    weights = to_go if drop_discount else discounts * to_go
    if not reward_to_go:
        weights = to_go[:, :1].expand_as(to_go)
    if baseline is not None:
        baseline = check_shape(_check_steps(baseline, "baseline"), rewards.shape, "baseline")
        weights = weights - (baseline if drop_discount else discounts * baseline)
    return (weights * mask).detach()


def surrogate_loss(
    log_probs: torch.Tensor, weights: torch.Tensor, *, mask: torch.Tensor | None = None
) -> torch.Tensor:
    r"""Spinning Up's surrogate :math:`-\frac1N \sum_n \sum_t w_t \log \pi_\theta(a_t \mid s_t)`.

    Its gradient is minus the REINFORCE estimate; its value says nothing about :math:`J`.

    Shapes: log_probs, weights, mask ``(N, T)`` -> ``()``.
    Raises: ValueError if ``weights`` carry gradients (detach them) or shapes differ.
    """
    log_probs = _check_steps(log_probs, "log_probs")
    weights = check_shape(_check_steps(weights, "weights"), log_probs.shape, "weights")
    if weights.requires_grad:
        raise ValueError(
            "weights carry gradients; detach them (the weights are constants of the surrogate)"
        )
    mask = _check_mask(mask, log_probs)
    return -(torch.where(mask, log_probs * weights, 0.0)).sum(1).mean(0)


def gae_advantages(
    rewards: torch.Tensor,
    values: torch.Tensor,
    *,
    discount: float,
    lam: float,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""GAE advantages :math:`A^\lambda_t = \sum_k (\gamma\lambda)^k \delta_{t+k}` (Schulman et al., 2016).

    ``values[:, t]`` is :math:`V(s_t)`; the last column the value after the final step
    (0 at a terminal state). With ``mask``, an episode that ends before ``T`` ends in a
    terminal state: the values after its last step count as 0.

    Shapes: rewards ``(N, T)``, values ``(N, T + 1)`` -> ``(N, T)``.
    """
    rewards = _check_steps(rewards, "rewards")
    values = check_shape(
        _check_steps(values, "values"),
        (rewards.shape[0], rewards.shape[1] + 1),
        "values",
        hint="(N, T + 1): V(s_0), ..., V(s_T), the last the value after the final step",
    )
    discount, lam = _check_unit(discount, "discount"), _check_unit(lam, "lam")
    mask = _check_mask(mask, rewards)
    next_alive = torch.cat([mask[:, 1:], mask[:, -1:]], 1)  # the value after an episode's end is 0
    next_values = torch.where(next_alive, values[:, 1:], 0.0)
    deltas = torch.where(mask, rewards + discount * next_values - values[:, :-1], 0.0)
    out, running = torch.empty_like(deltas), torch.zeros_like(deltas[:, 0])
    for t in reversed(range(deltas.shape[1])):
        running = deltas[:, t] + discount * lam * running
        out[:, t] = running
    return out.detach()


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------


def train_policy(
    mdp: FiniteMDP,
    num_iterations: int,
    *,
    learning_rate: float,
    num_episodes: int | None = None,
    reward_to_go: bool = True,
    baseline: str | Callable | None = None,
    logits: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Gradient ascent on :math:`J(\theta)` with Adam, from REINFORCE estimates or the exact gradient.

    Each iteration draws ``num_episodes`` fresh episodes and steps along the mean of
    :func:`reinforce_grad` (with ``reward_to_go`` and ``baseline``); with
    ``num_episodes=None`` it steps along the exact gradient instead (autograd of
    :func:`exact_return`, no episodes).
    The exact return is recorded before the first and after every iteration, so runs
    can be compared against the number of episodes used.

    Args:
        num_iterations: the number of gradient steps.
        learning_rate: Adam's step size.
        num_episodes: episodes per iteration, or ``None`` for the exact gradient.
        logits: the starting logits (default: zeros, the uniform policy); not modified.

    Returns:
        ``(returns, logits)``: the exact return before and after each iteration, and the
        final logits.

    Shapes:
        returns ``(num_iterations + 1,)``, logits ``(S, A)``.
    """
    num_iterations = check_num_samples(num_iterations, "num_iterations", maximum=10**6)
    check_positive(learning_rate, "learning_rate")
    check_instance(mdp, FiniteMDP, "mdp")
    if num_episodes is not None:
        num_episodes = check_num_samples(num_episodes, "num_episodes")
    if logits is None:
        logits = torch.zeros(mdp.num_states, mdp.num_actions, dtype=mdp.transitions.dtype)
    theta = _check_logits(mdp, logits).detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([theta], lr=learning_rate)
    history = []
    for _ in range(num_iterations):
        optimizer.zero_grad()
        if num_episodes is None:  # the exact gradient, by autograd of the exact return
            objective = exact_return(mdp, theta)
            (-objective).backward()
            history.append(objective.detach())
        else:
            history.append(exact_return(mdp, theta.detach()))
            theta.grad = -reinforce_grad(
                mdp,
                theta,
                num_episodes,
                reward_to_go=reward_to_go,
                baseline=baseline,
                generator=generator,
            ).mean(0)
        optimizer.step()
    history.append(exact_return(mdp, theta.detach()))
    return torch.stack(history), theta.detach()
