"""Fixtures and helpers shared by the test files.

Helpers are plain functions (``from conftest import gen, variance_and_se``); ``one_thread`` is a
fixture (``pytestmark = pytest.mark.usefixtures("one_thread")`` or an argument).
"""

from __future__ import annotations

import math
import os

import pytest
import torch

# pytest-xdist workers (pyproject's `-n auto`) share the cores: one thread each, and the
# notebook kernels that nbval starts from a worker inherit the setting.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)


@pytest.fixture
def one_thread():
    """Tiny models train fastest (and reproducibly) on one thread, especially on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def gen(seed: int = 0) -> torch.Generator:
    """A CPU generator seeded with ``seed``."""
    return torch.Generator().manual_seed(seed)


def variance_and_se(values: torch.Tensor) -> tuple[float, float]:
    """Sample variance of i.i.d. values and its standard error sqrt((m4 - v^2) / n)."""
    centred = values - values.mean()
    v = centred.pow(2).mean()
    m4 = centred.pow(4).mean()
    return float(v), math.sqrt(max(float(m4 - v**2), 0.0) / values.numel())


def assert_unbiased(grads: torch.Tensor, truth, num_se: float = 5.0) -> None:
    """The mean of i.i.d. per-sample values along dim 0 is within ``num_se`` standard errors of ``truth``."""
    n = grads.shape[0]
    se = grads.std(0) / math.sqrt(n)
    truth = torch.as_tensor(truth, dtype=grads.dtype)
    assert ((grads.mean(0) - truth).abs() <= num_se * se + 1e-12).all(), (grads.mean(0), truth, se)


def quadratic(k):
    """The Figure 2 cost f(x) = (x - k)^2 of Mohamed et al. (2020)."""
    return lambda x: (x - k) ** 2


def gaussian_params(loc=1.0, scale=1.0, dtype=torch.float64):
    """``{"loc": ..., "scale": ...}`` as 0-d tensors."""
    return {"loc": torch.tensor(loc, dtype=dtype), "scale": torch.tensor(scale, dtype=dtype)}


def exact_quadratic_grad(k, loc=1.0, scale=1.0):
    """Gradient of E[(x - k)^2], x ~ N(loc, scale^2): 2 (loc - k) and 2 scale."""
    return {"loc": 2 * (loc - k), "scale": 2 * scale}
