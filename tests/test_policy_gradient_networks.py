"""Tests of lecture9.policy_networks: network policies against the exact network gradient.

The surrogate loss's gradient is the REINFORCE estimate (exactly, against the chain rule
through the tabular estimates) and unbiased against the exact gradient of the network's
parameters (autograd through the exact return) within 5 standard errors over 10^5
episodes; GAE with the exact values is unbiased for every lambda and equals reward-to-go
with a baseline at lambda = 1; the CartPole loop reaches the maximum return.
"""

from __future__ import annotations

import math

import gymnasium
import pytest
import torch

from lecture9 import policy_gradient as pg
from lecture9 import policy_networks as pn

DTYPE = torch.float64
N = 100_000


def gen(seed):
    return torch.Generator().manual_seed(seed)


def problem(seed=0, num_states=4, num_actions=3, horizon=5, discount=0.9):
    g = gen(seed)
    mdp = pg.random_mdp(num_states, num_actions, horizon=horizon, discount=discount, generator=g)
    network = pn.mlp((num_states, 8, num_actions), generator=g, dtype=DTYPE)
    return mdp, network


def flat(grads):
    return torch.cat([g.flatten() for g in grads])


def z_scores(per_episode, exact):
    se = per_episode.std(0) / math.sqrt(len(per_episode))
    return (per_episode.mean(0) - exact) / se.clamp_min(1e-300)


VARIANTS = {
    "whole return": dict(reward_to_go=False),
    "reward-to-go": dict(),
    "reward-to-go, value baseline": dict(baseline="value"),
}


@pytest.mark.parametrize("name", VARIANTS)
def test_surrogate_gradient_is_unbiased_for_the_exact_network_gradient(name):
    mdp, network = problem()
    episodes = pg.sample_episodes(
        mdp, pn.network_logits(mdp, network).detach(), N, generator=gen(1)
    )
    loss = pn.network_surrogate(mdp, network, episodes, **VARIANTS[name])
    surrogate_grad = -flat(torch.autograd.grad(loss, list(network.parameters())))
    logits = pn.network_logits(mdp, network).detach()
    tabular = pg.reinforce_grad(mdp, logits, N, episodes=episodes, **VARIANTS[name])
    per_episode = tabular.flatten(1) @ pn.logits_jacobian(mdp, network)
    torch.testing.assert_close(surrogate_grad, per_episode.mean(0), atol=1e-10, rtol=1e-10)
    exact = flat(pn.exact_network_gradient(mdp, network))
    z = z_scores(per_episode, exact)
    assert z.abs().max() < 5, z
    assert exact.norm() > 10 * (per_episode.std(0) / math.sqrt(N)).norm()  # the test has power


def test_exact_network_gradient_is_the_chain_rule_of_the_tabular_one():
    mdp, network = problem(2)
    logits = pn.network_logits(mdp, network).detach()
    chain = pg.exact_policy_gradient(mdp, logits).flatten() @ pn.logits_jacobian(mdp, network)
    torch.testing.assert_close(
        flat(pn.exact_network_gradient(mdp, network)), chain, atol=1e-12, rtol=0
    )


@pytest.mark.parametrize("name", VARIANTS)
def test_episode_weights_reproduce_reinforce_grad(name):
    mdp, network = problem(3)
    logits = pn.network_logits(mdp, network).detach()
    episodes = pg.sample_episodes(mdp, logits, 200, generator=gen(4))
    kwargs = dict(VARIANTS[name])
    baseline = (
        pg.values(mdp, logits)[1].gather(1, episodes.states.T).T
        if kwargs.pop("baseline", None)
        else None
    )
    weights = pg.episode_weights(
        episodes.rewards, discount=mdp.discount, baseline=baseline, **kwargs
    )
    torch.testing.assert_close(
        pg.weighted_scores(logits, episodes.states, episodes.actions, weights),
        pg.reinforce_grad(mdp, logits, 200, episodes=episodes, **VARIANTS[name]),
        atol=1e-12,
        rtol=0,
    )
    per_episode = pn.per_episode_gradients(mdp, network, episodes, weights)
    loss = pg.surrogate_loss(
        torch.log_softmax(pn.network_logits(mdp, network), -1)[episodes.states, episodes.actions],
        weights,
    )
    torch.testing.assert_close(
        -flat(torch.autograd.grad(loss, list(network.parameters()))),
        per_episode.mean(0),
        atol=1e-12,
        rtol=1e-10,
    )


def exact_values_per_step(mdp, logits, states):
    v = pg.values(mdp, logits)[1].gather(1, states.T).T  # (N, T): V_t(s_t)
    return torch.cat([v, torch.zeros_like(v[:, :1])], 1)  # V_T = 0


