"""Training a VAE: the loop, its evaluation and checkpoints (the library behind ``train-vae``).

Introduced in chapter 9, *Training a variational autoencoder*; the command line is in
:mod:`lecture9.cli`.

:func:`train` is the lecture's pseudocode loop::

    while not converged:
        M ~ D                        # random minibatch
        eps ~ p(eps)                 # noise for every datapoint in M
        compute L(M, eps) and its gradients
        update theta and phi with an SGD optimizer (Adam)

with a tqdm progress bar, a per-epoch history of the train and test ELBO,
optional measurements of the encoder-gradient variance, and checkpoints written
atomically (a temporary file then :func:`os.replace`) from which a run resumes
exactly where it stopped. From the shell::

    python -m lecture9 train-vae --data digits --latent-dim 8 \\
        --estimator pathwise --epochs 200 --out runs/digits-z8
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pickle
import time
from collections.abc import Callable
from pathlib import Path

import torch
from tqdm import tqdm

from ._validation import (
    check_callable,
    check_generator,
    check_num_samples,
    check_path,
    check_positive,
    check_positive_int,
)
from .vae import VAE, check_vae, encoder_gradient_variance, evaluate_bound, evaluate_bound_unchecked

__all__ = [
    "CHECKPOINT_NAME",
    "METRICS_NAME",
    "HISTORY_KEYS",
    "resolve_device",
    "evaluate_elbo",
    "train",
    "save_checkpoint",
    "load_checkpoint",
    "save_metrics",
]

#: File name of the checkpoint inside a run folder.
CHECKPOINT_NAME = "checkpoint.pt"
#: File name of the metrics JSON inside a run folder.
METRICS_NAME = "metrics.json"
#: Keys of the history returned by :func:`train` (one entry per epoch each).
HISTORY_KEYS = ("epoch", "train_elbo", "test_elbo", "time", "encoder_grad_variance")


def resolve_device(device: str | torch.device = "cpu") -> torch.device:
    """Turn ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA when available) into a device.

    Raises:
        ValueError: if CUDA is asked for but not available, or the name is unknown.
    """
    if isinstance(device, torch.device):
        name = str(device)
    elif isinstance(device, str):
        name = device
    else:
        raise TypeError(
            f"device must be a string such as 'cpu', 'cuda' or 'auto', got {type(device).__name__}"
        )
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r}; use 'cpu', 'cuda' or 'auto'") from None
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device {name!r} cannot train a model; use 'cpu', 'cuda' or 'auto'")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device 'cuda' was asked for but CUDA is not available; use device='cpu' or 'auto'"
        )
    return dev


def evaluate_elbo(
    model: VAE,
    x: torch.Tensor,
    *,
    num_samples: int = 1,
    generator: torch.Generator | None = None,
    batch_size: int = 1000,
) -> float:
    """Mean ELBO (nats per datapoint) of ``x``, without gradients, in chunks of ``batch_size``.

    :func:`lecture9.vae.evaluate_bound` with ``bound="elbo"``, averaged.

    Shapes:
        ``x``: ``(N, input_dim)``, ``N >= 1``.
    """
    if isinstance(x, torch.Tensor) and x.dim() > 0 and len(x) == 0:
        raise ValueError("x is empty: the mean ELBO needs at least one datapoint")
    values = evaluate_bound(
        model, x, bound="elbo", num_samples=num_samples, generator=generator, batch_size=batch_size
    )
    return float(values.double().sum()) / values.numel()


def _split_data(data, test_data):
    """Accept a tensor, or a 4-tuple ``(x_train, y_train, x_test, y_test)`` such as :class:`BinarizedDigits`."""
    if isinstance(data, torch.Tensor):
        return data, test_data
    if isinstance(data, (tuple, list)) and len(data) == 4:
        return data[0], data[2] if test_data is None else test_data
    raise TypeError(
        "data must be a tensor of training images (N, input_dim) or a tuple (x_train, y_train, x_test, y_test) "
        "such as lecture9.data.load_binarized_digits()"
    )


def _atomic_write(path: Path, write: Callable) -> Path:
    """Call ``write(file)`` on ``path + '.tmp'`` opened for binary writing, fsync it, then :func:`os.replace`."""
    if path.is_dir():
        raise ValueError(f"path {path} is a folder; pass the path of the file to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(
                fh.fileno()
            )  # the bytes are on disk before the rename makes them the checkpoint
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _json_safe(obj):
    """``obj`` with every non-finite float (``nan``: not measured) replaced by ``None``."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def save_metrics(path: str | os.PathLike, metrics: dict) -> Path:
    """Write ``metrics`` as standard JSON (``null`` for ``nan``, i.e. not measured), atomically like a checkpoint."""
    text = json.dumps(_json_safe(metrics), indent=2, allow_nan=False) + "\n"
    return _atomic_write(check_path(path, "path"), lambda fh: fh.write(text.encode("utf-8")))


