"""Tests of lecture9.training: the training loop, checkpoints, resuming and the train-vae command."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from lecture9 import cli, data, training, vae


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models train fastest (and reproducibly) on one thread, especially on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def digits():
    return data.load_binarized_digits()


def make_model(seed=0, **kw):
    args = dict(input_dim=64, latent_dim=4, hidden_dims=(32,))
    args.update(kw)
    return vae.VAE(**args, generator=torch.Generator().manual_seed(seed))


def test_a_few_epochs_lower_the_test_negative_elbo(digits):
    model = make_model()
    x_test = digits.x_test
    with torch.no_grad():
        before = vae.elbo(model, x_test, num_samples=10, generator=torch.Generator().manual_seed(9))
    history = training.train(model, digits, epochs=3, batch_size=100, lr=1e-2,
                             generator=torch.Generator().manual_seed(1), progress=False)
    with torch.no_grad():
        after = vae.elbo(model, x_test, num_samples=10, generator=torch.Generator().manual_seed(9))
    diff = after - before  # paired, per datapoint
    se = diff.std() / math.sqrt(len(diff))
    assert diff.mean() > 5 * se and diff.mean() > 5.0  # several nats better, far beyond the noise
    assert history["epoch"] == [1, 2, 3]
    assert all(math.isfinite(v) for v in history["test_elbo"])
    assert history["test_elbo"][-1] > history["test_elbo"][0]
    assert all(math.isnan(v) for v in history["encoder_grad_variance"])
    assert history["time"] == sorted(history["time"])


def test_score_function_training_with_baseline_and_variance_measurement(digits):
    model = make_model()
    history = training.train(model, digits.x_train[:300], test_data=digits.x_test, epochs=2, batch_size=100,
                             estimator="score_function", num_samples=2, baseline="leave_one_out",
                             generator=torch.Generator().manual_seed(0), progress=False,
                             measure_variance=True, variance_draws=10, variance_batch_size=20)
    assert len(history["encoder_grad_variance"]) == 2
    assert all(v > 0 and math.isfinite(v) for v in history["encoder_grad_variance"])
    no_test = training.train(make_model(), digits.x_train[:100], epochs=1, progress=False,
                             generator=torch.Generator().manual_seed(0))
    assert math.isnan(no_test["test_elbo"][0])


def test_evaluation_does_not_perturb_training(digits):
    """Test-set evaluation uses its own generator: with or without a test set, the same weights."""
    a, b = make_model(), make_model()
    training.train(a, digits.x_train[:200], epochs=2, generator=torch.Generator().manual_seed(0), progress=False)
    training.train(b, digits.x_train[:200], test_data=digits.x_test, epochs=2, measure_variance=True,
                   variance_draws=5, generator=torch.Generator().manual_seed(0), progress=False)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def _strip_time(history):
    """History without the wall-clock times, nan replaced by None (nan != nan)."""
    return {k: [None if isinstance(x, float) and math.isnan(x) else x for x in v]
            for k, v in history.items() if k != "time"}


@pytest.mark.parametrize("estimator", ["pathwise", "score_function"])
def test_resume_reproduces_an_uninterrupted_run_exactly(digits, tmp_path, estimator):
    x_train = digits.x_train[:200]
    kw = dict(test_data=digits.x_test[:50], batch_size=50, lr=2e-3, estimator=estimator, progress=False)

    full_gen = torch.Generator().manual_seed(7)
    full = make_model(seed=3)
    full_hist = training.train(full, x_train, epochs=4, generator=full_gen, **kw)

    ckpt = tmp_path / "run" / "checkpoint.pt"
    part = make_model(seed=3)
    training.train(part, x_train, epochs=2, generator=torch.Generator().manual_seed(7), checkpoint=ckpt, **kw)
    assert ckpt.is_file() and not (tmp_path / "run" / "checkpoint.pt.tmp").exists()

    # a fresh process would rebuild everything: new model (other init), new generator (other seed)
    resumed = make_model(seed=99)
    gen = torch.Generator().manual_seed(12345)
    hist = training.train(resumed, x_train, epochs=4, generator=gen, checkpoint=ckpt, resume=True, **kw)
    for pa, pb in zip(full.parameters(), resumed.parameters()):
        assert torch.equal(pa, pb)
    assert _strip_time(hist) == _strip_time(full_hist)
    assert torch.equal(gen.get_state(), full_gen.get_state())
    state = training.load_checkpoint(ckpt)
    assert state["epoch"] == 4 and state["model_config"] == resumed.config
    assert len(state["history"]["epoch"]) == 4
    # resuming a finished run trains nothing more
    again = training.train(resumed, x_train, epochs=4, generator=gen, checkpoint=ckpt, resume=True, **kw)
    assert _strip_time(again) == _strip_time(hist)


def test_checkpoint_is_loadable_with_weights_only(digits, tmp_path):
    ckpt = tmp_path / "c.pt"
    model = make_model()
    training.train(model, digits.x_train[:100], epochs=1, generator=torch.Generator().manual_seed(0),
                   checkpoint=ckpt, progress=False)
    state = torch.load(ckpt, weights_only=True)
    assert {"model", "optimizer", "generator", "history", "epoch", "model_config", "settings"} <= set(state)
    rebuilt = vae.VAE(**state["model_config"])
    rebuilt.load_state_dict(state["model"])
    for pa, pb in zip(model.parameters(), rebuilt.parameters()):
        assert torch.equal(pa, pb)


def test_save_checkpoint_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    training.save_checkpoint(path, {"a": torch.ones(2)})

    def broken_save(obj, f):
        with open(f, "wb") as fh:
            fh.write(b"partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(RuntimeError, match="disk full"):
        training.save_checkpoint(path, {"a": torch.zeros(2)})
    monkeypatch.undo()
    assert torch.equal(training.load_checkpoint(path)["a"], torch.ones(2))  # the old checkpoint survived


def test_train_errors(digits, tmp_path):
    model = make_model()
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="estimator must be one of"):
        training.train(model, digits, epochs=1, estimator="reinforce", generator=g)
    with pytest.raises(ValueError, match="baseline must be one of"):
        training.train(model, digits, epochs=1, estimator="score_function", baseline="best", generator=g)
    with pytest.raises(ValueError, match=r"expects \(batch, 64\)"):
        training.train(model, torch.zeros(10, 63), epochs=1, generator=g)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        training.train(model, digits, epochs=0, generator=g)
    with pytest.raises(ValueError, match="lr must be finite and > 0"):
        training.train(model, digits, epochs=1, lr=-1.0, generator=g)
    with pytest.raises(ValueError, match="resume=True needs checkpoint"):
        training.train(model, digits, epochs=1, resume=True, generator=g)
    with pytest.raises(TypeError, match="data must be"):
        training.train(model, {"x": 1}, epochs=1, generator=g)
    ckpt = tmp_path / "c.pt"
    training.train(model, digits.x_train[:100], epochs=1, generator=g, checkpoint=ckpt, progress=False)
    with pytest.raises(ValueError, match="holds a model with config"):
        training.train(make_model(latent_dim=3), digits.x_train[:100], epochs=2, generator=g, checkpoint=ckpt,
                       resume=True, progress=False)


def test_resolve_device():
    assert training.resolve_device("cpu") == torch.device("cpu")
    assert training.resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            training.resolve_device("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        training.resolve_device("tpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_training_on_cuda_matches_cpu_statistically(digits):
    model = make_model()
    hist = training.train(model, digits, epochs=2, device="cuda", generator=torch.Generator().manual_seed(0),
                          progress=False)
    assert next(model.parameters()).is_cuda and math.isfinite(hist["test_elbo"][-1])


# ----------------------------------------------------------------------------- command line


def test_cli_end_to_end(tmp_path, capsys):
    out = tmp_path / "runs" / "digits-z2"
    argv = ["train-vae", "--data", "digits", "--latent-dim", "2", "--hidden-dims", "32", "--epochs", "2", "--batch-size", "300",
            "--out", str(out), "--no-progress", "--iwae-samples", "20", "--threads", "1"]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "epoch    2" in printed and "IWAE NLL (K=20)" in printed and "metrics.json" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["final"]["epochs"] == 2 and metrics["model_config"]["latent_dim"] == 2
    assert metrics["final"]["test_neg_elbo"] == pytest.approx(-metrics["history"]["test_elbo"][-1])
    assert metrics["final"]["test_iwae_nll"] < metrics["final"]["test_neg_elbo"] + 1.0
    assert not list(out.glob("*.tmp"))
    # refusing to overwrite, then resuming to 3 epochs
    assert cli.main(argv) == 2
    assert "--resume" in capsys.readouterr().err
    argv3 = [a if a != "2" else "3" for a in argv]
    argv3[argv3.index("--latent-dim") + 1] = "2"
    assert cli.main([*argv3, "--resume"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["history"]["epoch"] == [1, 2, 3]


def test_cli_mnist_from_tiny_idx_files(tmp_path, capsys):
    raw = tmp_path / "mnist" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 40), ("test", 10)):
        img, lab = data.MNIST_FILES[split]
        data.write_idx(raw / f"{img}.gz", rng.integers(0, 256, size=(n, 28, 28)))
        data.write_idx(raw / f"{lab}.gz", rng.integers(0, 10, size=n))
    out = tmp_path / "run"
    rc = cli.main(["train-vae", "--data", "mnist", "--mnist-root", str(tmp_path / "mnist"), "--epochs", "1",
                   "--batch-size", "20", "--hidden-dims", "16", "--latent-dim", "2", "--out", str(out),
                   "--no-progress", "--iwae-samples", "0", "--estimator", "score_function"])
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model_config"]["input_dim"] == 784 and "test_iwae_nll" not in metrics["final"]


def test_cli_bad_threads(tmp_path, capsys):
    assert cli.main(["train-vae", "--epochs", "1", "--threads", "0", "--out", str(tmp_path / "r")]) == 2
    assert "--threads must be >= 1" in capsys.readouterr().err


def test_cli_mnist_missing_files(tmp_path, capsys):
    rc = cli.main(["train-vae", "--data", "mnist", "--mnist-root", str(tmp_path), "--epochs", "1",
                   "--out", str(tmp_path / "run"), "--no-progress"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte.gz" in err and "MNIST/raw" in err
