"""Benchmark: ``train-vae`` against a plain PyTorch loop, side by side in one run; chapter-9 VAE numbers.

Side by side (one thread each, alternating, best of ``--repeats``):

- lecture9: ``python -m lecture9 train-vae --data digits --latent-dim 8 --estimator pathwise --epochs 200``
  run in-process through :func:`lecture9.cli.main` (per-epoch test ELBO, a checkpoint per
  epoch, the final IWAE bound with K = 1000, metrics JSON);
- plain: the ~60-line PyTorch loop below (:func:`plain_vae`): same data split, MLP 64-256-8
  tanh, Adam 1e-3, batch 100, 200 epochs, then the test ELBO and the IWAE bound (K = 1000).

It prints both wall times, their ratio (target <= 1.0) and both test -ELBOs, each
evaluated the same way on the trained weights (100 draws of z per test image), with the
standard error of their paired per-image difference (target: within 5 SE). Optional: the
encoder-gradient variance table (``--variance``) and an MNIST-scale run (``--mnist``).
Exit status 1 if a target is missed.

Usage::

    python benchmarks/vae.py                      # digits, z = 8, 200 epochs, best of 2
    python benchmarks/vae.py --epochs 20 --repeats 1   # quick
    python benchmarks/vae.py --variance --mnist
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from lecture9 import cli, data, training, vae

MNIST_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"


def plain_vae(
    x_train, x_test, *, epochs: int, latent_dim: int = 8, seed: int = 0, iwae_samples: int = 1000
):
    """The plain PyTorch VAE script: train, then the test ELBO and IWAE bound. Returns (encoder, decoder, metrics)."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    d = x_train.shape[1]
    enc = nn.Sequential(nn.Linear(d, 256), nn.Tanh(), nn.Linear(256, 2 * latent_dim))
    dec = nn.Sequential(nn.Linear(latent_dim, 256), nn.Tanh(), nn.Linear(256, d))
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=1e-3)

    def encode(x):
        loc, raw = enc(x).chunk(2, -1)
        return loc, F.softplus(raw) + 1e-4

    def elbo(x, gen):
        loc, scale = encode(x)
        z = loc + scale * torch.randn(loc.shape, generator=gen)
        log_px = -F.binary_cross_entropy_with_logits(dec(z), x, reduction="none").sum(-1)
        kl = 0.5 * (loc**2 + scale**2 - 1 - 2 * scale.log()).sum(-1)
        return log_px - kl

    for _ in range(epochs):
        perm = torch.randperm(len(x_train), generator=g)
        for i in range(0, len(x_train), 100):
            loss = -elbo(x_train[perm[i : i + 100]], g).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        test_elbo = elbo(x_test, torch.Generator().manual_seed(1)).mean().item()
        loc, scale = encode(x_test)
        gen, log_w = torch.Generator().manual_seed(2), []
        for _ in range(0, iwae_samples, 100):  # 100 importance samples at a time
            eps = torch.randn((100, *loc.shape), generator=gen)
            z = loc + scale * eps
            log_px = -F.binary_cross_entropy_with_logits(
                dec(z), x_test.expand(100, -1, -1), reduction="none"
            ).sum(-1)
            log_pz = -0.5 * (z**2 + math.log(2 * math.pi)).sum(-1)
            log_qz = -(0.5 * (eps**2 + math.log(2 * math.pi)) + scale.log()).sum(-1)
            log_w.append(log_px + log_pz - log_qz)
        iwae = (torch.logsumexp(torch.cat(log_w), 0) - math.log(iwae_samples)).mean().item()
    return enc, dec, {"test_neg_elbo": -test_elbo, "test_iwae_nll": -iwae}


def as_vae(enc, dec, latent_dim):
    """The plain script's weights in a lecture9 VAE (same layers), to evaluate both the same way."""
    model = vae.VAE(
        input_dim=enc[0].in_features, latent_dim=latent_dim, hidden_dims=(256,), activation="tanh"
    )
    model.encoder.load_state_dict(enc.state_dict())
    model.decoder.load_state_dict(dec.state_dict())
    return model


def neg_elbo_per_image(model, x_test, draws: int = 100):
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        values = vae.elbo(model, x_test.expand(draws, *x_test.shape), num_samples=1, generator=gen)
    return -values.double().mean(0)


