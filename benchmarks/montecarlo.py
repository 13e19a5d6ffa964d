"""Monte Carlo throughput: lecture9 (PyTorch) against plain NumPy, measured in one run.

Usage::

    python benchmarks/montecarlo.py            # default sizes
    python benchmarks/montecarlo.py --quick    # smaller sizes, for a smoke test
    python benchmarks/montecarlo.py --threads 0   # torch's default number of threads

For each estimate and sample size it times ``--repeats`` runs of each implementation
with ``time.perf_counter`` and reports the best, as samples per second, plus the
ratio lecture9 / NumPy (> 1: lecture9 is faster). Both sides compute the same
estimate from fresh random numbers (generation included in the timing):

- ``estimate_pi``: uniform points in the unit square, the fraction inside the quarter circle;
- ``mc_estimate``: E[cos X], X ~ N(0, 1), with its standard error (lecture9 streams the samples in
  chunks of ``montecarlo.CHUNK_SIZE``, so its memory stays bounded; NumPy holds all of them at once).

Target: ratio >= 1 at 10^7 and 10^8 samples.
"""

from __future__ import annotations

import argparse
import math
import os
import platform

import numpy as np
import torch
from _timing import best_time

from lecture9 import montecarlo


def numpy_estimate_pi(num_samples: int, rng: np.random.Generator, batch_size: int = 2**22) -> float:
    inside = 0
    drawn = 0
    while drawn < num_samples:
        m = min(batch_size, num_samples - drawn)
        points = rng.random((m, 2), dtype=np.float32)
        inside += int(np.count_nonzero((points * points).sum(axis=1) <= 1.0))
        drawn += m
    return 4.0 * inside / num_samples


def numpy_mc_estimate(num_samples: int, rng: np.random.Generator) -> tuple[float, float]:
    values = np.cos(rng.standard_normal(num_samples, dtype=np.float32)).astype(np.float64)
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(num_samples))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed runs per cell (best is reported)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads (default 1, like single-threaded NumPy; 0 keeps torch's default). "
        "On a busy shared machine several OpenMP threads can slow small tensor ops a lot.",
    )
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    sizes = [10_000, 1_000_000] if args.quick else [10_000, 1_000_000, 10_000_000, 100_000_000]

    generator = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    normal = torch.distributions.Normal(torch.tensor(0.0), torch.tensor(1.0))

    cases = {
        "estimate_pi": (
            lambda n: montecarlo.estimate_pi(n, generator=generator),
            lambda n: numpy_estimate_pi(n, rng),
        ),
        "mc_estimate E[cos X]": (
            lambda n: montecarlo.mc_estimate(torch.cos, normal, n, generator=generator),
            lambda n: numpy_mc_estimate(n, rng),
        ),
    }

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs visible, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), numpy {np.__version__}; best of {args.repeats} runs"
    )
    header = f"{'estimate':<22} {'samples':>11} {'lecture9 [samples/s]':>21} {'numpy [samples/s]':>18} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    for name, (ours, theirs) in cases.items():
        for n in sizes:
            t_ours = best_time(lambda ours=ours, n=n: ours(n), args.repeats)
            t_theirs = best_time(lambda theirs=theirs, n=n: theirs(n), args.repeats)
            print(
                f"{name:<22} {n:>11,d} {n / t_ours:>21.3e} {n / t_theirs:>18.3e} {t_theirs / t_ours:>7.2f}"
            )


if __name__ == "__main__":
    main()
