"""Tests of lecture9.policy_gradient against exact computations on finite MDPs.

Three independent exact gradients (autograd of the propagated return, forward
sensitivities, the policy gradient theorem with backward values), exact expectations of
every REINFORCE variant by enumerating all trajectories of a tiny MDP, Monte Carlo
checks within 5 standard errors at fixed seeds, and Gymnasium's FrozenLake against its
own transition table and its own ``step`` loop.
"""

from __future__ import annotations

import itertools
import math

import gymnasium
import pytest
import torch
from scipy import stats

from lecture9 import policy_gradient as pg

DTYPE = torch.float64


def gen(seed):
    return torch.Generator().manual_seed(seed)


def random_problem(seed, num_states=4, num_actions=3, horizon=5, discount=0.9):
    g = gen(seed)
    mdp = pg.random_mdp(num_states, num_actions, horizon=horizon, discount=discount, generator=g)
    logits = torch.randn(num_states, num_actions, generator=g, dtype=DTYPE)
    return mdp, logits


def all_trajectories(mdp, logits):
    """Every trajectory of a tiny MDP with (S, A) rewards, as Episodes, and its probability."""
    pi = pg.policy(logits)
    states, actions, probs = [], [], []
    S, A, T = mdp.num_states, mdp.num_actions, mdp.horizon
    for ss in itertools.product(range(S), repeat=T):
        for aa in itertools.product(range(A), repeat=T):
            p = mdp.initial[ss[0]]
            for t in range(T):
                p = p * pi[ss[t], aa[t]]
                if t + 1 < T:
                    p = p * mdp.transitions[ss[t], aa[t], ss[t + 1]]
            states.append(ss)
            actions.append(aa)
            probs.append(p)
    states, actions = torch.tensor(states), torch.tensor(actions)
    rewards = mdp.rewards[states, actions]
    return pg.Episodes(states, actions, rewards), torch.stack(probs)


# ---------------------------------------------------------------------------
# Exact gradients
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("discount", [0.0, 0.7, 1.0])
def test_exact_gradient_equals_autograd_and_policy_gradient_theorem(seed, discount):
    mdp, logits = random_problem(seed, num_states=5, num_actions=3, horizon=7, discount=discount)
    logits.requires_grad_(True)
    (autograd,) = torch.autograd.grad(pg.exact_return(mdp, logits), logits)
    forward = pg.exact_policy_gradient(mdp, logits)
    theorem = pg.policy_gradient_theorem(mdp, logits)
    torch.testing.assert_close(forward, autograd, atol=1e-9, rtol=0)
    torch.testing.assert_close(theorem, autograd, atol=1e-9, rtol=0)


def test_exact_gradient_equals_finite_differences():
    mdp, logits = random_problem(9, num_states=5, num_actions=3, horizon=7, discount=0.9)
    autograd = pg.exact_policy_gradient(mdp, logits)
    h, fd = 1e-5, torch.zeros_like(autograd)
    with torch.no_grad():
        for s, a in itertools.product(range(mdp.num_states), range(mdp.num_actions)):
            e = torch.zeros_like(logits)
            e[s, a] = h
            fd[s, a] = (pg.exact_return(mdp, logits + e) - pg.exact_return(mdp, logits - e)) / (
                2 * h
            )
    torch.testing.assert_close(fd, autograd, atol=1e-8, rtol=0)


def test_exact_policy_gradient_is_differentiable():
    mdp, logits = random_problem(3)
    logits.requires_grad_(True)
    v = torch.randn(logits.shape, generator=gen(1), dtype=DTYPE)
    (grad,) = torch.autograd.grad(pg.exact_return(mdp, logits), logits, create_graph=True)
    (hvp_reference,) = torch.autograd.grad((grad * v).sum(), logits)
    (hvp,) = torch.autograd.grad((pg.exact_policy_gradient(mdp, logits) * v).sum(), logits)
    torch.testing.assert_close(hvp, hvp_reference, atol=1e-9, rtol=0)


def test_exact_return_and_values_match_enumeration():
    mdp, logits = random_problem(5, num_states=3, num_actions=2, horizon=3, discount=0.8)
    episodes, probs = all_trajectories(mdp, logits)
    assert probs.sum().item() == pytest.approx(1.0, abs=1e-12)
    enumerated = (probs * episodes.returns(mdp.discount)).sum()
    torch.testing.assert_close(pg.exact_return(mdp, logits), enumerated, atol=1e-12, rtol=0)
    _, v = pg.values(mdp, logits)
    torch.testing.assert_close(mdp.initial @ v[0], enumerated, atol=1e-12, rtol=0)


