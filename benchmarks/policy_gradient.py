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

Run: ``python benchmarks/policy_gradient.py [--num-episodes 20000] [--horizon 100] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import math
import time

import gymnasium
import torch

from lecture9 import policy_gradient as pg

DTYPE = torch.float64
VARIANTS = {
    "whole return": dict(reward_to_go=False),
    "reward-to-go": dict(),
    "reward-to-go + value baseline": dict(baseline="value"),
}


def total_variance(grads: torch.Tensor) -> float:
    flat = grads.flatten(1)
    return (flat - flat.mean(0)).pow(2).sum(1).mean().item()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-episodes", type=int, default=20_000)
    parser.add_argument("--horizon", type=int, default=100)
    parser.add_argument("--discount", type=float, default=0.99)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
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

    print(f"FrozenLake-v1 (slippery 4x4), horizon {args.horizon}, discount {args.discount}, {n} episodes, 1 thread\n")
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
        for label, returns, seconds in (("lecture9 (vectorised)", ours, t_ours), ("Gymnasium step loop", theirs, t_theirs)):
            se = returns.std().item() / math.sqrt(n)
            print(f"{name:<13} {label:<22} {n / seconds:11,.0f} {returns.mean().item():10.4f} ± {se:.4f} {exact:8.4f}")
        print(f"{name:<13} {'speed-up':<22} {t_theirs / t_ours:10.1f}x")

    print(f"\nTotal variance of one-episode REINFORCE estimates (same {n} episodes per policy)")
    print(f"{'policy':<13} {'estimator':<31} {'total variance':>15} {'ratio':>7} {'||grad J||^2':>13}")
    for name, logits in policies.items():
        episodes = pg.sample_episodes(mdp, logits, n, generator=generator)
        signal = pg.exact_policy_gradient(mdp, logits).pow(2).sum().item()
        base = None
        for label, kwargs in VARIANTS.items():
            v = total_variance(pg.reinforce_grad(mdp, logits, n, episodes=episodes, **kwargs))
            base = base or v
            print(f"{name:<13} {label:<31} {v:15.4g} {v / base:7.3f} {signal:13.3g}")


if __name__ == "__main__":
    main()
