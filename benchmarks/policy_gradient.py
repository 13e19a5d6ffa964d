"""Policy gradients on FrozenLake: sampler speed and the variance of the REINFORCE variants.

Prints, measured in one run:

1. Episodes per second of ``lecture9.policy_gradient.sample_episodes`` (all episodes
   advance together, one tensor operation per step) against Gymnasium's own
   ``reset`` / ``step`` loop (``gymnasium.make("FrozenLake-v1", max_episode_steps=horizon)``,
   one Python call per step), with the same policy and the same number of episodes, and
   the mean returns of both beside the exact one.
2. The total variance E||g - grad J||^2 of one-episode REINFORCE estimates with the whole
   return, with reward-to-go, and with reward-to-go and the exact value baseline, on the
   same episodes, at the uniform policy and at a policy part-way to the goal, and the
   ratios to the whole-return variance.
3. CartPole-v1 (Gymnasium's native vectorised environment): wall time and batches until
   the mean return of the last 20 episodes reaches 475, REINFORCE with reward-to-go and a
   learned value baseline (MLP 4-64-2 policy, 4-64-1 value, 16 episodes a batch, Adam
   1e-2, gamma 0.99, 5 value steps a batch), with ``lecture9.policy_networks.train_policy``
   against the plain PyTorch script below (``plain_reinforce``), same seeds. Both draw the
   same random numbers in the same order, so they run the same batches and the ratio
   of wall times measures the code, not luck. Then the package without the baseline.

Run: ``python benchmarks/policy_gradient.py [--num-episodes 20000] [--horizon 100] [--seed 0]
[--cartpole-only] [--seeds 3]``.
"""

from __future__ import annotations

import argparse
import math
import time

import gymnasium
import numpy as np
import torch
from torch import nn

from lecture9 import policy_gradient as pg
from lecture9 import policy_networks as pn

DTYPE = torch.float64
VARIANTS = {
    "whole return": dict(reward_to_go=False),
    "reward-to-go": dict(),
    "reward-to-go + value baseline": dict(baseline="value"),
}


# ---------------------------------------------------------------------------
# The plain script: REINFORCE on CartPole in PyTorch alone (no lecture9)
# ---------------------------------------------------------------------------


def plain_reinforce(
    seed, *, batch=16, gamma=0.99, lr=1e-2, value_steps=5, stop_at=475.0, max_batches=300
):
    """Batches used until the last 20 episodes average ``stop_at``; reward-to-go, learned baseline."""
    torch.manual_seed(seed)
    policy = nn.Sequential(nn.Linear(4, 64), nn.Tanh(), nn.Linear(64, 2))
    value = nn.Sequential(nn.Linear(4, 64), nn.Tanh(), nn.Linear(64, 1))
    policy_opt = torch.optim.Adam(policy.parameters(), lr=lr)
    value_opt = torch.optim.Adam(value.parameters(), lr=lr)
    envs = gymnasium.make_vec(
        "CartPole-v1", num_envs=batch, vectorization_mode="vector_entry_point"
    )
    returns = []
    for batches in range(1, max_batches + 1):
        obs, _ = envs.reset(seed=int(torch.randint(2**31 - 1, ())))
        alive = np.ones(batch, dtype=bool)
        observations, actions, rewards, masks = [], [], [], []
        while alive.any():  # all 16 episodes advance together
            x = torch.as_tensor(obs, dtype=torch.float32)
            with torch.no_grad():
                probs = torch.softmax(policy(x), -1)
            action = (probs.cumsum(-1)[:, :-1] < torch.rand(batch, 1)).sum(-1)
            obs, reward, terminated, truncated, _ = envs.step(action.numpy())
            observations.append(x)
            actions.append(action)
            rewards.append(torch.as_tensor(reward, dtype=torch.float32) * torch.as_tensor(alive))
            masks.append(torch.as_tensor(alive.copy()))
            alive &= ~(terminated | truncated)
        obs_b, act_b = torch.stack(observations, 1), torch.stack(actions, 1)
        rew_b, mask = torch.stack(rewards, 1), torch.stack(masks, 1)
        to_go, running = torch.empty_like(rew_b), torch.zeros(batch)
        for t in reversed(range(rew_b.shape[1])):  # reward-to-go G_t
            running = rew_b[:, t] + gamma * running
            to_go[:, t] = running
        with torch.no_grad():
            weights = (to_go - value(obs_b)[..., 0]) * mask
        log_pi = torch.log_softmax(policy(obs_b), -1).gather(-1, act_b[..., None])[..., 0]
        loss = -torch.where(mask, log_pi * weights, 0.0).sum(1).mean()
        policy_opt.zero_grad()
        loss.backward()
        policy_opt.step()
        for _ in range(value_steps):  # regression of V on the returns to go
            value_loss = (value(obs_b[mask])[:, 0] - to_go[mask]).pow(2).mean()
            value_opt.zero_grad()
            value_loss.backward()
            value_opt.step()
        returns.append((rew_b * mask).sum(1))
        if torch.cat(returns)[-20:].mean() >= stop_at:
            return batches
    return max_batches