def save_checkpoint(path: str | os.PathLike, state: dict) -> Path:
    """Write ``state`` with :func:`torch.save` atomically.

    The state is saved through an open file handle to ``path + '.tmp'``, flushed and
    :func:`os.fsync`-ed, then renamed over ``path`` with :func:`os.replace`. A run
    killed while writing leaves the previous checkpoint intact; if saving raises, the
    temporary file is removed and the error propagates.

    Raises:
        OSError: or whatever :func:`torch.save` raises, after removing the temporary file.
    """
    return _atomic_write(check_path(path, "path"), lambda fh: torch.save(state, fh))


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint written by :func:`train` (``torch.load(..., weights_only=True)``, on the CPU).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if ``path`` is a folder or not a readable checkpoint (truncated, another format).
    """
    path = check_path(path, "path")
    if path.is_dir():
        raise ValueError(f"checkpoint {path} is a folder, not a checkpoint file")
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"checkpoint {path} cannot be read ({first}): it is truncated or not a checkpoint written by "
            f"lecture9.training.train; delete it or start a new run elsewhere"
        ) from err


def _baseline_name(baseline):
    """A checkpoint- and JSON-friendly description of ``baseline`` (callables only by their type name)."""
    if baseline is None or isinstance(baseline, str):
        return baseline
    if isinstance(baseline, (int, float)):
        return float(baseline)
    if isinstance(baseline, torch.Tensor):
        return baseline.detach().cpu().tolist()
    return repr(type(baseline).__name__)


def _check_resume_settings(checkpoint, saved: dict, current: dict) -> None:
    """Raise a ValueError listing every setting that differs between a checkpoint and the current call."""
    diffs = [
        f"{key}: checkpoint {saved[key]!r}, now {current[key]!r}"
        for key in current
        if key in saved and saved[key] != current[key]
    ]
    if diffs:
        raise ValueError(
            f"cannot resume from {checkpoint}: it was written with different settings ("
            + "; ".join(diffs)
            + "). Resume with the checkpoint's settings, or start a new run (another checkpoint path / --out)"
        )


def train(
    model: VAE,
    data,
    *,
    epochs: int,
    batch_size: int = 100,
    lr: float = 1e-3,
    estimator: str = "pathwise",
    num_samples: int = 1,
    baseline=None,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
    test_data: torch.Tensor | None = None,
    eval_num_samples: int = 1,
    eval_seed: int = 0,
    eval_every: int = 1,
    measure_variance: bool = False,
    variance_draws: int = 100,
    variance_batch_size: int = 100,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = True,
    callback: Callable[[int, dict], None] | None = None,
    extra_settings: dict | None = None,
    checkpoint_seconds: float = 0.0,
) -> dict[str, list]:
    """Train ``model`` by maximizing the ELBO with Adam; return the per-epoch history.

    Each epoch (after :meth:`~lecture9.vae.VAE.start_epoch`) shuffles the training set with
    ``generator``, draws the noise from it, and takes one Adam step per minibatch on
    ``-elbo(...).mean()`` with the chosen encoder-gradient estimator. It then records the
    mean training ELBO, the test ELBO (noise from a generator reseeded to ``eval_seed``, so
    evaluation never perturbs training), the cumulative training time and, with
    ``measure_variance``, the encoder-gradient variance
    (:func:`lecture9.vae.encoder_gradient_variance`). Both measurements are taken every
    ``eval_every`` epochs and after the last one; the history holds NaN (not measured) in
    between, and the training itself is the same for every ``eval_every``.

    With ``checkpoint`` the state is saved atomically (every ``checkpoint_seconds``, and
    after the last epoch); ``resume=True`` continues from it to ``epochs`` in total and
    reproduces an uninterrupted run exactly. Settings that change the run must equal the
    checkpoint's (the ``ValueError`` lists the differences); only ``epochs``, ``device``,
    ``progress``, ``callback`` and ``generator`` may differ. Any model with the methods of
    :class:`~lecture9.vae.VAE` trains with this loop (Kingma and Welling, 2014, Alg. 1;
    Adam: Kingma and Ba, 2015).

    Raises:
        TypeError: on a bad ``model``, ``data`` or ``generator``.
        ValueError: on empty data or values outside [0, 1], non-positive ``epochs``,
            ``batch_size``, ``eval_every`` or ``lr``, an estimator or baseline the model does not take,
            ``resume`` without a ``checkpoint``, or a checkpoint of another architecture,
            other settings, fewer epochs, or not written by :func:`train`.

    Shapes:
        ``data``: ``(N, input_dim)``; ``test_data``: ``(M, input_dim)``.
    """
    run = _prepare(
        model,
        data,
        test_data=test_data,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        estimator=estimator,
        num_samples=num_samples,
        baseline=baseline,
        generator=generator,
        device=device,
        eval_num_samples=eval_num_samples,
        eval_seed=eval_seed,
        eval_every=eval_every,
        measure_variance=measure_variance,
        variance_draws=variance_draws,
        variance_batch_size=variance_batch_size,
        checkpoint=checkpoint,
        resume=resume,
        extra_settings=extra_settings,
        checkpoint_seconds=checkpoint_seconds,
    )
    if callback is not None:
        check_callable(callback, "callback", example="lambda epoch, history: print(epoch)")
    state = _load_resume_state(run, model, checkpoint) if resume else None
    generator = run.generator
    model.to(run.device)
    x_train = run.x_train.to(run.device)
    x_test = run.x_test.to(run.device) if run.x_test is not None else None
    optimizer = torch.optim.Adam(
        model.parameters(), lr=run.lr, **_ADAM_OPTIONS.get(run.device.type, {})
    )
    history, start_epoch = _restore(state, model, optimizer, generator)
    bar = _progress_bar(start_epoch, run.epochs, f"VAE {estimator}", progress)
    elapsed = history["time"][-1] if history["time"] else 0.0
    last_saved, postfix = time.monotonic(), {}
    for epoch in bar:
        model.start_epoch(epoch, run.epochs)
        train_elbo, seconds = _train_epoch(run, model, optimizer, x_train, generator)
        elapsed += seconds
        test_elbo, variance = _evaluate_epoch(run, model, epoch, x_train, x_test)
        for key, value in zip(HISTORY_KEYS, (epoch + 1, train_elbo, test_elbo, elapsed, variance)):
            history[key].append(value)
        postfix.update(_measured(train=train_elbo, test=test_elbo))
        bar.set_postfix(postfix)  # the last test ELBO measured
        if checkpoint is not None and (
            epoch + 1 == run.epochs or time.monotonic() - last_saved >= checkpoint_seconds
        ):
            save_checkpoint(
                checkpoint, _checkpoint_state(run, model, optimizer, history, epoch + 1)
            )
            last_saved = time.monotonic()
        if callback is not None:
            callback(epoch + 1, history)
    bar.close()
    model.eval()
    return history


def _progress_bar(start_epoch: int, epochs: int, desc: str, progress: bool):
    return tqdm(
        range(start_epoch, epochs),
        initial=start_epoch,
        total=epochs,
        disable=not progress,
        desc=desc,
        unit="epoch",
        leave=True,
    )


#: Adam options per device type: the fused CPU kernel is several times faster than the per-parameter loop
#: for this small model (the update is the same up to rounding).
_ADAM_OPTIONS = {"cpu": {"fused": True}, "cuda": {"fused": True}}


@dataclasses.dataclass
class _Run:
    """The validated inputs of one :func:`train` call."""

    x_train: torch.Tensor
    x_test: torch.Tensor | None
    epochs: int
    batch_size: int
    lr: float
    estimator: str
    num_samples: int
    baseline: object  # as given (for the settings)
    resolved_baseline: object  # as used by the model
    generator: torch.Generator
    device: torch.device
    eval_num_samples: int
    eval_seed: int
    eval_every: int
    measure_variance: bool
    variance_draws: int
    variance_batch_size: int
    settings: dict


def _prepare(
    model,
    data,
    *,
    test_data,
    epochs,
    batch_size,
    lr,
    estimator,
    num_samples,
    baseline,
    generator,
    device,
    eval_num_samples,
    eval_seed,
    eval_every,
    measure_variance,
    variance_draws,
    variance_batch_size,
    checkpoint,
    resume,
    extra_settings,
    checkpoint_seconds,
) -> _Run:
    """Validate every input of :func:`train` once; nothing is moved, loaded or written yet."""
    check_vae(model)
    x_train, x_test = _checked_data(model, data, test_data)
    epochs = check_positive_int(epochs, "epochs", maximum=10**6)
    batch_size = check_positive_int(batch_size, "batch_size")
    num_samples = check_num_samples(num_samples)
    check_positive(lr, "lr")
    # estimator and baseline together (same errors as lecture9.vae.elbo), before touching the model
    resolved = model.check_options(estimator, baseline, num_samples)
    variance_draws = check_positive_int(variance_draws, "variance_draws", minimum=2)
    variance_batch_size = check_positive_int(variance_batch_size, "variance_batch_size")
    eval_num_samples = check_num_samples(eval_num_samples, "eval_num_samples")
    eval_every = check_positive_int(eval_every, "eval_every", maximum=10**6)
    _check_run_options(eval_seed, resume, checkpoint, checkpoint_seconds)
    check_generator(generator)
    device = resolve_device(device)
    if generator is None:
        generator = torch.Generator()
        generator.seed()
    settings = {
        "estimator": estimator,
        "num_samples": num_samples,
        "baseline": _baseline_name(baseline),
        "batch_size": batch_size,
        "lr": float(lr),
        "eval_num_samples": eval_num_samples,
        "eval_seed": int(eval_seed),
        "eval_every": eval_every,
        "measure_variance": bool(measure_variance),
        "variance_draws": variance_draws if measure_variance else None,
        "variance_batch_size": variance_batch_size if measure_variance else None,
        "num_train": len(x_train),
        "num_test": len(x_test) if x_test is not None else None,
    }
    if extra_settings is not None:
        if not isinstance(extra_settings, dict) or set(extra_settings) & set(settings):
            raise ValueError(
                f"extra_settings must be a dict whose keys are not among {sorted(settings)}, "
                f"got {extra_settings!r}"
            )
        settings.update(extra_settings)
    return _Run(
        x_train,
        x_test,
        epochs,
        batch_size,
        float(lr),
        estimator,
        num_samples,
        baseline,
        resolved,
        generator,
        device,
        eval_num_samples,
        int(eval_seed),
        eval_every,
        bool(measure_variance),
        variance_draws,
        variance_batch_size,
        settings,
    )


def _checked_data(model, data, test_data):
    """The training and test tensors, checked against the model's input."""
    x_train, x_test = _split_data(data, test_data)
    model.check_input(x_train, "data")
    if len(x_train) == 0 or x_train.dim() != 2:
        raise ValueError(
            f"data must be a non-empty (N, {model.input_dim}) tensor of training images, "
            f"got shape {tuple(x_train.shape)}"
        )
    if x_test is not None:
        model.check_input(x_test, "test_data")
        if len(x_test) == 0 or x_test.dim() != 2:
            raise ValueError(
                f"test_data must be a non-empty (M, {model.input_dim}) tensor (or None), "
                f"got shape {tuple(x_test.shape)}"
            )
    return x_train, x_test


