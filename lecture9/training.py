"""Train a VAE on binarized digits or MNIST (the ``train-vae`` command).

Introduced in chapter 9, *Training a variational autoencoder*.

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

    python -m lecture9 train-vae --data digits --latent-dim 8 --estimator pathwise --epochs 200 --out runs/digits-z8

writes ``runs/digits-z8/checkpoint.pt`` and ``runs/digits-z8/metrics.json``
(standard JSON: ``null`` where a value was not measured); ``--resume`` continues an
interrupted run, and refuses (exit code 2) when a setting that changes the run
differs from the checkpoint's. On the CPU the command uses one thread unless
``--threads`` says otherwise: this VAE is so small that each step is dominated by
per-operation overhead, and on the course's 2-core machine PyTorch's default of 2
threads made training about 6-36x slower than 1 thread.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from tqdm import tqdm

from ._validation import check_generator, check_num_samples, check_positive
from .vae import BASELINES, ESTIMATORS, VAE, _check_options, elbo, encoder_gradient_variance, log_likelihood

__all__ = [
    "CHECKPOINT_NAME",
    "METRICS_NAME",
    "HISTORY_KEYS",
    "resolve_device",
    "evaluate_elbo",
    "train",
    "save_checkpoint",
    "load_checkpoint",
    "configure_parser",
    "run",
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
        raise TypeError(f"device must be a string such as 'cpu', 'cuda' or 'auto', got {type(device).__name__}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r}; use 'cpu', 'cuda' or 'auto'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but CUDA is not available; use device='cpu' or 'auto'")
    return dev


@torch.no_grad()
def evaluate_elbo(
    model: VAE,
    x: torch.Tensor,
    *,
    num_samples: int = 1,
    generator: torch.Generator | None = None,
    batch_size: int = 1000,
) -> float:
    """Mean ELBO (nats per datapoint) of ``x``, without gradients, in chunks of ``batch_size``.

    Shapes:
        ``x``: ``(N, input_dim)``.
    """
    total = 0.0
    for start in range(0, len(x), batch_size):
        xb = x[start : start + batch_size]
        total += float(elbo(model, xb, num_samples=num_samples, generator=generator).sum())
    return total / len(x)


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
    """Call ``write(file)`` on ``path + '.tmp'`` opened for binary writing, fsync it, then :func:`os.replace`.

    If writing fails the temporary file is deleted and the error re-raised; ``path``
    is never left half-written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())  # the bytes are on disk before the rename makes them the checkpoint
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def save_checkpoint(path: str | os.PathLike, state: dict) -> Path:
    """Write ``state`` with :func:`torch.save` atomically.

    The state is saved through an open file handle to ``path + '.tmp'``, flushed and
    :func:`os.fsync`-ed, then renamed over ``path`` with :func:`os.replace`. A run
    killed while writing leaves the previous checkpoint intact; if saving raises, the
    temporary file is removed and the error propagates.

    Introduced in chapter 9, *Training a variational autoencoder*.

    Args:
        path: the checkpoint file; its folder is created if needed.
        state: what to save (tensors, numbers, strings, lists and dicts, so that
            :func:`load_checkpoint` can read it with ``weights_only=True``).

    Returns:
        ``path`` as a :class:`pathlib.Path`.

    Raises:
        OSError: or whatever :func:`torch.save` raises, after removing the temporary file.
    """
    return _atomic_write(Path(path), lambda fh: torch.save(state, fh))


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint written by :func:`train` (``torch.load(..., weights_only=True)``, on the CPU)."""
    return torch.load(Path(path), map_location="cpu", weights_only=True)


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
    """Raise a ValueError listing every setting that differs between a checkpoint and the current call.

    Only the keys present in both are compared (older checkpoints store fewer).
    """
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
    measure_variance: bool = False,
    variance_draws: int = 100,
    variance_batch_size: int = 100,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = True,
    callback: Callable[[int, dict], None] | None = None,
) -> dict[str, list]:
    """Train ``model`` by maximizing the ELBO with Adam; return the per-epoch history.

    Each epoch shuffles the training set with ``generator``, then for each minibatch
    draws the noise (also from ``generator``), computes ``-elbo(...).mean()`` with the
    chosen encoder-gradient estimator and takes an Adam step. After each epoch it
    records the mean training ELBO over the epoch's minibatches, the test ELBO (with
    noise from a generator reseeded to ``eval_seed``, so the evaluation never
    perturbs training and every epoch is scored with the same noise), the cumulative
    training time (evaluation excluded) and, if ``measure_variance``, the total
    variance of the encoder gradient (:func:`lecture9.vae.encoder_gradient_variance`)
    on the first ``variance_batch_size`` training rows.

    With ``checkpoint``, the model, optimizer, generator state, history, epoch and
    settings are saved after every epoch (atomically). With ``resume=True`` and an
    existing checkpoint, training continues from it up to ``epochs`` in total and
    reproduces an uninterrupted run exactly (same generator, same floating-point
    operations); without a checkpoint file it starts from scratch. Resuming checks
    that every setting that changes the run (``estimator``, ``num_samples``,
    ``baseline``, ``batch_size``, ``lr``, ``eval_num_samples``, ``eval_seed``,
    ``measure_variance`` with ``variance_draws`` and ``variance_batch_size``, and the
    sizes of the training and test sets) equals the checkpoint's, and raises a
    ``ValueError`` listing the differences otherwise, so that a resumed run never
    records settings it was not trained with. Only ``epochs``, ``device``,
    ``progress``, ``callback`` and ``generator`` (whose state the checkpoint
    restores) may differ. A callable baseline is compared by its type name only.

    Introduced in chapter 9, *Training a variational autoencoder*; the loop is the
    lecture's "VAE training pseudocode" (Kingma and Welling, 2014, Alg. 1) with Adam
    (Kingma and Ba, 2015).

    Args:
        model: the :class:`lecture9.vae.VAE` to train (moved to ``device``).
        data: training images ``(N, input_dim)``, or a tuple
            ``(x_train, y_train, x_test, y_test)`` (then ``x_test`` is the test set).
        epochs: total number of epochs (including those of a resumed checkpoint).
        batch_size: minibatch size.
        lr: Adam learning rate.
        estimator: ``"pathwise"`` or ``"score_function"`` (encoder gradient).
        num_samples: samples of ``z`` per datapoint per step.
        baseline: score function only, see :func:`lecture9.vae.elbo`.
        generator: random numbers for shuffling and noise (``None``: a fresh,
            randomly seeded generator).
        device: ``"cpu"``, ``"cuda"`` or ``"auto"`` (CUDA when available).
        test_data: test images; overrides the test set of ``data``.
        eval_num_samples: samples of ``z`` for the test ELBO.
        eval_seed: seed of the evaluation and variance-measurement generators.
        measure_variance: record the encoder-gradient variance each epoch.
        variance_draws: gradient draws per variance measurement.
        variance_batch_size: rows of the training set used for the measurement.
        checkpoint: path of the checkpoint file, or ``None`` for no checkpoint.
        resume: continue from ``checkpoint`` if it exists.
        progress: show a tqdm progress bar.
        callback: called as ``callback(epoch, history)`` after every epoch.

    Returns:
        History dict with the keys of :data:`HISTORY_KEYS`, each a list with one
        entry per epoch (``test_elbo`` and ``encoder_grad_variance`` hold ``nan``
        when not measured).

    Raises:
        TypeError: on a bad ``model``, ``data`` or ``generator``.
        ValueError: on non-positive ``epochs``, ``batch_size`` or ``lr``, an unknown
            estimator or baseline, a baseline with ``estimator="pathwise"``, data of
            the wrong width, ``resume`` without a ``checkpoint``, a checkpoint of a
            different architecture, or a checkpoint written with different settings
            (the message lists each difference).

    Shapes:
        ``data``: ``(N, input_dim)``; ``test_data``: ``(M, input_dim)``.
    """
    if not isinstance(model, VAE):
        raise TypeError(f"model must be a lecture9.vae.VAE, got {type(model).__name__}")
    x_train, x_test = _split_data(data, test_data)
    model.check_input(x_train, "data")
    if x_test is not None:
        model.check_input(x_test, "test_data")
    epochs = check_num_samples(epochs, "epochs")
    batch_size = check_num_samples(batch_size, "batch_size")
    num_samples = check_num_samples(num_samples)
    check_positive(lr, "lr")
    # estimator and baseline together (same errors as lecture9.vae.elbo), before touching the model
    _check_options(estimator, baseline, num_samples)
    variance_draws = check_num_samples(variance_draws, "variance_draws")
    variance_batch_size = check_num_samples(variance_batch_size, "variance_batch_size")
    eval_num_samples = check_num_samples(eval_num_samples, "eval_num_samples")
    if resume and checkpoint is None:
        raise ValueError("resume=True needs checkpoint=<path of the checkpoint file>")
    check_generator(generator)
    device = resolve_device(device)
    settings = {
        "estimator": estimator,
        "num_samples": num_samples,
        "baseline": _baseline_name(baseline),
        "batch_size": batch_size,
        "lr": float(lr),
        "eval_num_samples": eval_num_samples,
        "eval_seed": int(eval_seed),
        "measure_variance": bool(measure_variance),
        "variance_draws": variance_draws if measure_variance else None,
        "variance_batch_size": variance_batch_size if measure_variance else None,
        "num_train": len(x_train),
        "num_test": len(x_test) if x_test is not None else None,
    }
    state = None
    if resume and Path(checkpoint).is_file():
        state = load_checkpoint(checkpoint)
        if state["model_config"] != model.config:
            raise ValueError(
                f"checkpoint {checkpoint} holds a model with config {state['model_config']}, "
                f"but the model passed has {model.config}; build it with VAE(**config)"
            )
        _check_resume_settings(checkpoint, state.get("settings", {}), settings)
    if generator is None:
        generator = torch.Generator()
        generator.seed()

    model.to(device)
    x_train = x_train.to(device)
    x_test = x_test.to(device) if x_test is not None else None
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history: dict[str, list] = {k: [] for k in HISTORY_KEYS}
    start_epoch = 0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        history = {k: list(state["history"][k]) for k in HISTORY_KEYS}
        start_epoch = int(state["epoch"])

    n = len(x_train)
    elapsed = history["time"][-1] if history["time"] else 0.0
    bar = tqdm(
        range(start_epoch, epochs), initial=start_epoch, total=epochs, disable=not progress,
        desc=f"VAE {estimator}", unit="epoch", leave=True,
    )
    for epoch in bar:
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=generator, device=generator.device).to(device)
        total = 0.0
        for start in range(0, n, batch_size):
            xb = x_train[perm[start : start + batch_size]]
            values = elbo(model, xb, num_samples=num_samples, estimator=estimator, baseline=baseline, generator=generator)
            loss = -values.mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(values.detach().sum())
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        elapsed += time.perf_counter() - t0
        model.eval()
        eval_gen = torch.Generator(device=generator.device).manual_seed(eval_seed)
        test_elbo = evaluate_elbo(model, x_test, num_samples=eval_num_samples, generator=eval_gen) if x_test is not None else math.nan
        variance = math.nan
        if measure_variance:
            var_gen = torch.Generator(device=generator.device).manual_seed(eval_seed + 1)
            variance = encoder_gradient_variance(
                model, x_train[:variance_batch_size], num_draws=variance_draws, num_samples=num_samples,
                estimator=estimator, baseline=baseline, generator=var_gen,
            )["total_variance"]
        history["epoch"].append(epoch + 1)
        history["train_elbo"].append(total / n)
        history["test_elbo"].append(test_elbo)
        history["time"].append(elapsed)
        history["encoder_grad_variance"].append(variance)
        bar.set_postfix(train=f"{total / n:.2f}", test=f"{test_elbo:.2f}")
        if checkpoint is not None:
            save_checkpoint(
                checkpoint,
                {
                    "format": 1,
                    "epoch": epoch + 1,
                    "model_config": model.config,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "generator": generator.get_state(),
                    "history": history,
                    "settings": settings,
                },
            )
        if callback is not None:
            callback(epoch + 1, history)
    bar.close()
    model.eval()
    return history


# ----------------------------------------------------------------------------- command line


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``train-vae`` arguments to ``parser``."""
    parser.add_argument("--data", choices=("digits", "mnist"), default="digits",
                        help="binarized 8x8 digits (bundled, default) or MNIST from local IDX files")
    parser.add_argument("--mnist-root", default="data/mnist",
                        help="folder with the MNIST IDX files (or its MNIST/raw subfolder); never downloaded")
    parser.add_argument("--latent-dim", type=int, default=8, help="dimension of z (default 8)")
    parser.add_argument("--hidden-dims", type=int, nargs="+", default=[256], help="hidden layer widths (default 256)")
    parser.add_argument("--activation", default="tanh", help="hidden nonlinearity (default tanh)")
    parser.add_argument("--estimator", choices=ESTIMATORS, default="pathwise", help="encoder-gradient estimator")
    parser.add_argument("--baseline", choices=BASELINES, default=None,
                        help="baseline for the score-function estimator (needs --num-samples >= 2)")
    parser.add_argument("--num-samples", type=int, default=1, help="samples of z per datapoint per step")
    parser.add_argument("--epochs", type=int, default=200, help="total epochs (default 200)")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generator (init, shuffling, noise)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (CUDA when available)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for torch (default: 1 on the CPU, torch's choice on CUDA). The digits "
                             "model is tiny, so per-operation overhead dominates: on the course's 2-core machine "
                             "2 threads trained it about 6-36x slower than 1")
    parser.add_argument("--iwae-samples", type=int, default=1000,
                        help="importance samples for the final test log-likelihood (0 skips it)")
    parser.add_argument("--measure-variance", action="store_true",
                        help="record the encoder-gradient variance after every epoch")
    parser.add_argument("--out", required=True, help="run folder: checkpoint.pt and metrics.json go here")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _load(args):
    if args.data == "digits":
        from .data import load_binarized_digits

        d = load_binarized_digits()
        return d.x_train, d.x_test
    from .data import load_mnist

    x_train, _ = load_mnist(args.mnist_root, "train")
    x_test, _ = load_mnist(args.mnist_root, "test")
    return x_train, x_test


