"""Benchmark of lecture9.estimators: throughput, speed-up over a per-sample loop, and accuracy.

Prints two tables:

1. For each estimator, per-sample gradients per second at ``--num-samples`` samples
   (default 10^6) of N(1, 1) with f(x) = (x - 3)^2, and the speed-up over a per-sample
   Python loop with autograd (timed on ``--loop-samples`` samples and scaled), both
   measured in the same run (goal: at least 100x).
2. The largest relative gap between the Monte Carlo single-sample variance (10^6 samples)
   and the exact variance of :mod:`lecture9.reference` over the Figure 2 grid
   (f = (x - k)^2, 50 values of k in [-3, 3], mu = sigma = 1), for each estimator and
   parameter (goal: under 3%), next to the gap expected from the standard error.

Run: ``.venv/bin/python benchmarks/estimators.py`` (``--quick`` for a smoke test).
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch
from _timing import best_time

from lecture9 import estimators, reference

Normal = torch.distributions.Normal
K = 3.0


def cost(x):
    return (x - K) ** 2


def run_estimator(name, f, params, num_samples, generator, baseline=None):
    spec = estimators.get(name)  # the registry: the estimator function with the name's options
    options = {} if spec.baseline is None else {"baseline": baseline}
    return spec.grad(f, Normal, params, num_samples, generator=generator, **options)


# ------------------------------------------------------------------------------------------------
# per-sample loops: the obvious implementation, one sample (and one autograd call) at a time
# ------------------------------------------------------------------------------------------------


def loop_score_function(f, params, num_samples, generator, baseline=None):
    out = torch.empty(num_samples, 2, dtype=params["loc"].dtype)
    b = 0.0 if baseline is None else baseline
    for i in range(num_samples):
        loc = params["loc"].clone().requires_grad_()
        scale = params["scale"].clone().requires_grad_()
        with torch.no_grad():
            x = loc + scale * torch.randn((), dtype=loc.dtype, generator=generator)
        d_loc, d_scale = torch.autograd.grad(Normal(loc, scale).log_prob(x), (loc, scale))
        fx = f(x)
        out[i, 0] = (fx - (b["loc"] if isinstance(b, dict) else b)) * d_loc
        out[i, 1] = (fx - (b["scale"] if isinstance(b, dict) else b)) * d_scale
    return out


def loop_pathwise(f, params, num_samples, generator):
    out = torch.empty(num_samples, 2, dtype=params["loc"].dtype)
    for i in range(num_samples):
        loc = params["loc"].clone().requires_grad_()
        scale = params["scale"].clone().requires_grad_()
        x = loc + scale * torch.randn((), dtype=loc.dtype, generator=generator)
        d_loc, d_scale = torch.autograd.grad(f(x), (loc, scale))
        out[i, 0], out[i, 1] = d_loc, d_scale
    return out


def loop_measure_valued(f, params, num_samples, generator, coupled):
    out = torch.empty(num_samples, 2, dtype=params["loc"].dtype)
    loc, scale = params["loc"], params["scale"]
    dtype = loc.dtype
    for i in range(num_samples):
        w = torch.sqrt(-2 * torch.log(torch.rand((), dtype=dtype, generator=generator)))
        w2 = (
            w
            if coupled
            else torch.sqrt(-2 * torch.log(torch.rand((), dtype=dtype, generator=generator)))
        )
        out[i, 0] = (f(loc + scale * w) - f(loc - scale * w2)) / (scale * math.sqrt(2 * math.pi))
        sign = 1.0 if torch.rand((), generator=generator) < 0.5 else -1.0
        m = sign * torch.linalg.vector_norm(torch.randn(3, dtype=dtype, generator=generator))
        if coupled:
            x_minus = loc + scale * torch.rand((), dtype=dtype, generator=generator) * m
        else:
            x_minus = loc + scale * torch.randn((), dtype=dtype, generator=generator)
        out[i, 1] = (f(loc + scale * m) - f(x_minus)) / scale
    return out


def run_loop(name, f, params, num_samples, generator, baseline=None):
    if name.startswith("score_function"):
        return loop_score_function(f, params, num_samples, generator, baseline)
    if name == "pathwise":
        return loop_pathwise(f, params, num_samples, generator)
    return loop_measure_valued(
        f, params, num_samples, generator, coupled=name == "measure_valued_coupled"
    )


def throughput_table(num_samples, loop_samples, repeats):
    params = {"loc": torch.tensor(1.0), "scale": torch.tensor(1.0)}
    b_star = {
        "loc": (1 - K) ** 2 + 3.0,
        "scale": (1 - K) ** 2 + 5.0,
    }  # optimal baselines for (x - k)^2
    rows = []
    for name in reference.ESTIMATORS:
        baseline = b_star if name == "score_function_optimal_baseline" else None
        g = torch.Generator().manual_seed(0)
        run_estimator(name, cost, params, 1000, g, baseline)  # warm-up
        vec = best_time(
            lambda name=name, g=g, baseline=baseline: run_estimator(
                name, cost, params, num_samples, g, baseline
            ),
            repeats,
            warmup=False,
        )
        loop = best_time(
            lambda name=name, g=g, baseline=baseline: run_loop(
                name, cost, params, loop_samples, g, baseline
            ),
            1,
            warmup=False,
        )
        # each sample yields a gradient for both parameters (loc and scale)
        vec_rate = num_samples / vec
        loop_rate = loop_samples / loop
        rows.append((name, vec, vec_rate, loop_rate, vec_rate / loop_rate))
    return rows


# ------------------------------------------------------------------------------------------------
# Monte Carlo variance against quadrature on the Figure 2 grid, vectorised over k
# ------------------------------------------------------------------------------------------------


def variance_table(num_samples, num_k, chunk):
    ks = torch.linspace(-3.0, 3.0, num_k, dtype=torch.float64)
    params = {
        "loc": torch.ones(num_k, dtype=torch.float64),
        "scale": torch.ones(num_k, dtype=torch.float64),
    }

    def f(x):  # one k per batch entry
        return (x - ks) ** 2

    rows = []
    for name in reference.ESTIMATORS:
        baseline = None
        if name == "score_function_optimal_baseline":
            baseline = {"loc": (1 - ks) ** 2 + 3.0, "scale": (1 - ks) ** 2 + 5.0}
        g = torch.Generator().manual_seed(1)
        sums = {p: torch.zeros(5, num_k, dtype=torch.float64) for p in ("loc", "scale")}
        done = 0
        while done < num_samples:
            n = min(chunk, num_samples - done)
            grads = run_estimator(name, f, params, n, g, baseline)
            for p in ("loc", "scale"):
                sums[p] += torch.stack([grads[p].pow(j).sum(0) for j in range(5)])
            done += n
        for p in ("loc", "scale"):
            count, s1, s2, s3, s4 = sums[p]
            mean = s1 / count
            mc_var = (s2 / count - mean**2) * count / (count - 1)
            exact = torch.tensor(
                [
                    reference.estimator_moments(
                        name, lambda x, k=float(k): (x - k) ** 2, 1.0, 1.0, p
                    )[1]
                    for k in ks
                ]
            )
            # fourth central moment from the raw moments, for the standard error of the variance
            centred4 = s4 / count - 4 * mean * s3 / count + 6 * mean**2 * s2 / count - 3 * mean**4
            se = torch.sqrt((centred4 - mc_var**2).clamp_min(0) / num_samples)
            positive = exact > 1e-9 * exact.abs().max()
            rel = ((mc_var - exact).abs() / exact)[positive]
            rel_se = (se / exact)[positive]
            zero_ok = bool((mc_var[~positive].abs() < 1e-9).all())
            rows.append(
                (
                    name,
                    p,
                    rel.max().item(),
                    (rel / rel_se).max().item(),
                    rel_se.max().item(),
                    zero_ok,
                )
            )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-samples", type=int, default=1_000_000)
    parser.add_argument("--loop-samples", type=int, default=2000)
    parser.add_argument(
        "--grid", type=int, default=50, help="number of k values on the Figure 2 grid"
    )
    parser.add_argument(
        "--chunk", type=int, default=100_000, help="samples per call in the variance check"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument(
        "--only", choices=("throughput", "variance"), help="run only one of the two tables"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.num_samples, args.loop_samples, args.grid, args.repeats = 20_000, 200, 7, 1
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32 for throughput, float64 for variance"
    )
    if args.only != "variance":
        print_throughput(args)
    if args.only != "throughput":
        print_variance(args)


def print_header(title, header):
    print()
    print(title)
    print(header)
    print("-" * len(header))


def print_throughput(args):
    print_header(
        f"Throughput: f(x) = (x - 3)^2, N(1, 1), {args.num_samples:,} samples (loc and scale per sample); "
        f"loop on {args.loop_samples:,} samples",
        f"{'estimator':34s} {'time [s]':>9s} {'per-sample grads/s':>19s} {'loop grads/s':>13s} {'speed-up':>9s}",
    )
    for name, seconds, rate, loop_rate, speedup in throughput_table(
        args.num_samples, args.loop_samples, args.repeats
    ):
        print(f"{name:34s} {seconds:9.3f} {rate:19.3e} {loop_rate:13.3e} {speedup:8.0f}x")


def print_variance(args):
    print_header(
        f"Variance: Monte Carlo ({args.num_samples:,} samples) vs quadrature, f(x) = (x - k)^2, "
        f"{args.grid} values of k in [-3, 3], mu = sigma = 1",
        f"{'estimator':34s} {'param':6s} {'max rel. gap':>13s} {'max gap/SE':>11s} {'max rel. SE':>12s}",
    )
    worst = 0.0
    for name, p, rel, z, rel_se, zero_ok in variance_table(args.num_samples, args.grid, args.chunk):
        worst = max(worst, rel)
        note = "" if zero_ok else "  (nonzero MC variance where the exact one is 0)"
        print(f"{name:34s} {p:6s} {100 * rel:12.2f}% {z:11.2f} {100 * rel_se:11.2f}%{note}")
    print()
    print(f"largest relative variance gap over the grid: {100 * worst:.2f}% (goal < 3%)")


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
