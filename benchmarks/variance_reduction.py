"""Variance reduction on the Fig. 2 problem, measured against the exact optimum.

For f(x) = (x - k)^2, x ~ N(mu, sigma^2) at mu = sigma = 1 and k in {-3, 0, 3}, and for
each parameter, this prints for every method of ``lecture9.control_variates`` and ``lecture9.baselines``:

- the measured single-sample variance (Monte Carlo, ``--num-samples`` samples),
- the exact variance of that method (quadrature / moment formulas),
- the exact optimum for a constant baseline, Var[(f - b*) s] with b* = E[f s^2] / E[s^2],
- measured / optimum, and the fraction of the achievable reduction obtained,
  (Var_plain - measured) / (Var_plain - optimum), with the exact Var_plain.

Goal: at least 95 % of the achievable reduction for the optimal methods (exact b*, b*
estimated on an independent pilot batch, fitted control variate beta with h = score).
RLOO is reported per sample (K x the variance of a group's mean).

Run: ``python benchmarks/variance_reduction.py [--num-samples 4194304] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from lecture9 import baselines as bl
from lecture9 import control_variates as cv
from lecture9 import estimators, reference, sampling

Normal = torch.distributions.Normal
DTYPE = torch.float64
OPTIMAL_METHODS = (
    "optimal baseline (exact b*)",
    "optimal baseline (pilot b*)",
    "control variate (fitted beta, h = s)",
)


def quadratic(k: float):
    return lambda x: (x - k) ** 2


def run(num_samples: int, seed: int, group_size: int = 4, decay: float = 0.9, batch_size: int = 16):
    generator = torch.Generator().manual_seed(seed)
    params = {"loc": torch.tensor(1.0, dtype=DTYPE), "scale": torch.tensor(1.0, dtype=DTYPE)}
    rows = []
    for k in (-3.0, 0.0, 3.0):
        f = quadratic(k)
        moments = {p: reference.gaussian_score_function_moments(f, 1.0, 1.0, p) for p in params}
        b_star = {p: m.optimal_baseline for p, m in moments.items()}

        x_pilot = sampling.draw(Normal(**params), (4096,), generator)
        b_pilot = bl.optimal_baseline(f(x_pilot), reference.gaussian_scores(x_pilot, 1.0, 1.0))

        ema = bl.MovingAverageBaseline(decay=decay)
        ema_grads = []
        num_steps = max(
            num_samples // (batch_size * 16), 50
        )  # the moving average sees fewer samples (a loop)
        for step in range(num_steps + 20):
            grads = estimators.score_function_grad(
                f, Normal, params, batch_size, baseline=ema, generator=generator
            )
            ema.update()
            if step >= 20:
                ema_grads.append(grads)

        plain = estimators.score_function_grad(f, Normal, params, num_samples, generator=generator)
        x = sampling.draw(Normal(**params), (num_samples,), generator)
        scores = reference.gaussian_scores(x, 1.0, 1.0)
        fitted = {
            p: cv.control_variate(f(x) * scores[p], scores[p], 0.0, beta="estimate") for p in params
        }
        rloo = estimators.score_function_grad(
            f,
            Normal,
            params,
            num_samples,
            baseline=bl.LeaveOneOutBaseline(group_size),
            generator=generator,
        )
        measured = {
            "score function (no baseline)": {p: plain[p].var() for p in params},
            "moving average (decay 0.9, 16/step)": {
                p: torch.cat([g[p] for g in ema_grads]).var() for p in params
            },
            "optimal baseline (exact b*)": {
                p: v.var()
                for p, v in estimators.score_function_grad(
                    f, Normal, params, num_samples, baseline=b_star, generator=generator
                ).items()
            },
            "optimal baseline (pilot b*)": {
                p: v.var()
                for p, v in estimators.score_function_grad(
                    f, Normal, params, num_samples, baseline=b_pilot, generator=generator
                ).items()
            },
            "control variate (fitted beta, h = s)": {p: fitted[p].var() for p in params},
            f"RLOO (K = {group_size}), per sample": {
                p: group_size * bl.group_means(rloo[p], group_size).var() for p in params
            },
            "delta method, score function, 1st order": {
                p: v.var()
                for p, v in cv.delta_method_grad(
                    f, params, num_samples, order=1, beta=1.0, generator=generator
                ).items()
            },
            "delta method, score function, 2nd order": {
                p: v.var()
                for p, v in cv.delta_method_grad(
                    f, params, num_samples, order=2, beta=1.0, generator=generator
                ).items()
            },
            "pathwise": {
                p: v.var()
                for p, v in estimators.pathwise_grad(
                    f, Normal, params, num_samples, generator=generator
                ).items()
            },
            "delta method, pathwise, 1st order": {
                p: v.var()
                for p, v in cv.delta_method_grad(
                    f,
                    params,
                    num_samples,
                    estimator="pathwise",
                    order=1,
                    beta=1.0,
                    generator=generator,
                ).items()
            },
        }
        for p in params:
            m = moments[p]
            exact = {
                "score function (no baseline)": m.variance(),
                "moving average (decay 0.9, 16/step)": m.moving_average_variance(decay, batch_size),
                "optimal baseline (exact b*)": m.optimal_variance,
                "optimal baseline (pilot b*)": m.variance(float(b_pilot[p])),
                "control variate (fitted beta, h = s)": m.optimal_variance,
                f"RLOO (K = {group_size}), per sample": group_size * m.rloo_variance(group_size),
                "delta method, score function, 1st order": cv.delta_method_moments(
                    f, 1.0, 1.0, p, order=1
                )[1],
                "delta method, score function, 2nd order": cv.delta_method_moments(
                    f, 1.0, 1.0, p, order=2
                )[1],
                "pathwise": reference.estimator_moments("pathwise", f, 1.0, 1.0, p)[1],
                "delta method, pathwise, 1st order": cv.delta_method_moments(
                    f, 1.0, 1.0, p, estimator="pathwise", order=1
                )[1],
            }
            plain_var, optimum = m.variance(), m.optimal_variance
            for name, values in measured.items():
                v = float(values[p])
                score_function = not name.startswith("pathwise") and "pathwise" not in name
                fraction = (plain_var - v) / (plain_var - optimum) if score_function else math.nan
                rows.append((k, p, name, v, exact[name], optimum, v / optimum, fraction))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-samples", type=int, default=2**22)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    rows = run(args.num_samples, args.seed)
    elapsed = time.perf_counter() - start
    header = (
        f"{'k':>4} {'param':<5} {'method':<42} {'measured':>10} {'exact':>10} {'optimum':>9} "
        f"{'meas/opt':>8} {'of achievable':>13}"
    )
    print(
        f"Fig. 2 problem, mu = sigma = 1, {args.num_samples:,d} samples per method (seed {args.seed})"
    )
    print(header)
    print("-" * len(header))
    worst = math.inf
    for k, p, name, v, ex, opt, ratio, fraction in rows:
        frac = "" if math.isnan(fraction) else f"{100 * fraction:12.1f}%"
        print(
            f"{k:>4.0f} {p:<5} {name:<42} {v:10.3f} {ex:10.3f} {opt:9.3f} {ratio:8.3f} {frac:>13}"
        )
        if name in OPTIMAL_METHODS:
            worst = min(worst, fraction)
    print("-" * len(header))
    verdict = "PASS" if worst >= 0.95 else "FAIL"
    print(
        f"optimal methods: worst fraction of the achievable reduction {100 * worst:.1f}% (goal >= 95%): {verdict}"
    )
    print(f"wall time {elapsed:.1f} s")


if __name__ == "__main__":
    main()
