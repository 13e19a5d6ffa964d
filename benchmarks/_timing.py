"""Timing helper shared by the benchmark scripts (``python benchmarks/<name>.py`` puts this folder on sys.path)."""

from __future__ import annotations

import time


def best_time(fn, repeats: int, *, warmup: bool = True) -> float:
    """Best wall-clock time of ``repeats`` calls of ``fn`` (after one untimed warm-up call if ``warmup``)."""
    if warmup:
        fn()  # first-call overheads, allocator
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