def test_drop_discount_expectation_is_the_gradient_when_discount_is_one():
    mdp, logits = random_problem(6, discount=1.0)
    torch.testing.assert_close(
        pg.policy_gradient_theorem(mdp, logits, drop_discount=True),
        pg.exact_policy_gradient(mdp, logits),
        atol=1e-12,
        rtol=0,
    )


# ---------------------------------------------------------------------------
# REINFORCE: exact expectations by enumeration, Monte Carlo within 5 SE
# ---------------------------------------------------------------------------

VARIANTS = {
    "whole return": dict(reward_to_go=False),
    "whole return, value baseline": dict(reward_to_go=False, baseline="value"),
    "reward-to-go": dict(),
    "reward-to-go, value baseline": dict(baseline="value"),
    "reward-to-go, callable baseline": dict(baseline=lambda t, s: torch.sin(3.0 * s + t)),
}


@pytest.mark.parametrize("name", VARIANTS)
def test_reinforce_expectation_by_enumeration_is_the_exact_gradient(name):
    mdp, logits = random_problem(7, num_states=3, num_actions=2, horizon=3, discount=0.8)
    episodes, probs = all_trajectories(mdp, logits)
    grads = pg.reinforce_grad(mdp, logits, len(probs), episodes=episodes, **VARIANTS[name])
    expectation = torch.einsum("n,nsa->sa", probs, grads)
    torch.testing.assert_close(
        expectation, pg.exact_policy_gradient(mdp, logits), atol=1e-12, rtol=0
    )


def test_drop_discount_expectation_by_enumeration_is_biased():
    mdp, logits = random_problem(7, num_states=3, num_actions=2, horizon=3, discount=0.8)
    episodes, probs = all_trajectories(mdp, logits)
    grads = pg.reinforce_grad(
        mdp, logits, len(probs), episodes=episodes, drop_discount=True, baseline="value"
    )
    expectation = torch.einsum("n,nsa->sa", probs, grads)
    torch.testing.assert_close(
        expectation, pg.policy_gradient_theorem(mdp, logits, drop_discount=True), atol=1e-12, rtol=0
    )
    assert (expectation - pg.exact_policy_gradient(mdp, logits)).abs().max() > 1e-2


@pytest.mark.parametrize("name", VARIANTS)
def test_reinforce_unbiased_within_five_standard_errors(name):
    mdp, logits = random_problem(11)
    n = 100_000
    grads = pg.reinforce_grad(mdp, logits, n, generator=gen(12), **VARIANTS[name])
    assert grads.shape == (n, mdp.num_states, mdp.num_actions)
    z = (grads.mean(0) - pg.exact_policy_gradient(mdp, logits)) / (grads.std(0) / math.sqrt(n))
    assert z.abs().max() < 5, z


def test_drop_discount_is_measurably_biased():
    mdp, logits = random_problem(11, discount=0.7)
    n = 100_000
    grads = pg.reinforce_grad(mdp, logits, n, drop_discount=True, generator=gen(13))
    se = grads.std(0) / math.sqrt(n)
    z_own = (grads.mean(0) - pg.policy_gradient_theorem(mdp, logits, drop_discount=True)) / se
    z_true = (grads.mean(0) - pg.exact_policy_gradient(mdp, logits)) / se
    assert z_own.abs().max() < 5, z_own
    assert z_true.abs().max() > 5, z_true


def test_total_variance_ordered_whole_return_reward_to_go_baseline():
    mdp, logits = random_problem(11)
    n = 100_000
    episodes = pg.sample_episodes(mdp, logits, n, generator=gen(14))
    totals, ses = [], []
    for kwargs in (dict(reward_to_go=False), dict(), dict(baseline="value")):
        grads = pg.reinforce_grad(mdp, logits, n, episodes=episodes, **kwargs).flatten(1)
        squared = (grads - grads.mean(0)).pow(2).sum(1)  # total variance = E ||g - E g||^2
        totals.append(squared.mean().item())
        ses.append(squared.std().item() / math.sqrt(n))
    assert totals[0] - totals[1] > 5 * (ses[0] + ses[1]), (totals, ses)
    assert totals[1] - totals[2] > 5 * (ses[1] + ses[2]), (totals, ses)


def test_sampler_state_frequencies_match_state_distributions():
    mdp, logits = random_problem(15)
    n = 50_000
    states, actions, rewards = pg.sample_episodes(mdp, logits, n, generator=gen(16))
    d = pg.state_distributions(mdp, logits)
    freq = torch.nn.functional.one_hot(states, mdp.num_states).double().mean(0)  # (T, S)
    se = (d * (1 - d) / n).sqrt().clamp_min(1e-12)
    assert ((freq - d) / se).abs().max() < 5
    torch.testing.assert_close(rewards, mdp.rewards[states, actions])