@pytest.mark.parametrize("lam", [0.0, 0.5, 0.95, 1.0])
def test_gae_with_the_exact_values_is_unbiased(lam):
    mdp, network = problem(5)
    logits = pn.network_logits(mdp, network).detach()
    episodes = pg.sample_episodes(mdp, logits, N, generator=gen(6))
    advantages = pg.gae_advantages(
        episodes.rewards,
        exact_values_per_step(mdp, logits, episodes.states),
        discount=mdp.discount,
        lam=lam,
    )
    weights = mdp.discount ** torch.arange(mdp.horizon, dtype=DTYPE) * advantages
    grads = pg.weighted_scores(logits, episodes.states, episodes.actions, weights).flatten(1)
    z = z_scores(grads, pg.exact_policy_gradient(mdp, logits).flatten())
    assert z.abs().max() < 5, z


def test_gae_with_wrong_values_is_biased_at_lambda_zero():
    mdp, network = problem(5)
    logits = pn.network_logits(mdp, network).detach()
    episodes = pg.sample_episodes(mdp, logits, N, generator=gen(7))
    wrong = exact_values_per_step(mdp, logits, episodes.states)
    wrong[:, :-1] += 0.5 * torch.sin(
        3.0 * episodes.states.to(DTYPE)
    )  # an error that depends on the state
    weights = mdp.discount ** torch.arange(mdp.horizon, dtype=DTYPE)
    z = {}
    for lam in (0.0, 1.0):
        advantages = pg.gae_advantages(episodes.rewards, wrong, discount=mdp.discount, lam=lam)
        grads = pg.weighted_scores(
            logits, episodes.states, episodes.actions, weights * advantages
        ).flatten(1)
        z[lam] = z_scores(grads, pg.exact_policy_gradient(mdp, logits).flatten()).abs().max()
    assert z[0.0] > 10 and z[1.0] < 5, z


def test_gae_at_lambda_one_is_reward_to_go_with_the_same_baseline():
    g = gen(8)
    rewards = torch.randn(50, 7, generator=g, dtype=DTYPE)
    values = torch.randn(50, 8, generator=g, dtype=DTYPE)
    values[:, -1] = 0.0
    advantages = pg.gae_advantages(rewards, values, discount=0.9, lam=1.0)
    to_go = pg.discounted_to_go(rewards, discount=0.9)
    torch.testing.assert_close(advantages, to_go - values[:, :-1], atol=1e-12, rtol=0)
    weights = pg.episode_weights(rewards, discount=0.9, baseline=values[:, :-1], drop_discount=True)
    torch.testing.assert_close(advantages, weights, atol=1e-12, rtol=0)


def test_gae_against_the_direct_discounted_sums():
    g = gen(9)
    rewards = torch.randn(6, 5, generator=g, dtype=DTYPE)
    values = torch.randn(6, 6, generator=g, dtype=DTYPE)
    mask = torch.ones(6, 5, dtype=torch.bool)
    mask[0, 3:] = False
    for lam in (0.0, 0.3, 1.0):
        got = pg.gae_advantages(rewards, values, discount=0.8, lam=lam, mask=mask)
        for n in range(6):
            length = int(mask[n].sum())
            v = torch.cat([values[n, :length], values[n, length : length + 1] * (length == 5)])
            delta = [rewards[n, t] + 0.8 * v[t + 1] - v[t] for t in range(length)]
            for t in range(5):
                expected = (
                    sum((0.8 * lam) ** k * delta[t + k] for k in range(length - t))
                    if t < length
                    else 0.0
                )
                assert got[n, t].item() == pytest.approx(float(expected), abs=1e-12)
    delta = rewards + 0.8 * values[:, 1:] - values[:, :-1]
    torch.testing.assert_close(pg.gae_advantages(rewards, values, discount=0.8, lam=0.0), delta)


def test_collect_episodes_is_vectorised_and_repeatable():
    envs = pn.make_envs("CartPole-v1", 4)
    policy = pn.mlp((4, 16, 2), generator=gen(0))
    a = pn.collect_episodes(envs, policy, generator=gen(1))
    b = pn.collect_episodes(envs, policy, generator=gen(1))
    assert a.observations.shape[:2] == a.actions.shape == a.rewards.shape == a.mask.shape
    assert a.observations.shape[0] == 4 and torch.equal(a.returns(), b.returns())
    torch.testing.assert_close(a.returns(), a.mask.sum(1).float())  # CartPole pays 1 a step
    assert a.mask[:, 0].all() and (a.mask.float().diff(dim=1) <= 0).all()  # alive, then done
    log_probs = a.log_probs(policy)
    assert log_probs.requires_grad and (log_probs[~a.mask] == 0).all()


