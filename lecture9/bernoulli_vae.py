r"""A VAE with Bernoulli latent codes, trained with the discrete-variable estimators.

Introduced in chapter 10, *Discrete latent variables*. The model is the one of
:mod:`lecture9.vae` with a binary code in place of the Gaussian latent:

- prior :math:`p(b) = \prod_{j=1}^{J} \operatorname{Bernoulli}(b_j; \tfrac12)`;
- encoder :math:`q_\phi(b \mid x) = \prod_j \operatorname{Bernoulli}(b_j; \sigma(\ell_\phi(x)_j))`,
  an MLP giving the code's ``logits``;
- decoder :math:`p_\theta(x \mid b)`: the Bernoulli-pixel MLP of :class:`lecture9.vae.VAE`.

The KL to the prior has a closed form (:func:`bernoulli_kl`). The expected
reconstruction :math:`\mathbb{E}_{q_\phi(b \mid x)}[\log p_\theta(x \mid b)]` has no path
from :math:`\phi` to a hard sample, so the encoder is trained with one of the estimators
of chapter 10 (:data:`ESTIMATORS`), all driven by the same uniform noise
:math:`u \sim \mathcal{U}(0, 1)^J`, with :math:`b = 1[u < \sigma(\ell)]`:

- ``"score_function"``: REINFORCE, optionally with the leave-one-out baseline over the
  ``num_samples`` codes of a datapoint (RLOO, Kool et al. 2019);
- ``"gumbel_softmax"``: the pathwise gradient of the relaxed objective, the decoder
  evaluated at the binary Concrete sample :math:`z = \sigma((\ell - \operatorname{logit} u)/\tau)`
  (Jang et al. 2017; Maddison et al. 2017);
- ``"straight_through"``: the decoder at the hard code, the gradient of :math:`z`
  (Bengio et al. 2013);
- ``"disarm"``: the antithetic pair :math:`b, \tilde b = 1[1 - u < \sigma(\ell)]`, two
  decoder evaluations per sample (Dong, Mnih & Tucker 2020).

:class:`BernoulliVAE` subclasses :class:`~lecture9.vae.VAE` (decoder, input checks,
initialisation) and implements the model interface of :func:`lecture9.training.train`,
so it trains with the same loop and is scored by :func:`lecture9.vae.evaluate_bound`:
the ELBO there, and the test ELBO of the training loop, are evaluated with *hard* codes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ._validation import check_broadcast, check_choice, check_generator, check_num_samples, check_temperature
from .sampling import uniform_noise
from .vae import VAE, _log_bernoulli, _mlp, _resolve_baseline, _surrogate

__all__ = ["ESTIMATORS", "DEFAULT_TEMPERATURE", "BernoulliVAE", "bernoulli_kl", "exact_elbo"]

#: Encoder-gradient estimators of the Bernoulli VAE.
ESTIMATORS = ("score_function", "gumbel_softmax", "straight_through", "disarm")
#: Temperature of the binary Concrete relaxation unless another is given.
DEFAULT_TEMPERATURE = 0.5
_LOG_2 = math.log(2.0)
_COST_SHAPE = "the cost's shape (num_samples, *batch)"


def _kl(logits: torch.Tensor) -> torch.Tensor:
    # q log q + (1 - q) log(1 - q) = q * logits - softplus(logits), with q = sigmoid(logits)
    return (torch.sigmoid(logits) * logits - F.softplus(logits) + _LOG_2).sum(-1)


def bernoulli_kl(logits: torch.Tensor) -> torch.Tensor:
    r"""KL divergence from factorised Bernoullis to the uniform prior :math:`\operatorname{Bernoulli}(\tfrac12)^J`.

    .. math::

        \mathrm{KL}(q \,\|\, p) = \sum_{j=1}^{J} \bigl(q_j \log q_j + (1 - q_j)\log(1 - q_j) + \log 2\bigr)
        = \sum_j \bigl(q_j \ell_j - \operatorname{softplus}(\ell_j) + \log 2\bigr),

    with :math:`q_j = \sigma(\ell_j)`: the second form, from the logits, is finite at any logit.
    Chapter 10.

    Args:
        logits: the logits :math:`\ell` of :math:`q`.

    Returns:
        The KL of each distribution, summed over the last (code) dimension.

    Raises:
        TypeError: if ``logits`` is not a floating tensor.
        ValueError: if it is a scalar or not finite.

    Shapes:
        ``logits``: ``(*batch, latent_dim)`` -> ``(*batch,)``.
    """
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise TypeError(f"logits must be a floating torch.Tensor (*batch, latent_dim), got {type(logits).__name__}")
    if logits.dim() == 0:
        raise ValueError("logits must have the code bits along a last dimension, got a scalar; e.g. torch.zeros(16)")
    if not torch.isfinite(logits).all():
        raise ValueError("logits must be finite")
    return _kl(logits)


class BernoulliVAE(VAE):
    """A VAE with a factorised-Bernoulli code, a Bernoulli(1/2) prior and the decoder of :class:`~lecture9.vae.VAE`.

    Encoder: an MLP ``input_dim -> hidden_dims -> latent_dim`` giving the code's logits.
    Decoder: the MLP ``latent_dim -> reversed(hidden_dims) -> input_dim`` of the Gaussian
    VAE, giving pixel logits. The noise of one code is ``latent_dim`` uniforms
    (:meth:`noise`); :meth:`elbo_terms_from_noise` turns it into the ELBO with the chosen
    encoder-gradient estimator, so :func:`lecture9.vae.elbo`,
    :func:`lecture9.vae.encoder_gradient_variance`, :func:`lecture9.vae.evaluate_bound`
    and :func:`lecture9.training.train` work unchanged.

    Args:
        input_dim: binary pixels per datapoint.
        latent_dim: bits of the code.
        hidden_dims: widths of the encoder's hidden layers (the decoder uses them reversed).
        activation: hidden nonlinearity, as in :class:`~lecture9.vae.VAE`.
        temperature: :math:`\\tau > 0` of the binary Concrete relaxation used by the
            ``"gumbel_softmax"`` and ``"straight_through"`` estimators.
        generator: random numbers for the initial weights (``None``: the global generator).

    Raises:
        TypeError, ValueError: as :class:`~lecture9.vae.VAE`; for a ``temperature`` that is
            not a finite number > 0.

    Shapes:
        ``encode``: ``(*batch, input_dim) -> (*batch, latent_dim)`` logits;
        ``decode``: ``(*batch, latent_dim) -> (*batch, input_dim)``.
    """

    def __init__(self, input_dim: int = 64, latent_dim: int = 16, hidden_dims: Sequence[int] | int = (256,),
                 activation: str = "tanh", temperature: float = DEFAULT_TEMPERATURE, *,
                 generator: torch.Generator | None = None):
        check_generator(generator)
        temperature = check_temperature(temperature)
        with torch.random.fork_rng(devices=[]):  # the layers are initialised below, from `generator`
            super().__init__(input_dim, latent_dim, hidden_dims, activation)
            self.encoder = _mlp((self.input_dim, *self.hidden_dims, self.latent_dim), activation)
        self.temperature = temperature
        self.reset_parameters(generator=generator)

    @property
    def config(self) -> dict:
        """The constructor arguments, so that ``BernoulliVAE(**model.config)`` rebuilds the architecture."""
        shared = ("input_dim", "latent_dim", "hidden_dims", "activation")
        return {**{k: v for k, v in super().config.items() if k in shared}, "temperature": self.temperature}

    def check_options(self, estimator: str, baseline, num_samples: int, batch_shape: tuple[int, ...] | None = None):
        """Validate the encoder-gradient ``estimator`` (one of :data:`ESTIMATORS`) and its ``baseline``.

        Returns the resolved baseline (``"leave_one_out"`` becomes the function). Only the
        score function takes a baseline.
        """
        if estimator == "pathwise":
            raise ValueError(
                "estimator='pathwise' has no path through a Bernoulli code (the gradient of a hard sample is zero); "
                f"use one of {ESTIMATORS}"
            )
        check_choice(estimator, ESTIMATORS, "estimator")
        resolved = _resolve_baseline(baseline, num_samples)
        if resolved is not None and estimator != "score_function":
            raise ValueError(f"baseline is only used by estimator='score_function'; pass baseline=None for {estimator!r}")
        if isinstance(resolved, torch.Tensor) and batch_shape is not None:
            check_broadcast(resolved, (num_samples, *batch_shape), "baseline", _COST_SHAPE)
        return resolved

    def noise(self, num_samples: int, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """The base noise of the codes, ``(num_samples, *batch, latent_dim)`` uniforms in (0, 1)."""
        return uniform_noise((num_samples, *x.shape[:-1], self.latent_dim), x, generator)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logits of :math:`q_\\phi(b \\mid x)`."""
        return self.encoder(x)

    def elbo_terms_from_noise(self, x: torch.Tensor, u: torch.Tensor, estimator: str, baseline):
        """``(elbo, reconstruction, kl)`` per datapoint for the uniform noise ``u``, without argument checks.

        The value of ``elbo`` is the Monte Carlo ELBO at the hard codes ``1[u < sigmoid(logits)]``
        (for ``"gumbel_softmax"``: at the relaxed codes, the objective it optimises); the
        gradient is the chosen estimator's. ``estimator="pathwise"`` (what
        :func:`lecture9.vae.evaluate_bound` asks for) differentiates the hard code as it is:
        the hard-code ELBO, with no reconstruction gradient for the encoder.
        """
        logits = self.encode(x)
        kl = _kl(logits)
        b = (u < torch.sigmoid(logits.detach())).to(u.dtype)  # exact samples of q; no gradient path
        if estimator in ("pathwise", "gumbel_softmax", "straight_through"):
            z = b
            if estimator != "pathwise":
                relaxed = torch.sigmoid((logits - (torch.log(u) - torch.log1p(-u))) / self.temperature)
                z = relaxed if estimator == "gumbel_softmax" else b + (relaxed - relaxed.detach())
            log_px = _log_bernoulli(self.decode(z), x)
            recon = log_px.squeeze(0) if len(log_px) == 1 else log_px.mean(0)
            return recon - kl, recon, kl
        if estimator == "score_function":
            log_px = _log_bernoulli(self.decode(b), x)
            log_q = -F.binary_cross_entropy_with_logits(logits.expand_as(b), b, reduction="none").sum(-1)
            surrogate = _surrogate(log_q, log_px, baseline)
        else:  # disarm: the antithetic pair, two decoder evaluations per sample
            b_anti = (1.0 - u < torch.sigmoid(logits.detach())).to(u.dtype)
            log_px = _log_bernoulli(self.decode(torch.cat([b, b_anti])), x)
            f, f_anti = log_px.chunk(2)
            weight = 0.5 * (f - f_anti).detach().unsqueeze(-1) * (1.0 - 2.0 * b_anti) * (b != b_anti).to(u.dtype)
            surrogate = (weight * torch.sigmoid(logits.detach().abs()) * logits).sum(-1)
        # value: the ELBO estimate; gradient: the decoder's own, the estimator's for the encoder, the exact KL's
        recon = log_px.mean(0) + (surrogate - surrogate.detach()).mean(0)
        return recon - kl, recon, kl

    def log_weights(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Log importance weights :math:`\\log p(x, b) - \\log q(b \\mid x)` at the hard codes of ``u``, unchecked."""
        logits = self.encode(x)
        b = (u < torch.sigmoid(logits)).to(u.dtype)
        log_q = -F.binary_cross_entropy_with_logits(logits.expand_as(b), b, reduction="none").sum(-1)
        return _log_bernoulli(self.decode(b), x) - self.latent_dim * _LOG_2 - log_q

    @torch.no_grad()
    def sample(self, num_samples: int, *, generator: torch.Generator | None = None, binary: bool = False) -> torch.Tensor:
        """Draw images: a code from the Bernoulli(1/2) prior, then the decoder's pixel probabilities (or pixels)."""
        num_samples = check_num_samples(num_samples)
        check_generator(generator)
        p = next(self.parameters())
        codes = (uniform_noise((num_samples, self.latent_dim), p, generator) < 0.5).to(p.dtype)
        probs = torch.sigmoid(self.decode(codes))
        if binary:
            return (uniform_noise(probs.shape, probs, generator) < probs).to(probs.dtype)
        return probs

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Pixel probabilities of the decoder at the most probable code, ``1[logits(x) > 0]``."""
        self.check_input(x)
        return torch.sigmoid(self.decode((self.encode(x) > 0).to(x.dtype)))


def exact_elbo(model: BernoulliVAE, x: torch.Tensor) -> torch.Tensor:
    """The ELBO of each datapoint, exactly, by enumerating the :math:`2^J` codes (differentiable).

    .. math::

        \\mathcal{L}(x) = \\sum_{b \\in \\{0,1\\}^J} q_\\phi(b \\mid x)\\, \\log p_\\theta(x \\mid b)
        - \\mathrm{KL}(q_\\phi(b \\mid x) \\,\\|\\, p(b)).

    The ground truth for the Monte Carlo ELBO and its encoder gradients; for codes of at
    most :data:`lecture9.enumeration.MAX_ENUMERATED_BITS` bits.

    Raises:
        TypeError: if ``model`` is not a :class:`BernoulliVAE` or ``x`` not a floating tensor.
        ValueError: on a code of more than 16 bits or data of the wrong width.

    Shapes:
        ``x``: ``(*batch, input_dim)`` -> ``(*batch,)``.
    """
    from .enumeration import MAX_ENUMERATED_BITS

    if not isinstance(model, BernoulliVAE):
        raise TypeError(f"model must be a BernoulliVAE, got {type(model).__name__}")
    model.check_input(x)
    bits = model.latent_dim
    if bits > MAX_ENUMERATED_BITS:
        raise ValueError(f"exact_elbo enumerates at most {MAX_ENUMERATED_BITS} code bits, the model has {bits}")
    codes = ((torch.arange(2**bits)[:, None] >> torch.arange(bits - 1, -1, -1)) & 1).to(x.dtype)  # (2^J, J)
    codes = codes.reshape((2**bits,) + (1,) * (x.dim() - 1) + (bits,))
    logits = model.encode(x)
    log_q = -F.binary_cross_entropy_with_logits(logits.expand(codes.shape[:1] + logits.shape),
                                                codes.expand(codes.shape[:1] + logits.shape), reduction="none").sum(-1)
    log_px = _log_bernoulli(model.decode(codes.expand(codes.shape[:1] + logits.shape)), x)
    return (log_q.exp() * log_px).sum(0) - _kl(logits)