def _check_run_options(eval_seed, resume, checkpoint, checkpoint_seconds) -> None:
    check_path(checkpoint, "checkpoint", optional=True)
    if (
        isinstance(eval_seed, bool)
        or not isinstance(eval_seed, int)
        or not 0 <= eval_seed < 2**63 - 1
    ):
        raise ValueError(f"eval_seed must be an integer in [0, 2**63 - 1), got {eval_seed!r}")
    if resume and checkpoint is None:
        raise ValueError("resume=True needs checkpoint=<path of the checkpoint file>")
    if checkpoint is not None:
        _check_checkpoint_path(Path(checkpoint))
    if (
        isinstance(checkpoint_seconds, bool)
        or not isinstance(checkpoint_seconds, (int, float))
        or not (math.isfinite(checkpoint_seconds) and checkpoint_seconds >= 0)
    ):
        raise ValueError(
            f"checkpoint_seconds must be a finite number >= 0, got {checkpoint_seconds!r}"
        )


def _check_checkpoint_path(path: Path) -> None:
    """Raise a ValueError when ``path`` cannot be a checkpoint file (a folder, or inside a file)."""
    if path.is_dir():
        raise ValueError(
            f"checkpoint {path} is a folder; it must be the path of a file (e.g. run/checkpoint.pt)"
        )
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(
                    f"checkpoint {path} cannot be written: {parent} is a file, not a folder"
                )
            break