def test_cartpole_slow_reaches_475_for_three_seeds_of_three():
    torch.set_num_threads(1)
    envs = pn.make_envs("CartPole-v1", 16)
    for seed in range(3):
        g = gen(seed)
        policy, value = pn.mlp((4, 64, 2), generator=g), pn.mlp((4, 64, 1), generator=g)
        returns = pn.train_policy(
            envs, policy, 120, value=value, value_steps=5, stop_at=475.0, generator=g
        )
        assert returns.flatten()[-20:].mean() >= 475, (seed, len(returns))


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda: pg.gae_advantages(torch.zeros(2, 3), torch.zeros(2, 3), discount=0.9, lam=0.5),
            ValueError,
            "values",
        ),
        (
            lambda: pg.gae_advantages(torch.zeros(2, 3), torch.zeros(2, 4), discount=0.9, lam=1.5),
            ValueError,
            "lam",
        ),
        (
            lambda: pg.gae_advantages(
                torch.zeros(2, 3), torch.zeros(2, 4), discount=float("nan"), lam=0.5
            ),
            ValueError,
            "discount",
        ),
        (
            lambda: pg.gae_advantages(
                torch.zeros(2, 3), torch.zeros(2, 4), discount="0.9", lam=0.5
            ),
            TypeError,
            "discount",
        ),
        (
            lambda: pg.gae_advantages([[1.0]], torch.zeros(1, 2), discount=0.9, lam=0.5),
            TypeError,
            "rewards",
        ),
        (
            lambda: pg.surrogate_loss(torch.zeros(2, 3), torch.zeros(2, 3, requires_grad=True)),
            ValueError,
            "detach",
        ),
        (lambda: pg.surrogate_loss(torch.zeros(2, 3), torch.zeros(3, 2)), ValueError, "weights"),
        (
            lambda: pg.surrogate_loss(torch.zeros(2, 3), torch.full((2, 3), float("nan"))),
            ValueError,
            "weights",
        ),
        (
            lambda: pg.episode_weights(
                torch.zeros(2, 3), discount=0.9, reward_to_go=False, drop_discount=True
            ),
            ValueError,
            "drop_discount",
        ),
        (lambda: pn.mlp((4,)), ValueError, "sizes"),
        (lambda: pn.mlp((4, 0, 2)), ValueError, "sizes"),
        (lambda: pn.make_envs(3), TypeError, "env_id"),
        (
            lambda: pn.collect_episodes(gymnasium.make("CartPole-v1"), pn.mlp((4, 2))),
            TypeError,
            "envs",
        ),
        (
            lambda: pn.collect_episodes(pn.make_envs("CartPole-v1", 2), lambda x: x),
            TypeError,
            "policy",
        ),
        (
            lambda: pn.collect_episodes(pn.make_envs("CartPole-v1", 2), pn.mlp((4, 3))),
            ValueError,
            "policy",
        ),
        (
            lambda: pn.train_policy(pn.make_envs("CartPole-v1", 2), pn.mlp((4, 2)), 0),
            ValueError,
            "num_batches",
        ),
        (
            lambda: pn.train_policy(
                pn.make_envs("CartPole-v1", 2), pn.mlp((4, 2)), 1, learning_rate=float("inf")
            ),
            ValueError,
            "learning_rate",
        ),
        (
            lambda: pn.network_logits(pg.random_mdp(3, 2, horizon=2, discount=0.9), pn.mlp((3, 5))),
            ValueError,
            "network",
        ),
        (lambda: pn.network_logits("lake", pn.mlp((3, 2))), TypeError, "mdp"),
        (lambda: pn.one_hot_states(torch.tensor([0, 5]), 3), ValueError, "states"),
    ],
)
def test_bad_arguments_get_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_a_network_that_returns_nan_is_refused():
    mdp, network = problem(10)
    with torch.no_grad():
        network[0].weight.fill_(float("nan"))
    with pytest.raises(ValueError, match="network"):
        pn.exact_network_return(mdp, network)


@pytest.mark.parametrize("lam", [0.0, 0.5, 1.0])
def test_expected_gae_gradient_exact_values_and_by_enumeration(lam):
    mdp, network = problem(12, num_states=3, num_actions=2, horizon=3, discount=0.8)
    logits = pn.network_logits(mdp, network).detach()
    exact_v = torch.cat([pg.values(mdp, logits)[1], torch.zeros(1, 3, dtype=DTYPE)])
    torch.testing.assert_close(
        pg.expected_gae_gradient(mdp, logits, exact_v, lam=lam),
        pg.exact_policy_gradient(mdp, logits),
        atol=1e-12,
        rtol=0,
    )
    wrong = torch.randn(4, 3, generator=gen(13), dtype=DTYPE)
    episodes, probs = pg.enumerate_trajectories(mdp, logits)
    per_step = torch.cat(
        [wrong[torch.arange(3), episodes.states], wrong[3].expand(len(probs), 3)[:, :1]], 1
    )
    # the value after the last step: the wrong table's row T at the final state s_T
    advantages = pg.gae_advantages(episodes.rewards, per_step, discount=0.8, lam=lam)
    weights = 0.8 ** torch.arange(3, dtype=DTYPE) * advantages
    enumerated = torch.einsum(
        "n,nsa->sa", probs, pg.weighted_scores(logits, episodes.states, episodes.actions, weights)
    )
    values_table = wrong.clone()
    values_table[3] = wrong[3, 0]  # the same value after the last step in every final state
    torch.testing.assert_close(
        pg.expected_gae_gradient(mdp, logits, values_table, lam=lam), enumerated, atol=1e-12, rtol=0
    )