def side_by_side(args) -> bool:
    d = data.load_binarized_digits()
    argv = [
        "train-vae",
        "--data",
        "digits",
        "--latent-dim",
        str(args.latent_dim),
        "--estimator",
        "pathwise",
        "--epochs",
        str(args.epochs),
        "--seed",
        str(args.seed),
        "--no-progress",
        "--threads",
        "1",
    ]
    # warm-up (untimed): first-call imports of torch's optimizer machinery, on both sides
    plain_vae(
        d.x_train[:100], d.x_test[:10], epochs=1, latent_dim=args.latent_dim, iwae_samples=100
    )
    times = {"lecture9": [], "plain": []}
    cpu = {"lecture9": [], "plain": []}

    def run_ours():
        nonlocal state, metrics
        with tempfile.TemporaryDirectory() as tmp:
            assert cli.main([*argv, "--out", tmp]) == 0, "train-vae failed"
            state = training.load_checkpoint(Path(tmp) / training.CHECKPOINT_NAME)
            metrics = json.loads((Path(tmp) / training.METRICS_NAME).read_text())

    def run_plain():
        nonlocal plain_result
        plain_result = plain_vae(
            d.x_train, d.x_test, epochs=args.epochs, latent_dim=args.latent_dim, seed=args.seed
        )

    state = metrics = plain_result = None
    for r in range(args.repeats):
        order = [("lecture9", run_ours), ("plain", run_plain)]
        for name, fn in (
            order if r % 2 == 0 else order[::-1]
        ):  # alternate, so drifting load hits both
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    enc, dec, plain_metrics = plain_result
    ours = vae.VAE(**state["model_config"])
    ours.load_state_dict(state["model"])
    ours_nll, plain_nll = (
        neg_elbo_per_image(ours, d.x_test),
        neg_elbo_per_image(as_vae(enc, dec, args.latent_dim), d.x_test),
    )
    diff = ours_nll - plain_nll
    se = float(diff.std() / math.sqrt(len(diff)))
    t_ours, t_plain = min(times["lecture9"]), min(times["plain"])
    c_ours, c_plain = min(cpu["lecture9"]), min(cpu["plain"])
    ratio = t_ours / t_plain
    print(
        f"\n## train-vae vs plain PyTorch: digits, VAE 64-256-{args.latent_dim} tanh, Adam 1e-3, batch 100, "
        f"{args.epochs} epochs, pathwise, seed {args.seed}, best of {args.repeats}"
    )
    print("| | lecture9 train-vae | plain loop |\n|---|---|---|")
    print(f"| wall time (training + evaluation) | {t_ours:.2f} s | {t_plain:.2f} s |")
    print(f"| CPU time of the process | {c_ours:.2f} s | {c_plain:.2f} s |")
    print(
        f"| test -ELBO, own evaluation (1 draw) | {metrics['final']['test_neg_elbo']:.2f} | "
        f"{plain_metrics['test_neg_elbo']:.2f} |"
    )
    print(
        f"| test -ELBO, same evaluation (100 draws) | {float(ours_nll.mean()):.2f} | {float(plain_nll.mean()):.2f} |"
    )
    print(
        f"| test IWAE NLL (K = 1000) | {metrics['final']['test_iwae_nll']:.2f} | "
        f"{plain_metrics['test_iwae_nll']:.2f} |"
    )
    ok_time, ok_elbo = ratio <= 1.0, abs(float(diff.mean())) <= 5 * se
    print(
        f"\nratio lecture9 / plain: wall {ratio:.3f} (target <= 1.0: {'PASS' if ok_time else 'FAIL'}), "
        f"CPU {c_ours / c_plain:.3f} (less sensitive to other processes on a shared machine)"
    )
    print(
        f"-ELBO difference lecture9 - plain: {float(diff.mean()):+.3f} nats, SE {se:.3f} "
        f"(target within 5 SE: {'PASS' if ok_elbo else 'FAIL'})"
    )
    return ok_time and ok_elbo