#: Keys every checkpoint written by :func:`train` holds.
_CHECKPOINT_KEYS = ("epoch", "model_config", "model", "optimizer", "generator", "history")


def _load_resume_state(run: _Run, model, checkpoint) -> dict | None:
    """The checkpoint to resume from (``None`` when the file does not exist yet), after checking it fits."""
    path = Path(checkpoint)
    if not path.is_file():
        return None
    state = load_checkpoint(path)
    missing = [key for key in _CHECKPOINT_KEYS if not isinstance(state, dict) or key not in state]
    if missing:
        raise ValueError(
            f"checkpoint {path} lacks {missing}: it was not written by lecture9.training.train; "
            f"start a new run (another checkpoint path / --out)"
        )
    if state["model_config"] != model.config:
        raise ValueError(
            f"checkpoint {path} holds a model with config {state['model_config']}, "
            f"but the model passed has {model.config}; build it with VAE(**config)"
        )
    _check_resume_settings(path, state.get("settings", {}), run.settings)
    if int(state["epoch"]) > run.epochs:
        raise ValueError(
            f"epochs={run.epochs} is less than the {int(state['epoch'])} epochs checkpoint {path} has already "
            f"trained; pass epochs >= {int(state['epoch'])} (the total, including the checkpoint's)"
        )
    return state