def test_determinism():
    mdp, logits = random_problem(17)
    a = pg.sample_episodes(mdp, logits, 500, generator=gen(3))
    b = pg.sample_episodes(mdp, logits, 500, generator=gen(3))
    c = pg.sample_episodes(mdp, logits, 500, generator=gen(4))
    assert (
        torch.equal(a.states, b.states)
        and torch.equal(a.actions, b.actions)
        and torch.equal(a.rewards, b.rewards)
    )
    assert not torch.equal(a.states, c.states)
    ga = pg.reinforce_grad(mdp, logits, 500, baseline="value", generator=gen(3))
    gb = pg.reinforce_grad(mdp, logits, 500, baseline="value", generator=gen(3))
    assert torch.equal(ga, gb)


# ---------------------------------------------------------------------------
# Gymnasium's FrozenLake
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [{}, {"is_slippery": False}, {"map_name": "8x8"}])
def test_from_gymnasium_reproduces_the_transition_table(kwargs):
    env = gymnasium.make("FrozenLake-v1", **kwargs)
    mdp = pg.FiniteMDP.from_gymnasium(env, horizon=20, discount=0.95)
    table, desc = env.unwrapped.P, env.unwrapped.desc.flatten()
    for s in range(mdp.num_states):
        terminal = desc[s] in (b"H", b"G")
        for a in range(mdp.num_actions):
            expected = torch.zeros(mdp.num_states, dtype=DTYPE)
            reward = torch.zeros(mdp.num_states, dtype=DTYPE)
            if terminal:
                expected[s] = 1.0
            else:
                for p, s_next, r, _ in table[s][a]:
                    expected[s_next] += p
                    reward[s_next] = r
            torch.testing.assert_close(mdp.transitions[s, a], expected, atol=1e-15, rtol=0)
            torch.testing.assert_close(mdp.rewards[s, a], reward * (expected > 0), atol=0, rtol=0)
    torch.testing.assert_close(
        mdp.initial, torch.as_tensor(env.unwrapped.initial_state_distrib, dtype=DTYPE)
    )
    assert mdp.horizon == 20 and mdp.discount == 0.95


def test_package_and_gymnasium_step_loop_give_the_same_returns():
    horizon, discount, n = 60, 0.99, 2500
    env = gymnasium.make("FrozenLake-v1", max_episode_steps=horizon)
    mdp = pg.FiniteMDP.from_gymnasium(env, horizon=horizon, discount=discount)
    good_actions = torch.tensor(
        [0, 3, 3, 3, 0, 0, 0, 0, 3, 1, 0, 0, 0, 2, 1, 0]
    )  # an optimal policy's
    logits = 4.0 * torch.nn.functional.one_hot(good_actions, 4).to(DTYPE)
    ours = pg.sample_episodes(mdp, logits, n, generator=gen(21)).returns(discount)
    theirs = pg.gymnasium_returns(env, logits, n, discount=discount, generator=gen(22))
    exact = pg.exact_return(mdp, logits).item()
    se_ours, se_theirs = ours.std().item() / math.sqrt(n), theirs.std().item() / math.sqrt(n)
    assert 0.05 < exact < 0.95
    assert abs(ours.mean().item() - exact) < 5 * se_ours
    assert abs(theirs.mean().item() - exact) < 5 * se_theirs
    assert abs(ours.mean().item() - theirs.mean().item()) < 5 * math.hypot(se_ours, se_theirs)
    # the whole distribution, not only the mean: returns are gamma^(step of arrival) or 0
    assert stats.ks_2samp(ours.numpy(), theirs.numpy()).pvalue > 1e-3
    assert pg.gymnasium_returns(env, logits, 50, discount=discount, generator=gen(5)).equal(
        pg.gymnasium_returns(env, logits, 50, discount=discount, generator=gen(5))
    )


def test_from_gymnasium_rejects_an_environment_without_a_table():
    with pytest.raises(TypeError, match="transition table"):
        pg.FiniteMDP.from_gymnasium(object(), horizon=5, discount=0.9)


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


def valid_arguments():
    transitions = torch.full((2, 2, 2), 0.5, dtype=DTYPE)
    return dict(
        transitions=transitions,
        rewards=torch.zeros(2, 2, dtype=DTYPE),
        initial=torch.tensor([1.0, 0.0], dtype=DTYPE),
        discount=0.9,
        horizon=3,
    )