def package_reinforce(seed, *, baseline=True, max_batches=300):
    """The same with ``lecture9.policy_networks``: batches used until 475."""
    generator = torch.Generator().manual_seed(seed)
    policy = pn.mlp((4, 64, 2), generator=generator)
    value = pn.mlp((4, 64, 1), generator=generator) if baseline else None
    envs = pn.make_envs("CartPole-v1", 16)
    returns = pn.train_policy(
        envs,
        policy,
        max_batches,
        learning_rate=1e-2,
        discount=0.99,
        value=value,
        value_steps=5,
        stop_at=475.0,
        generator=generator,
    )
    return len(returns)


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def cartpole(seeds: int) -> None:
    print(
        "\nCartPole-v1, REINFORCE + learned baseline, until the last 20 episodes average 475 (1 thread)"
    )
    print(
        f"{'seed':>4} {'plain batches':>14} {'plain s':>8} {'package batches':>16} {'package s':>10} {'ratio':>6}"
    )
    total_plain = total_package = 0.0
    for seed in range(seeds):
        plain_batches, t_plain = timed(plain_reinforce, seed)
        package_batches, t_package = timed(package_reinforce, seed)
        total_plain, total_package = total_plain + t_plain, total_package + t_package
        print(
            f"{seed:>4} {plain_batches:>14} {t_plain:8.2f} {package_batches:>16} {t_package:10.2f} "
            f"{t_package / t_plain:6.2f}"
        )
    print(
        f"{'all':>4} {'':>14} {total_plain:8.2f} {'':>16} {total_package:10.2f} {total_package / total_plain:6.2f}"
    )
    print(
        "package without the baseline, batches to 475:",
        ", ".join(str(package_reinforce(seed, baseline=False)) for seed in range(seeds)),
    )


def total_variance(grads: torch.Tensor) -> float:
    flat = grads.flatten(1)
    return (flat - flat.mean(0)).pow(2).sum(1).mean().item()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--num-episodes", type=int, default=20_000)
    parser.add_argument("--horizon", type=int, default=100)
    parser.add_argument("--discount", type=float, default=0.99)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=3, help="CartPole seeds")
    parser.add_argument("--cartpole-only", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.cartpole_only:
        return cartpole(args.seeds)
    generator = torch.Generator().manual_seed(args.seed)
    env = gymnasium.make("FrozenLake-v1", max_episode_steps=args.horizon)
    mdp = pg.FiniteMDP.from_gymnasium(env, horizon=args.horizon, discount=args.discount)
    n = args.num_episodes

    # A policy part-way to the goal: 40 exact-gradient Adam steps from the uniform policy.
    theta = torch.zeros(16, 4, dtype=DTYPE, requires_grad=True)
    optimizer = torch.optim.Adam([theta], lr=0.05)
    for _ in range(40):
        theta.grad = -pg.exact_policy_gradient(mdp, theta.detach())
        optimizer.step()
    policies = {"uniform": torch.zeros(16, 4, dtype=DTYPE), "part-trained": theta.detach()}

    print(
        f"FrozenLake-v1 (slippery 4x4), horizon {args.horizon}, discount {args.discount}, {n} episodes, 1 thread\n"
    )
    print(f"{'policy':<13} {'sampler':<22} {'episodes/s':>11} {'mean return':>19} {'exact':>8}")
    for name, logits in policies.items():
        exact = pg.exact_return(mdp, logits).item()
        pg.sample_episodes(mdp, logits, 100, generator=generator)  # warm-up
        start = time.perf_counter()
        ours = pg.sample_episodes(mdp, logits, n, generator=generator).returns(args.discount)
        t_ours = time.perf_counter() - start
        start = time.perf_counter()
        theirs = pg.gymnasium_returns(env, logits, n, discount=args.discount, generator=generator)
        t_theirs = time.perf_counter() - start
        for label, returns, seconds in (
            ("lecture9 (vectorised)", ours, t_ours),
            ("Gymnasium step loop", theirs, t_theirs),
        ):
            se = returns.std().item() / math.sqrt(n)
            print(
                f"{name:<13} {label:<22} {n / seconds:11,.0f} {returns.mean().item():10.4f} ± {se:.4f} {exact:8.4f}"
            )
        print(f"{name:<13} {'speed-up':<22} {t_theirs / t_ours:10.1f}x")

    print(f"\nTotal variance of one-episode REINFORCE estimates (same {n} episodes per policy)")
    print(
        f"{'policy':<13} {'estimator':<31} {'total variance':>15} {'ratio':>7} {'||grad J||^2':>13}"
    )
    for name, logits in policies.items():
        episodes = pg.sample_episodes(mdp, logits, n, generator=generator)
        signal = pg.exact_policy_gradient(mdp, logits).pow(2).sum().item()
        base = None
        for label, kwargs in VARIANTS.items():
            v = total_variance(pg.reinforce_grad(mdp, logits, n, episodes=episodes, **kwargs))
            base = base or v
            print(f"{name:<13} {label:<31} {v:15.4g} {v / base:7.3f} {signal:13.3g}")
    cartpole(args.seeds)


if __name__ == "__main__":
    main()
