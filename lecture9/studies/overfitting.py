r"""Does the sampling noise of a VAE reduce overfitting? Train and test objective over epochs.

Introduced in chapter 9, *Training a variational autoencoder* (the lecture: "usually one
sample is enough, stochasticity reduces overfitting").

The same network (:class:`lecture9.vae.VAE`, same initial weights and minibatch order
at a seed) is trained with Adam in one of three variants, differing only in the code
:math:`z` that the decoder sees and in the KL term:

- ``"vae"``: :math:`z = \mu_\phi(x) + \sigma_\phi(x)\,\epsilon` with one
  :math:`\epsilon \sim \mathcal N(0, I)` per datapoint and step; the objective is the ELBO,
  :math:`\log p_\theta(x \mid z) - \mathrm{KL}(q_\phi(z \mid x) \,\|\, \mathcal N(0, I))`;
- ``"autoencoder + KL"``: no noise, :math:`z = \mu_\phi(x)`, with the *same* KL term (which
  then acts on :math:`\mu` as the penalty :math:`\tfrac12\lVert\mu\rVert^2`, since
  :math:`\sigma` no longer affects the reconstruction);
- ``"autoencoder"``: :math:`z = \mu_\phi(x)` and no KL term, a deterministic autoencoder.

After every epoch each model's own objective is evaluated on the training and the test
set (the VAE's with noise from a fixed seed, averaged over ``eval_draws`` draws). The
generalization gap is train minus test; overfitting shows as a gap that grows while the
test objective stops improving or falls.

:func:`train_variant` runs one variant at one seed, :func:`overfitting_study` all variants
over seeds, :func:`summarize_study` reduces the last epoch and the best test epoch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .._validation import check_choice, check_float, check_int, check_mapping, check_positive_int
from ..vae import VAE, check_vae, gaussian_kl

__all__ = ["VARIANTS", "objective", "train_variant", "overfitting_study", "summarize_study"]

#: The three variants compared, the VAE, the noiseless network with the same KL term, and without it.
VARIANTS = ("vae", "autoencoder + KL", "autoencoder")


def objective(model: VAE, x: torch.Tensor, variant: str, *, generator=None) -> torch.Tensor:
    """Per-datapoint objective of ``variant`` (the ELBO for ``"vae"``), to be maximised.

    Shapes:
        ``x``: ``(batch, input_dim)`` -> ``(batch,)``.
    """
    check_choice(variant, VARIANTS, "variant")
    loc, scale = check_vae(model).encode(x)
    z = loc
    if variant == "vae":
        z = loc + scale * torch.randn(loc.shape, generator=generator, dtype=loc.dtype)
    logits = model.decode(z)
    log_lik = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
    if variant == "autoencoder":
        return log_lik
    return log_lik - gaussian_kl(loc, scale)


@torch.no_grad()
def _evaluate(model: VAE, x: torch.Tensor, variant: str, eval_draws: int, eval_seed: int) -> float:
    draws = eval_draws if variant == "vae" else 1
    gen = torch.Generator().manual_seed(eval_seed)
    return (
        sum(objective(model, x, variant, generator=gen).mean().item() for _ in range(draws)) / draws
    )


def train_variant(
    data,
    variant: str,
    *,
    seed: int = 0,
    epochs: int = 50,
    batch_size: int = 100,
    lr: float = 1e-3,
    num_train: int | None = None,
    model_config: dict | None = None,
    eval_draws: int = 5,
    eval_seed: int = 0,
) -> dict[str, list[float]]:
    """Train one ``variant`` from ``seed`` with Adam; return ``{"train": [...], "test": [...]}``.

    ``data`` has ``x_train`` and ``x_test`` (:func:`lecture9.data.load_binarized_digits`);
    ``num_train`` keeps only the first rows of the training set (a smaller set overfits
    sooner). The seed sets the initial weights, the minibatch order and the noise.

    Raises:
        ValueError: on an unknown variant or non-positive sizes.
    """
    check_choice(variant, VARIANTS, "variant")
    seed = check_int(seed, "seed", minimum=0)
    eval_seed = check_int(eval_seed, "eval_seed", minimum=0)
    epochs, batch_size = (
        check_positive_int(epochs, "epochs", maximum=10**6),
        check_positive_int(batch_size, "batch_size"),
    )
    lr = check_float(lr, "lr", minimum=0.0, strict=True, maximum=1e6)
    eval_draws = check_positive_int(eval_draws, "eval_draws", maximum=10**4)
    if not (hasattr(data, "x_train") and hasattr(data, "x_test")):
        raise TypeError(
            f"data must have x_train and x_test (e.g. a BinarizedDigits), got {data!r:.60}"
        )
    x_train, x_test = data.x_train, data.x_test
    if num_train is not None:
        x_train = x_train[: check_positive_int(num_train, "num_train", maximum=len(x_train))]
    gen = torch.Generator().manual_seed(seed)
    config = check_mapping(model_config or {}, "model_config", example="{'latent_dim': 2}")
    model = VAE(**{"input_dim": x_train.shape[-1], **config}, generator=gen)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history: dict[str, list[float]] = {"train": [], "test": []}
    for _ in range(epochs):
        for idx in torch.randperm(len(x_train), generator=gen).split(batch_size):
            loss = -objective(model, x_train[idx], variant, generator=gen).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        history["train"].append(_evaluate(model, x_train, variant, eval_draws, eval_seed))
        history["test"].append(_evaluate(model, x_test, variant, eval_draws, eval_seed))
    return history


def overfitting_study(
    data, *, variants: Sequence[str] = VARIANTS[:2], seeds: Sequence[int] = (0, 1, 2), **options
) -> dict[str, dict[str, torch.Tensor]]:
    """Every variant at every seed (paired); ``{variant: {"train", "test"}}``, each ``(seeds, epochs)``.

    ``options`` go to :func:`train_variant` (``epochs``, ``lr``, ``num_train``, ...).
    """
    if isinstance(variants, str) or not variants:
        raise TypeError(
            f"variants must be a non-empty sequence of names among {VARIANTS}, got {variants!r}"
        )
    if isinstance(seeds, (str, int)) or not seeds:
        raise TypeError(f"seeds must be a non-empty sequence of integers, got {seeds!r}")
    out = {}
    for variant in variants:
        runs = [train_variant(data, variant, seed=s, **options) for s in seeds]
        out[variant] = {
            k: torch.tensor([r[k] for r in runs], dtype=torch.float64) for k in ("train", "test")
        }
    return out


def summarize_study(study: dict[str, dict[str, torch.Tensor]]) -> dict[str, dict[str, float]]:
    """Per variant, means over seeds: final train and test objective, final gap (and its sd),
    the best test objective, its epoch (1-based) and how far the final test value fell from it."""
    summary = {}
    for variant, runs in check_mapping(study, "study").items():
        train, test = runs["train"], runs["test"]
        gap = train[:, -1] - test[:, -1]
        best, best_epoch = test.max(dim=1)
        summary[variant] = {
            "train": train[:, -1].mean().item(),
            "test": test[:, -1].mean().item(),
            "gap": gap.mean().item(),
            "gap_sd": gap.std().item() if len(gap) > 1 else 0.0,
            "best_test": best.mean().item(),
            "best_epoch": (best_epoch.double() + 1).mean().item(),
            "drop": (best - test[:, -1]).mean().item(),
        }
    return summary