def variance_ratios(model, x, num_draws, seed):
    out = {}
    for label, estimator, baseline, k in [
        ("pathwise (S=1)", "pathwise", None, 1),
        ("score function (S=1)", "score_function", None, 1),
        ("pathwise (S=2)", "pathwise", None, 2),
        ("score function + leave-one-out (S=2)", "score_function", "leave_one_out", 2),
    ]:
        out[label] = vae.encoder_gradient_variance(
            model,
            x,
            num_draws=num_draws,
            num_samples=k,
            estimator=estimator,
            baseline=baseline,
            generator=torch.Generator().manual_seed(seed),
        )["total_variance"]
    return out


def variance_table(args) -> None:
    d = data.load_binarized_digits()
    model = vae.VAE(
        input_dim=64,
        latent_dim=args.latent_dim,
        hidden_dims=(256,),
        activation="tanh",
        generator=torch.Generator().manual_seed(args.seed),
    )
    init_state = {k: v.clone() for k, v in model.state_dict().items()}
    training.train(
        model,
        d,
        epochs=args.epochs,
        generator=torch.Generator().manual_seed(args.seed),
        progress=False,
    )
    x = d.x_train[:100]
    trained = variance_ratios(model, x, args.variance_draws, seed=3)
    model.load_state_dict(init_state)
    initial = variance_ratios(model, x, args.variance_draws, seed=3)
    print(
        f"\n## Encoder-gradient variance (sum over the {sum(p.numel() for p in model.encoder.parameters())} "
        f"encoder parameters), minibatch of 100, {args.variance_draws} draws"
    )
    print(
        "| estimator | at init | ratio to pathwise | trained | ratio to pathwise |\n|---|---|---|---|---|"
    )
    for label in trained:
        ref = "pathwise (S=2)" if "S=2" in label else "pathwise (S=1)"
        print(
            f"| {label} | {initial[label]:.3g} | {initial[label] / initial[ref]:.3g} | "
            f"{trained[label]:.3g} | {trained[label] / trained[ref]:.3g} |"
        )


def mnist_run(args):
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        print(f"\n(MNIST run skipped: no t10k files in {MNIST_DIR})")
        return
    x, _ = data.load_mnist(MNIST_DIR, "test")
    x_train, x_test = x[:9000], x[9000:]
    model = vae.VAE(
        input_dim=784,
        latent_dim=32,
        hidden_dims=(512,),
        activation="tanh",
        generator=torch.Generator().manual_seed(args.seed),
    )
    device = training.resolve_device(args.device)
    start = time.perf_counter()
    history = training.train(
        model,
        x_train,
        test_data=x_test,
        epochs=args.mnist_epochs,
        batch_size=100,
        lr=1e-3,
        generator=torch.Generator().manual_seed(args.seed),
        device=device,
        progress=False,
    )
    wall = time.perf_counter() - start
    nll = (
        -vae.log_likelihood(
            model, x_test.to(device), 1000, generator=torch.Generator().manual_seed(2)
        )
        .mean()
        .item()
    )
    print(
        f"\n## MNIST-scale: official test set split 9000 train / 1000 test, VAE 784-512-32 tanh, "
        f"{args.mnist_epochs} epochs, device {device}"
    )
    print(f"| test -ELBO | {-history['test_elbo'][-1]:.2f} nats |\n|---|---|")
    print(f"| test IWAE NLL (K = 1000) | {nll:.2f} nats |")
    print(
        f"| wall time | {wall:.1f} s ({1000 * history['time'][-1] / args.mnist_epochs:.0f} ms per epoch) |"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--latent-dim", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeats", type=int, default=2, help="timed runs of each side (best is reported)"
    )
    parser.add_argument(
        "--variance", action="store_true", help="also the encoder-gradient variance table"
    )
    parser.add_argument("--variance-draws", type=int, default=500)
    parser.add_argument("--mnist", action="store_true", help="also run the MNIST-scale benchmark")
    parser.add_argument("--mnist-epochs", type=int, default=10)
    parser.add_argument("--device", default="auto", help="device of the MNIST run")
    args = parser.parse_args(argv)
    # One thread: this small model is latency-bound (the command's own default on the CPU).
    torch.set_num_threads(1)
    print(
        f"# lecture9 VAE benchmark: torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"1 thread, CUDA available: {torch.cuda.is_available()}"
    )
    ok = side_by_side(args)
    if args.variance:
        variance_table(args)
    if args.mnist:
        mnist_run(args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