@pytest.mark.parametrize(
    "change, error, match",
    [
        (
            dict(transitions=torch.full((2, 2, 2), 0.4, dtype=DTYPE)),
            ValueError,
            "transitions.*sum to 1",
        ),
        (
            dict(transitions=torch.tensor([[[1.5, -0.5]] * 2] * 2, dtype=DTYPE)),
            ValueError,
            "transitions.*negative",
        ),
        (
            dict(transitions=torch.full((2, 2, 3), 1 / 3, dtype=DTYPE)),
            ValueError,
            "transitions has shape",
        ),
        (dict(rewards=torch.zeros(3, 2)), ValueError, "rewards has shape"),
        (
            dict(rewards=torch.tensor([[float("nan"), 0.0], [0.0, 0.0]])),
            ValueError,
            "rewards must be finite",
        ),
        (dict(initial=torch.tensor([0.5, 0.6])), ValueError, "initial.*sum to 1"),
        (dict(initial=torch.tensor([1.0])), ValueError, "initial has shape"),
        (dict(discount=1.5), ValueError, "discount must be in"),
        (dict(discount=-0.1), ValueError, "discount must be in"),
        (dict(discount="0.9"), TypeError, "discount"),
        (dict(horizon=0), ValueError, "horizon must be >= 1"),
        (dict(horizon=2.5), TypeError, "horizon must be an integer"),
    ],
)
def test_bad_mdp_arguments(change, error, match):
    with pytest.raises(error, match=match):
        pg.FiniteMDP(**{**valid_arguments(), **change})


def test_bad_estimator_arguments():
    mdp = pg.FiniteMDP(**valid_arguments())
    logits = torch.zeros(2, 2, dtype=DTYPE)
    with pytest.raises(ValueError, match="num_episodes must be >= 1"):
        pg.sample_episodes(mdp, logits, 0)
    with pytest.raises(ValueError, match="num_episodes must be >= 1"):
        pg.reinforce_grad(mdp, logits, 0)
    with pytest.raises(ValueError, match="logits has shape"):
        pg.exact_return(mdp, torch.zeros(3, 2))
    with pytest.raises(ValueError, match="baseline must be"):
        pg.reinforce_grad(mdp, logits, 10, baseline="mean")
    with pytest.raises(ValueError, match="one value per episode"):
        pg.reinforce_grad(mdp, logits, 10, baseline=lambda t, s: torch.zeros(3))
    with pytest.raises(ValueError, match="drop_discount"):
        pg.reinforce_grad(mdp, logits, 10, reward_to_go=False, drop_discount=True)
    with pytest.raises(TypeError, match="generator"):
        pg.sample_episodes(mdp, logits, 10, generator=0)
    with pytest.raises(TypeError, match="mdp must be a FiniteMDP"):
        pg.exact_return("frozen lake", logits)


def test_enumerate_trajectories_matches_the_explicit_enumeration():
    mdp, logits = random_problem(5, num_states=3, num_actions=2, horizon=3, discount=0.8)
    episodes, probs = pg.enumerate_trajectories(mdp, logits)
    assert probs.sum().item() == pytest.approx(1.0, abs=1e-12)
    reference, reference_probs = all_trajectories(mdp, logits)
    expected = torch.einsum(
        "n,nsa->sa",
        reference_probs,
        pg.reinforce_grad(mdp, logits, len(reference_probs), episodes=reference, baseline="value"),
    )
    got = torch.einsum(
        "n,nsa->sa",
        probs,
        pg.reinforce_grad(mdp, logits, len(probs), episodes=episodes, baseline="value"),
    )
    torch.testing.assert_close(got, expected, atol=1e-12, rtol=0)
    torch.testing.assert_close(
        (probs * episodes.returns(0.8)).sum(), pg.exact_return(mdp, logits), atol=1e-12, rtol=0
    )
    with pytest.raises(ValueError, match="max_trajectories"):
        pg.enumerate_trajectories(mdp, logits, max_trajectories=10)


def test_train_policy_exact_ascent_approaches_the_dynamic_programming_optimum():
    mdp, _ = random_problem(19, num_states=4, num_actions=3, horizon=4, discount=0.9)
    v = torch.zeros(mdp.num_states, dtype=DTYPE)
    for _ in range(mdp.horizon):  # backward induction over deterministic time-dependent policies
        v = (mdp.expected_rewards + mdp.discount * mdp.transitions @ v).max(-1).values
    optimum = (mdp.initial @ v).item()
    returns, logits = pg.train_policy(mdp, 150, learning_rate=0.2)
    assert returns.shape == (151,) and logits.shape == (4, 3)
    assert returns[-1] > returns[0] and returns[-1] <= optimum + 1e-12
    assert pg.exact_return(mdp, logits).item() == pytest.approx(returns[-1].item())
    sampled, _ = pg.train_policy(
        mdp, 20, learning_rate=0.1, num_episodes=200, baseline="value", generator=gen(2)
    )
    assert sampled[-1] > sampled[0]