def _json_safe(obj):
    """``obj`` with every non-finite float (``nan``: not measured) replaced by ``None``."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def _write_json(path: Path, obj) -> None:
    """Write ``obj`` as standard JSON (``null`` for ``nan``; ``allow_nan=False``), atomically."""
    text = json.dumps(_json_safe(obj), indent=2, allow_nan=False) + "\n"
    _atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def run(args: argparse.Namespace) -> int:
    """Run ``train-vae``: train, write ``OUT/checkpoint.pt`` and ``OUT/metrics.json``; return the exit code."""
    out = Path(args.out)
    ckpt = out / CHECKPOINT_NAME
    if ckpt.exists() and not args.resume:
        print(f"error: {ckpt} exists; pass --resume to continue that run or choose another --out", file=sys.stderr)
        return 2
    try:
        x_train, x_test = _load(args)
        device = resolve_device(args.device)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    threads = args.threads
    if threads is not None and threads < 1:
        print(f"error: --threads must be >= 1, got {threads}", file=sys.stderr)
        return 2
    if threads is None and device.type == "cpu":
        # The digits VAE is so small that per-operation overhead dominates: on the course's 2-core machine
        # PyTorch's default of 2 threads made training about 6-36x slower than 1 thread.
        threads = 1
    if threads is not None:
        torch.set_num_threads(threads)  # this process is the command: its thread count is ours to set
    generator = torch.Generator().manual_seed(args.seed)
    try:
        model = VAE(
            input_dim=x_train.shape[1], latent_dim=args.latent_dim, hidden_dims=args.hidden_dims,
            activation=args.activation, generator=generator,
        )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    print(
        f"train-vae: {args.data} ({len(x_train)} train / {len(x_test)} test, {x_train.shape[1]} pixels), "
        f"VAE {x_train.shape[1]}-{'-'.join(map(str, args.hidden_dims))}-{args.latent_dim} {args.activation}, "
        f"{args.estimator} encoder gradient, {args.epochs} epochs, device {device}",
        flush=True,
    )
    log_every = max(1, args.epochs // 10)

    def log(epoch, history):
        if epoch % log_every == 0 or epoch == args.epochs:
            tqdm.write(
                f"epoch {epoch:4d}  train ELBO {history['train_elbo'][-1]:9.3f}  "
                f"test ELBO {history['test_elbo'][-1]:9.3f}  time {history['time'][-1]:7.1f} s"
            )

    try:
        history = train(
            model, x_train, test_data=x_test, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
            estimator=args.estimator, num_samples=args.num_samples, baseline=args.baseline, generator=generator,
            device=device, measure_variance=args.measure_variance, checkpoint=ckpt, resume=args.resume,
            progress=not args.no_progress, callback=log,
        )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    final = {
        "epochs": history["epoch"][-1],
        "test_elbo": history["test_elbo"][-1],
        "test_neg_elbo": -history["test_elbo"][-1],
        "train_time_s": history["time"][-1],
        "time_per_epoch_s": history["time"][-1] / max(1, len(history["time"])),
    }
    if args.iwae_samples > 0:
        ll = log_likelihood(model, x_test.to(device), args.iwae_samples,
                            generator=torch.Generator().manual_seed(args.seed + 1))
        final["iwae_samples"] = args.iwae_samples
        final["test_iwae_nll"] = -float(ll.mean())
    metrics = {
        "command": "train-vae",
        "data": args.data,
        "model_config": model.config,
        "settings": {
            "estimator": args.estimator, "baseline": args.baseline, "num_samples": args.num_samples,
            "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed, "device": str(device),
            "threads": torch.get_num_threads(),
        },
        "final": final,
        "history": history,
    }
    _write_json(out / METRICS_NAME, metrics)
    line = f"test -ELBO {final['test_neg_elbo']:.3f} nats"
    if "test_iwae_nll" in final:
        line += f", IWAE NLL (K={args.iwae_samples}) {final['test_iwae_nll']:.3f} nats"
    print(f"{line}; {final['train_time_s']:.1f} s training ({final['time_per_epoch_s']:.3f} s/epoch)")
    print(f"wrote {ckpt} and {out / METRICS_NAME}")
    return 0
