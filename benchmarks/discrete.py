"""Discrete-variable gradient estimators on the binary toy problem, measured against exact values.

For f(b) = (b - t)^2, b ~ Bernoulli(sigmoid(theta)) (Tucker et al. 2017), this prints:

1. At theta = -1, t = 0.45: the mean and the variance per two evaluations of f of the
   Gumbel-softmax (pathwise on RelaxedBernoulli) and straight-through estimators at several
   temperatures, Monte Carlo against exact (quadrature, ``enumeration.relaxed_bernoulli_moments``),
   with the bias against the exact discrete gradient; and the same for the score function,
   RLOO (K = 2) and DisARM (one antithetic pair), with the DisARM / RLOO variance ratio.
2. The DisARM / RLOO(K = 2) variance ratio on a three-bit code with a coupled cost.
3. Adam (lr 0.05) from theta = 0, two evaluations of f per step, for t = 0.45 and 0.499:
   the median and interquartile range over ``--runs`` runs of p = sigmoid(theta) after
   ``--steps`` steps, and the time per step (all runs at once, one thread).

Run: ``python benchmarks/discrete.py [--num-samples 1000000] [--steps 2000] [--runs 64] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from lecture9 import enumeration, estimators
from lecture9.baselines import LeaveOneOutBaseline, group_means
from lecture9.reference import discrete_score_function_moments

D = torch.distributions
DTYPE = torch.float64
TEMPERATURES = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)


def toy(t: float):
    return lambda b: (b - t) ** 2


def estimate(
    method: str, f, logits: torch.Tensor, num_pairs: int, generator, temperature: float = 0.5
):
    """Per-estimate gradients, each from two evaluations of f, shape (num_pairs, *logits.shape)."""
    params, tau = {"logits": logits}, torch.tensor(temperature, dtype=DTYPE)
    if method == "exact":
        return enumeration.enumerated_gradient(f, D.Bernoulli, params)[1]["logits"][None]
    if method == "DisARM":
        return estimators.disarm_grad(f, D.Bernoulli, params, num_pairs, generator=generator)[
            "logits"
        ]
    if method == "Gumbel-softmax":
        g = estimators.pathwise_grad(
            f,
            D.RelaxedBernoulli,
            {**params, "temperature": tau},
            2 * num_pairs,
            generator=generator,
        )["logits"]
    elif method == "straight-through":
        g = estimators.straight_through_grad(
            f, D.Bernoulli, params, 2 * num_pairs, temperature=temperature, generator=generator
        )["logits"]
    else:
        baseline = LeaveOneOutBaseline(2) if method == "RLOO" else None
        g = estimators.score_function_grad(
            f, D.Bernoulli, params, 2 * num_pairs, baseline=baseline, generator=generator
        )["logits"]
    return group_means(g, 2)


def moments_table(num_samples: int, generator) -> None:
    theta, f = -1.0, toy(0.45)
    logits = torch.tensor(theta, dtype=DTYPE)
    _, exact = enumeration.enumerated_gradient(f, D.Bernoulli, {"logits": logits})
    true = float(exact["logits"])
    print(
        f"1. theta = {theta}, t = 0.45: exact gradient {true:.5f}; variance per two evaluations of f"
    )
    print(
        f"{'estimator':<17} {'tau':>5} {'mean (MC)':>11} {'mean exact':>11} {'bias':>9} {'var (MC)':>10} "
        f"{'var exact':>10}"
    )
    for name, key in (
        ("Gumbel-softmax", "gumbel_softmax"),
        ("straight-through", "straight_through"),
    ):
        for tau in TEMPERATURES:
            g = estimate(name, f, logits, num_samples // 2, generator, temperature=tau)
            mean, var = enumeration.relaxed_bernoulli_moments(f, theta, tau, key)
            print(
                f"{name:<17} {tau:>5} {float(g.mean()):>11.5f} {mean:>11.5f} {mean - true:>+9.5f} "
                f"{float(g.var()):>10.3e} {var / 2:>10.3e}"
            )
    p = 1 / (1 + math.exp(-theta))
    m, delta = min(p, 1 - p), (1 - 0.45) ** 2 - 0.45**2
    exact_var = {
        "score function": discrete_score_function_moments(
            f, D.Bernoulli, {"logits": logits}, "logits"
        ).variance()
        / 2,
        "RLOO": delta**2 * p * (1 - p) * (0.5 - p * (1 - p)),
        "DisARM": delta**2 * p * (1 - p) * (1 - m) * (0.5 - m),
    }
    measured = {}
    for name, var in exact_var.items():
        g = estimate(name, f, logits, num_samples // 2, generator)
        measured[name] = float(g.var())
        print(
            f"{name:<17} {'-':>5} {float(g.mean()):>11.5f} {true:>11.5f} {0.0:>+9.5f} {measured[name]:>10.3e} "
            f"{var:>10.3e}"
        )
    print(
        f"DisARM / RLOO variance: {measured['DisARM'] / measured['RLOO']:.3f} measured, "
        f"{exact_var['DisARM'] / exact_var['RLOO']:.3f} exact\n"
    )


def three_bits(num_samples: int, generator) -> None:
    logits = torch.tensor([-1.0, 0.3, 1.2], dtype=DTYPE)
    weights = torch.tensor([0.5, 1.0, 1.5], dtype=DTYPE)
    cost = lambda b: ((b * weights).sum(-1) - 1.0) ** 2  # noqa: E731
    bits = lambda logits: D.Independent(D.Bernoulli(logits=logits), 1)  # noqa: E731
    n = num_samples // 2
    dis = estimators.disarm_grad(cost, bits, {"logits": logits}, n, generator=generator)[
        "logits"
    ].var(0)
    rloo = group_means(
        estimators.score_function_grad(
            cost,
            bits,
            {"logits": logits},
            2 * n,
            baseline=LeaveOneOutBaseline(2),
            generator=generator,
        )["logits"],
        2,
    ).var(0)
    print(
        f"2. three coupled bits, logits {logits.tolist()}: DisARM / RLOO(K=2) variance per bit "
        f"{(dis / rloo).numpy().round(3).tolist()}, in total {float(dis.sum() / rloo.sum()):.3f}\n"
    )


def optimisation(steps: int, runs: int, generator) -> None:
    print(
        f"3. Adam (lr 0.05) from theta = 0, two evaluations of f per step, {runs} runs, {steps} steps: "
        f"p = sigmoid(theta) at the end, median [25 %, 75 %]"
    )
    for target in (0.45, 0.499):
        f = toy(target)
        for method in (
            "score function",
            "RLOO",
            "Gumbel-softmax",
            "straight-through",
            "DisARM",
            "exact",
        ):
            theta = torch.zeros(runs, dtype=DTYPE, requires_grad=True)
            optimizer = torch.optim.Adam([theta], lr=0.05)
            start = time.perf_counter()
            for _ in range(steps):
                optimizer.zero_grad()
                theta.grad = estimate(method, f, theta.detach(), 1, generator).mean(0)
                optimizer.step()
            per_step = (time.perf_counter() - start) / steps
            p = torch.sigmoid(theta.detach())
            print(
                f"t = {target:<5} {method:<17} {float(p.median()):.4f} [{float(p.quantile(0.25)):.4f}, "
                f"{float(p.quantile(0.75)):.4f}]  {1e3 * per_step:.2f} ms/step"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-samples", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(args.seed)
    moments_table(args.num_samples, generator)
    three_bits(args.num_samples, generator)
    optimisation(args.steps, args.runs, generator)


if __name__ == "__main__":
    main()
