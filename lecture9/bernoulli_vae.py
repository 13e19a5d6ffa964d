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

from . import estimators
from ._validation import check_generator, check_temperature
from .enumeration import MAX_ENUMERATED_BITS, binary_codes
from .sampling import uniform_noise
from .vae import VAE

__all__ = ["ESTIMATORS", "DEFAULT_TEMPERATURE", "BernoulliVAE", "bernoulli_kl", "exact_elbo"]

#: Temperature of the binary Concrete relaxation unless another is given.
DEFAULT_TEMPERATURE = estimators.DEFAULT_TEMPERATURE
_LOG_2 = math.log(2.0)


def _bernoulli_kl_unchecked(logits: torch.Tensor) -> torch.Tensor:
    # q log q + (1 - q) log(1 - q) = q * logits - softplus(logits), with q = sigmoid(logits)
    return (torch.sigmoid(logits) * logits - F.softplus(logits) + _LOG_2).sum(-1)


def _bernoulli_log_q(logits: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return -F.binary_cross_entropy_with_logits(logits.expand_as(b), b, reduction="none").sum(-1)


def bernoulli_kl(logits: torch.Tensor) -> torch.Tensor:
    r"""KL divergence from factorised Bernoullis to the uniform prior :math:`\operatorname{Bernoulli}(\tfrac12)^J`.

    .. math::

        \mathrm{KL}(q \,\|\, p) = \sum_{j=1}^{J} \bigl(q_j \log q_j + (1 - q_j)\log(1 - q_j) + \log 2\bigr)
        = \sum_j \bigl(q_j \ell_j - \operatorname{softplus}(\ell_j) + \log 2\bigr),

    with :math:`q_j = \sigma(\ell_j)`: the second form, from the logits, is finite at any logit.
    Chapter 10.

    Raises:
        TypeError: if ``logits`` is not a floating tensor.
        ValueError: if it is a scalar or not finite.

    Shapes:
        ``logits``: ``(*batch, latent_dim)`` -> ``(*batch,)``.
    """
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise TypeError(
            f"logits must be a floating torch.Tensor (*batch, latent_dim), got {type(logits).__name__}"
        )
    if logits.dim() == 0:
        raise ValueError(
            "logits must have the code bits along a last dimension, got a scalar; e.g. torch.zeros(16)"
        )
    if not torch.isfinite(logits).all():
        raise ValueError("logits must be finite")
    return _bernoulli_kl_unchecked(logits)


class BernoulliVAE(VAE):
    r"""A VAE with a factorised-Bernoulli code, a Bernoulli(1/2) prior and the decoder of :class:`~lecture9.vae.VAE`.

    Encoder: an MLP ``input_dim -> hidden_dims -> latent_dim`` giving the code's logits; the
    noise of one code is ``latent_dim`` uniforms (:meth:`noise`). :attr:`ELBO_TERMS` turns it
    into the ELBO with each registered estimator (``temperature`` is the relaxation's), so
    :func:`lecture9.vae.elbo`, :func:`lecture9.vae.evaluate_bound` (hard codes) and
    :func:`lecture9.training.train` work unchanged.

    Raises:
        TypeError, ValueError: as :class:`~lecture9.vae.VAE`, or for a ``temperature`` that is
            not a finite number > 0.

    Shapes:
        ``encode``: ``(*batch, input_dim) -> (*batch, latent_dim)`` logits;
        ``decode``: ``(*batch, latent_dim) -> (*batch, input_dim)``.
    """

    def __init__(
        self,
        input_dim: int = 64,
        latent_dim: int = 16,
        hidden_dims: Sequence[int] | int = (256,),
        activation: str = "tanh",
        temperature: float = DEFAULT_TEMPERATURE,
        *,
        generator: torch.Generator | None = None,
    ):
        check_generator(generator)
        temperature = check_temperature(temperature)
        super().__init__(
            input_dim,
            latent_dim,
            hidden_dims,
            activation,
            generator=generator,
            encoder_outputs=latent_dim,
        )
        self.temperature = temperature

    @property
    def config(self) -> dict:
        """The constructor arguments, so that ``BernoulliVAE(**model.config)`` rebuilds the architecture."""
        shared = ("input_dim", "latent_dim", "hidden_dims", "activation")
        return {
            **{k: v for k, v in super().config.items() if k in shared},
            "temperature": self.temperature,
        }

    def noise(
        self, num_samples: int, x: torch.Tensor, generator: torch.Generator | None
    ) -> torch.Tensor:
        """The base noise of the codes, ``(num_samples, *batch, latent_dim)`` uniforms in (0, 1)."""
        return uniform_noise(
            self._noise_shape(num_samples, x, generator, self.latent_dim), x, generator
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logits of :math:`q_\\phi(b \\mid x)`."""
        return self._encode(self.check_input(x))

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`encode` without the input check (the training loop's hot path)."""
        return self.encoder(x)

    def bound_terms_from_noise(self, x: torch.Tensor, u: torch.Tensor):
        """``(elbo, reconstruction, kl)`` at the hard codes ``1[u < sigmoid(logits)]``, no checks.

        How the model is scored (:func:`lecture9.vae.evaluate_bound`, the training loop's test
        ELBO): the hard-code ELBO, with no reconstruction gradient for the encoder.
        """
        return self._codes_terms(x, u, None)

    @staticmethod
    def _hard_codes(logits: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return (u < torch.sigmoid(logits.detach())).to(
            u.dtype
        )  # exact samples of q; no gradient path

    def _codes_terms(self, x: torch.Tensor, u: torch.Tensor, code):
        """The ELBO terms with the decoder at ``code(logits, hard codes)`` (``None``: the hard codes)."""
        logits = self._encode(x)
        kl = _bernoulli_kl_unchecked(logits)
        z = b = self._hard_codes(logits, u)
        if code is not None:
            # logistic noise -logit(u): the relaxed code rounds to the hard code b
            relaxed = estimators.relaxed_bernoulli(
                logits, -(torch.log(u) - torch.log1p(-u)), self.temperature, validate_args=False
            )
            z = code(b, relaxed)
        return self._decoded_terms(z, x, kl)

    def _gumbel_softmax_terms(self, x: torch.Tensor, u: torch.Tensor, baseline):
        return self._codes_terms(x, u, lambda hard, relaxed: relaxed)

    def _straight_through_terms(self, x: torch.Tensor, u: torch.Tensor, baseline):
        return self._codes_terms(
            x,
            u,
            lambda hard, relaxed: estimators.straight_through(hard, relaxed, validate_args=False),
        )

    def _reinforce_terms(self, x: torch.Tensor, u: torch.Tensor, baseline):
        logits = self._encode(x)
        kl = _bernoulli_kl_unchecked(logits)
        b = self._hard_codes(logits, u)
        log_px = self.decoder_log_likelihood(b, x)
        recon = self.score_surrogate(_bernoulli_log_q(logits, b), log_px, baseline)
        return recon - kl, recon, kl

    def _disarm_terms(self, x: torch.Tensor, u: torch.Tensor, baseline):
        logits = self._encode(x)
        kl = _bernoulli_kl_unchecked(logits)
        b, b_anti = self._hard_codes(logits, u), self._hard_codes(logits, 1.0 - u)
        log_px = self.decoder_log_likelihood(
            torch.cat([b, b_anti]), x
        )  # two decoder evaluations per sample
        f, f_anti = log_px.chunk(2)
        grad = estimators.disarm_logit_grad(
            (f - f_anti).unsqueeze(-1), b, b_anti, logits, validate_args=False
        )
        recon = self.surrogate_reconstruction(log_px, (grad * logits).sum(-1))
        return recon - kl, recon, kl

    #: For each registered encoder-gradient estimator, the method giving the ELBO terms; the
    #: value at the hard codes (relaxed ones for ``"gumbel_softmax"``), the gradient the estimator's.
    ELBO_TERMS = {
        "score_function": _reinforce_terms,
        "gumbel_softmax": _gumbel_softmax_terms,
        "straight_through": _straight_through_terms,
        "disarm": _disarm_terms,
    }
    DISCRETE_CODE = True

    def _weighted_code(self, x: torch.Tensor, u: torch.Tensor):
        """The hard codes of ``u`` with their log prior and log q (for :meth:`log_weights`)."""
        logits = self._encode(x)
        b = self._hard_codes(logits, u)
        return b, -self.latent_dim * _LOG_2, _bernoulli_log_q(logits, b)

    def _prior_code(self, num_samples: int, p: torch.Tensor, generator) -> torch.Tensor:
        """``num_samples`` codes from the Bernoulli(1/2) prior (for :meth:`sample`)."""
        return (uniform_noise((num_samples, self.latent_dim), p, generator) < 0.5).to(p.dtype)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Pixel probabilities of the decoder at the most probable code, ``1[logits(x) > 0]``."""
        self.check_input(x)
        return torch.sigmoid(self.decode((self.encode(x) > 0).to(x.dtype)))


#: Encoder-gradient estimators of the Bernoulli VAE.
ESTIMATORS = BernoulliVAE.ESTIMATORS


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
    if not isinstance(model, BernoulliVAE):
        raise TypeError(f"model must be a BernoulliVAE, got {type(model).__name__}")
    model.check_input(x)
    bits = model.latent_dim
    if bits > MAX_ENUMERATED_BITS:
        raise ValueError(
            f"exact_elbo enumerates at most {MAX_ENUMERATED_BITS} code bits, the model has {bits}"
        )
    codes = binary_codes(bits, x.dtype)  # (2^J, J)
    codes = codes.reshape((2**bits,) + (1,) * (x.dim() - 1) + (bits,))
    logits = model.encode(x)
    log_q = -F.binary_cross_entropy_with_logits(
        logits.expand(codes.shape[:1] + logits.shape),
        codes.expand(codes.shape[:1] + logits.shape),
        reduction="none",
    ).sum(-1)
    log_px = model.decoder_log_likelihood(codes.expand(codes.shape[:1] + logits.shape), x)
    return (log_q.exp() * log_px).sum(0) - _bernoulli_kl_unchecked(logits)