def _restore(state: dict | None, model, optimizer, generator) -> tuple[dict[str, list], int]:
    """Step 1: the history and first epoch, from a checkpoint (model, optimizer, generator) or from scratch."""
    if state is None:
        return {k: [] for k in HISTORY_KEYS}, 0
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    generator.set_state(state["generator"])
    return {k: list(state["history"][k]) for k in HISTORY_KEYS}, int(state["epoch"])


def _train_epoch(
    run: _Run, model, optimizer, x_train: torch.Tensor, generator
) -> tuple[float, float]:
    """Step 2: one epoch of Adam steps on shuffled minibatches; returns (mean train ELBO, seconds)."""
    model.train()
    t0 = time.perf_counter()
    n = len(x_train)
    perm = torch.randperm(n, generator=generator, device=generator.device).to(run.device)
    losses = []
    for start in range(0, n, run.batch_size):
        xb = x_train[perm[start : start + run.batch_size]]
        eps = model.noise(run.num_samples, xb, generator)
        values = model.elbo_terms_from_noise(xb, eps, run.estimator, run.resolved_baseline)[0]
        loss = -values.mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    sizes = torch.tensor(
        [min(run.batch_size, n - s) for s in range(0, n, run.batch_size)], dtype=torch.float64
    )
    total = -float(
        torch.stack(losses).double().cpu() @ sizes
    )  # one device synchronisation per epoch
    if not math.isfinite(total):
        raise FloatingPointError(
            "the training ELBO became non-finite; lower lr or check the data and the model (min_scale)"
        )
    return total / n, time.perf_counter() - t0


def _measured(**values: float) -> dict[str, str]:
    """The measured (not NaN) ``values``, formatted for the progress bar."""
    return {key: f"{value:.2f}" for key, value in values.items() if not math.isnan(value)}


def _evaluate_epoch(
    run: _Run, model, epoch: int, x_train: torch.Tensor, x_test: torch.Tensor | None
) -> tuple[float, float]:
    """Step 3: the test ELBO (fixed evaluation noise) and, if asked, the encoder-gradient variance,
    every ``eval_every`` epochs and after the last (NaN otherwise)."""
    if (epoch + 1) % run.eval_every and epoch + 1 != run.epochs:
        return math.nan, math.nan
    model.eval()
    device = run.generator.device
    test_elbo = math.nan
    if x_test is not None:
        eval_gen = torch.Generator(device=device).manual_seed(run.eval_seed)
        test_elbo = float(
            evaluate_bound_unchecked(model, x_test, "elbo", run.eval_num_samples, eval_gen, 1000)
            .double()
            .mean()
        )
    variance = math.nan
    if run.measure_variance:
        var_gen = torch.Generator(device=device).manual_seed(run.eval_seed + 1)
        variance = encoder_gradient_variance(
            model,
            x_train[: run.variance_batch_size],
            num_draws=run.variance_draws,
            num_samples=run.num_samples,
            estimator=run.estimator,
            baseline=run.baseline,
            generator=var_gen,
        )["total_variance"]
    return test_elbo, variance


def _checkpoint_state(run: _Run, model, optimizer, history: dict, epoch: int) -> dict:
    """Step 4: what a checkpoint holds, enough to resume exactly."""
    return {
        "format": 1,
        "epoch": epoch,
        "model_config": model.config,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "generator": run.generator.get_state(),
        "history": history,
        "settings": run.settings,
    }
