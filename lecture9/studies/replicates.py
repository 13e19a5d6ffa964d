r"""Repeated training runs: one comparison over several seeds, reported as mean and spread.

Introduced in chapter 9, *Training a variational autoencoder*.

A training run is one draw of a random variable: the initial weights, the order of
the minibatches and the noise :math:`\epsilon` all come from a seed. A claim such as
"estimator A trains better than estimator B" is a claim about the distribution of the
outcome, so it is measured over several seeds :math:`s = 1, \dots, R` and reported as
the mean and the spread,

.. math::

    \bar y_t = \frac1R \sum_{s=1}^{R} y_t^{(s)}, \qquad
    \mathrm{sd}_t = \Bigl(\frac{1}{R - 1} \sum_{s=1}^{R} (y_t^{(s)} - \bar y_t)^2\Bigr)^{1/2},

at every epoch :math:`t`, together with the range :math:`[\min_s y_t^{(s)}, \max_s y_t^{(s)}]`.
The runs are *paired*: every setting is trained from the same seed, hence the same
initial weights and minibatch order, so the per-seed differences between two settings
(:func:`final_summary` with ``reference``) remove the variation that the settings share.

:func:`train_over_seeds` trains each setting at each seed with
:func:`lecture9.training.train`; :func:`summarize_runs` reduces the histories per
epoch; :func:`final_summary` reduces the last epoch; :func:`encoder_variance_over_models`
measures the encoder-gradient variance of several estimators at the *same*
parameters (each of several trained models), with
:func:`lecture9.vae.encoder_gradient_variance`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from .._validation import check_generator, check_mapping, check_positive_int
from ..training import train
from ..vae import VAE, encoder_gradient_variance

__all__ = [
    "SETTING_KEYS",
    "train_over_seeds",
    "summarize_runs",
    "final_summary",
    "encoder_variance_over_models",
]

#: The keys a setting may hold, the encoder-gradient options of :func:`lecture9.training.train`.
SETTING_KEYS = ("estimator", "baseline", "num_samples")


def _check_run_settings(settings) -> dict[str, dict]:
    if not isinstance(settings, Mapping) or not settings:
        raise TypeError(
            "settings must be a non-empty dict label -> {'estimator': ..., 'baseline': ..., 'num_samples': ...}"
        )
    out = {}
    for label, setting in settings.items():
        if not isinstance(setting, Mapping):
            raise TypeError(
                f"settings[{label!r}] must be a dict with keys among {SETTING_KEYS}, got {setting!r}"
            )
        unknown = sorted(set(setting) - set(SETTING_KEYS))
        if unknown:
            raise ValueError(
                f"settings[{label!r}] has unknown keys {unknown}; allowed: {SETTING_KEYS}"
            )
        out[label] = {"estimator": "pathwise", "baseline": None, "num_samples": 1, **setting}
    return out


def _check_seeds(seeds) -> list[int]:
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"seeds must be a sequence of integers, got {seeds!r}; e.g. [0, 1, 2]")
    seeds = list(seeds)
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise ValueError(f"seeds must be a non-empty sequence of integers, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(
            f"seeds must be distinct (a repeated seed repeats the same run), got {seeds}"
        )
    return seeds


def train_over_seeds(
    settings: Mapping[str, Mapping],
    data,
    *,
    seeds: Sequence[int],
    epochs: int,
    model_config: Mapping | None = None,
    batch_size: int = 100,
    lr: float = 1e-3,
    device: str | torch.device = "cpu",
) -> tuple[dict[str, list[dict]], dict[str, list[VAE]]]:
    """Train a fresh VAE for every setting and seed; return the histories and the trained models.

    For seed ``s`` the model is ``VAE(**model_config, generator=torch.Generator().manual_seed(s))``
    and training uses ``torch.Generator().manual_seed(s)`` for the minibatches and the noise,
    so all settings start from the same weights at the same seed (paired runs).

    Raises:
        TypeError, ValueError: on malformed ``settings`` or ``seeds``, and as
            :func:`lecture9.training.train`.

    Shapes:
        ``data``: as :func:`lecture9.training.train`.
    """
    settings = _check_run_settings(settings)
    seeds = _check_seeds(seeds)
    model_config = dict(check_mapping(model_config or {}, "model_config"))
    histories: dict[str, list[dict]] = {label: [] for label in settings}
    models: dict[str, list[VAE]] = {label: [] for label in settings}
    for label, setting in settings.items():
        for seed in seeds:
            model = VAE(**model_config, generator=torch.Generator().manual_seed(seed))
            history = train(
                model,
                data,
                epochs=epochs,
                batch_size=batch_size,
                lr=lr,
                device=device,
                generator=torch.Generator().manual_seed(seed),
                progress=False,
                **setting,
            )
            histories[label].append(history)
            models[label].append(model)
    return histories, models


def _stack(runs: Sequence[Mapping], key: str, label: str) -> np.ndarray:
    if not runs:
        raise ValueError(f"histories[{label!r}] holds no run")
    try:
        values = np.array([np.asarray(run[key], dtype=float) for run in runs])
    except KeyError:
        raise KeyError(
            f"the histories of {label!r} have no entry {key!r}; available: {sorted(runs[0])}"
        ) from None
    except ValueError:
        raise ValueError(
            f"the runs of {label!r} have different numbers of epochs; compare runs of equal length"
        ) from None
    return values


def _spread(values: np.ndarray) -> dict[str, np.ndarray]:
    std = values.std(axis=0, ddof=1) if len(values) > 1 else np.full(values.shape[1:], np.nan)
    return {
        "mean": values.mean(axis=0),
        "std": std,
        "min": values.min(axis=0),
        "max": values.max(axis=0),
        "values": values,
    }


def _check_histories(histories, key) -> None:
    check_mapping(histories, "histories", example="{'pathwise': [history of seed 0, ...]}")
    if not isinstance(key, str):
        raise TypeError(f"key must be the name of a history entry (a str), got {key!r}")


def summarize_runs(
    histories: Mapping[str, Sequence[Mapping]], *, key: str = "test_elbo"
) -> dict[str, dict]:
    """Mean, standard deviation and range over seeds of one history entry, at every epoch.

    Raises:
        ValueError: if a label holds no run or runs of different lengths.
        KeyError: if ``key`` is not in the histories.

    Shapes:
        ``(seeds, epochs)`` -> ``(epochs,)``.
    """
    _check_histories(histories, key)
    out = {}
    for label, runs in histories.items():
        values = _stack(runs, key, label)
        out[label] = {
            "epoch": np.asarray(runs[0].get("epoch", range(1, values.shape[1] + 1))),
            **_spread(values),
        }
    return out


def final_summary(
    histories: Mapping[str, Sequence[Mapping]],
    *,
    key: str = "test_elbo",
    reference: str | None = None,
) -> dict[str, dict]:
    """Mean, standard deviation and range over seeds of the last epoch's ``key``.

    With ``reference``, also the paired differences ``run - reference run`` seed by seed:
    ``"diff_mean"`` and ``"diff_std"`` (the runs must be paired, as from
    :func:`train_over_seeds`).

    Raises:
        ValueError: if ``reference`` is not a label or has a different number of seeds.

    Shapes:
        ``(seeds,)`` -> scalars.
    """
    _check_histories(histories, key)
    last = {label: _stack(runs, key, label)[:, -1] for label, runs in histories.items()}
    if reference is not None and reference not in last:
        raise ValueError(f"reference must be one of {sorted(last)}, got {reference!r}")
    out = {}
    for label, values in last.items():
        row = {k: float(v[0]) for k, v in _spread(values[:, None]).items() if k != "values"}
        row["values"] = values
        if reference is not None:
            if len(values) != len(last[reference]):
                raise ValueError(
                    f"{label!r} and {reference!r} have different numbers of seeds; pair them"
                )
            diff = values - last[reference]
            row["diff_mean"] = float(diff.mean())
            row["diff_std"] = float(diff.std(ddof=1)) if len(diff) > 1 else float("nan")
        out[label] = row
    return out


def encoder_variance_over_models(
    models: Sequence[VAE],
    x: torch.Tensor,
    settings: Mapping[str, Mapping],
    *,
    num_draws: int = 200,
    generator: torch.Generator | None = None,
) -> dict[str, np.ndarray]:
    """Total encoder-gradient variance of each setting at each model's parameters.

    At every model, every setting is measured at the same parameters and on the same
    minibatch ``x`` with :func:`lecture9.vae.encoder_gradient_variance`, so the
    settings are compared model by model.

    Raises:
        TypeError, ValueError: as :func:`lecture9.vae.encoder_gradient_variance`, or on
            malformed ``settings`` or an empty ``models``.

    Shapes:
        ``x``: ``(batch, input_dim)``.
    """
    settings = _check_run_settings(settings)
    check_generator(generator)
    num_draws = check_positive_int(num_draws, "num_draws", minimum=2, maximum=10**6)
    if isinstance(models, (str, bytes)) or not hasattr(models, "__iter__"):
        raise TypeError(f"models must be a sequence of lecture9.vae.VAE, got {models!r:.60}")
    models = list(models)
    if not models:
        raise ValueError("models must hold at least one VAE")
    return {
        label: np.array(
            [
                encoder_gradient_variance(
                    model, x, num_draws=num_draws, generator=generator, **setting
                )["total_variance"]
                for model in models
            ]
        )
        for label, setting in settings.items()
    }
