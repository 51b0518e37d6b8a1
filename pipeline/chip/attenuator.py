"""The ``attenuator`` architecture (Ashtiani, Idjadi & Kim, Nature 651, 927 (2026)): its
network, ideal digital model and parameter initialisation, and the door to its dies.

Network.  ``n_in`` inputs + a bias channel → ``n_hidden`` opto-electronic neurons →
``n_out`` neurons (+ a bias channel into the output layer, ``output_bias``).  Parameters:
the signed weights, flat: W1 (n_hidden, n_in + 1) row-major, then W2 (n_out, n_hidden + 1)
(last column = bias).  Ideal model (normalised units, :mod:`pipeline.chip.neuron`):

    z1 = W1 [x; 1],  h = σ(z1),  z2 = W2 [h; 1],  y = σ(z2),
    L = mean_b Σ_o (y − t)²/2,  gradients by the chain rule with σ′ (numpy),

σ the nominal activation of the die's neuron kind (:func:`pipeline.chip.neuron.nominal`):
``"mzm"`` σ(z) = sin²(π/2 clip(z/fs, 0, 1)), σ′ analytic; ``"ring"`` the library ring's
through-port transmission at its operating point and design wavelength, σ′ its central
difference (:meth:`~pipeline.chip.ring_neuron.RingOperatingPoint.activation_derivative`),
so that the ideal and offline baselines train for the activation the die has.

A die of it (:meth:`AttenuatorArchitecture.sample_die`, :class:`AttenuatorDie`), by concept:

* the chip — hardware (MZI weights on balanced photodiode pairs, MZM neurons, splitter
  trees, crossings), loss budget, heaters and phase errors, programming weights into heater
  powers: :mod:`pipeline.chip.attenuator_chip`;
* what it reads — forward, two-pass backward and phase-step slope readings, on-chip
  backpropagation step by step: :mod:`pipeline.chip.attenuator_readout`;
* its calibrations — phase (heater sweeps, per-MZI weight scale), thermal crosstalk, node
  gains, and what ``lab_calibrated()`` switches on: :mod:`pipeline.chip.attenuator_calibration`
  (procedures in :mod:`~pipeline.chip.phase_calibration`,
  :mod:`~pipeline.chip.crosstalk_calibration`, :mod:`~pipeline.chip.gain_calibration`);
* the Die protocol (infer, insitu_gradient, noise-free references):
  :mod:`pipeline.chip.attenuator_die`; the die as data: :mod:`pipeline.chip.attenuator_report`;
* specs (sizes, layout with its design lengths, detectors, calibration switches):
  :mod:`pipeline.chip.attenuator_spec`.
"""

from __future__ import annotations

import numpy as np

from pipeline.chip import neuron as nr
from pipeline.chip.attenuator_calibration import lab_calibrated_spec
from pipeline.chip.attenuator_die import AttenuatorDie
from pipeline.chip.attenuator_spec import AttenuatorSpec
from pipeline.chip.attenuator_spec import check_array as _check_array
from pipeline.chip.impairments import ImpairmentSpec, impairments as _impairments
from pipeline.errors import SpecError
from pipeline.library import Library

__all__ = ["AttenuatorArchitecture", "AttenuatorDie", "AttenuatorSpec"]


class AttenuatorArchitecture:
    """The ``attenuator`` network: shapes, parameters, ideal digital model, dies."""

    name = "attenuator"

    def __init__(self, spec: AttenuatorSpec | None = None, *, library: Library | None = None,
                 **fields: object) -> None:
        """``library``: the device library of the ring neuron's nominal activation (ideal model)
        and the dies' default (None: a default ``Library()`` when first needed — the edge
        convenience; the MZM ideal model needs none)."""
        self.spec = spec if spec is not None else AttenuatorSpec(**fields)
        self.library = library
        self._nominal = None
        if spec is not None and fields:
            raise SpecError(f"pass either spec or fields {sorted(fields)}, not both. Fix: spec.model_copy(update=...).")
        s = self.spec
        self.n_in, self.n_hidden, self.n_out = s.n_in, s.n_hidden, s.n_out
        self.shape1 = (s.n_hidden, s.n_in + 1)
        self.shape2 = (s.n_out, s.n_hidden + 1)
        self.n1 = s.n_hidden * (s.n_in + 1)
        self.n_params = self.n1 + s.n_out * (s.n_hidden + 1)
        self.full_scale = s.neuron.full_scale

    def __repr__(self) -> str:
        return f"AttenuatorArchitecture(n_in={self.n_in}, n_hidden={self.n_hidden}, n_out={self.n_out})"

    def lab_calibrated(self) -> "AttenuatorArchitecture":
        """The same network with the lab's full calibration before use: per-MZI phase offset
        and P_π (heater sweeps), thermal-crosstalk matrix and node gains.  Dies of it with the
        same seed are the same fabricated chips, calibrated."""
        return AttenuatorArchitecture(lab_calibrated_spec(self.spec), library=self.library)

    @property
    def nominal(self):
        """The nominal neuron of ``spec.neuron`` (``activation(z)``, ``activation_derivative(z)``;
        :func:`pipeline.chip.neuron.nominal` at the design wavelength): the ideal model's σ."""
        if self._nominal is None:
            ns = self.spec.neuron
            self._nominal = nr.nominal(ns, None if ns.kind == "mzm" else _library(self.library))
        return self._nominal

    # -- validation ------------------------------------------------------------------------
    def check_params(self, params: object) -> np.ndarray:
        return _check_array("params", params, (self.n_params,), -1.0, 1.0,
                            f"a flat vector of {self.n_params} signed weights in [-1, 1] "
                            f"(W1 {self.shape1} then W2 {self.shape2}); use clip_params")

    def check_x(self, x: object) -> np.ndarray:
        return _check_array("x", x, (None, self.n_in), 0.0, 1.0,
                            f"(batch, {self.n_in}) features scaled to the chip's input range [0, 1]")

    def check_t(self, t: object, batch: int) -> np.ndarray:
        return _check_array("t", t, (batch, self.n_out), fix=f"(batch={batch}, n_out={self.n_out}) targets")

    def split(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(W1, W2) views of a flat parameter vector."""
        return params[:self.n1].reshape(self.shape1), params[self.n1:].reshape(self.shape2)

    # -- the Architecture protocol ---------------------------------------------------------------
    def init_params(self, rng: np.random.Generator, scheme: str = "active") -> np.ndarray:
        """Random initial parameters (weight units) that start every neuron in its active range.

        Why it matters: the activation σ(z) = sin²(π/2 · clip(z/fs, 0, 1)) is flat (σ' = 0)
        for z <= 0 and z >= fs, like the micro-disk/MZM neurons it models (Ashtiani &
        Idjadi, arXiv 2307.10179: a ReLU-like response that is zero below threshold and a
        sigmoid-like one that saturates — both flat at the ends).  A hidden neuron whose
        z1 is outside (0, fs) for every training sample gets zero gradient from every
        sample and never recovers (:meth:`dead_neurons`).  The former init (``scheme =
        "hyperplane"``: each neuron a random plane d·(x − q) = 0 through the data, |d| = 1,
        q uniform in [0.2, 0.8]^n_in; output weights ±1/√n_hidden, output biases in
        [0, 0.25]) starts half the data at z1 <= 0, and training pushes the rest over the
        edge: with it 0–5 of 8 hidden neurons end dead (moons: 2.75 on average).

        ``scheme = "active"`` (default): hidden weights w = fs · s · d / ‖d‖₁ with d
        standard normal (a random direction) and slope s uniform in [0.8, 1.0], so z1 spans
        exactly s·fs over the input box [0, 1]^n_in; the bias puts the box centre at
        z1 = c·fs with c uniform in [s/2, 1 − s/2], so z1 ∈ [0, fs] for EVERY input in the
        box (the plane's zero lies outside the data).  Output weights uniform in
        ±1/√n_hidden; each output bias sets z2 = fs/2 (the sin²'s steepest point; mid-drive
        for the ring) at the box centre: b2 = fs/2 − Σ_j w2_j σ(c_j fs), σ the nominal
        activation.  Without that output centring the output neuron itself started flat on
        some seeds (moons: 2 of 20 seeds at 50 %).

        Measured (``ideal``, default TrainConfig: 200 epochs, targets 0.2 / 0.8; test accuracy
        mean ± std (min) over init seeds 0–19; dead = hidden neurons dead after training,
        mean over the seeds (range)):

        =======  =========================  ============  ======================  ============
        dataset  hyperplane                 dead          active                  dead
        =======  =========================  ============  ======================  ============
        moons    90.5 ± 10.9 % (50.0)       2.75 (0–5)    97.3 ± 3.1 % (90.0)     0.05 (0–1)
        circles  97.5 ± 10.9 % (50.0)       2.20 (0–4)    100.0 ± 0.0 %           0.05 (0–1)
        xor      97.3 ± 10.9 % (50.0)       1.90 (0–4)    100.0 ± 0.0 %           0 (0–0)
        =======  =========================  ============  ======================  ============

        (Seeds 0–9 on moons: hyperplane 92.9 ± 6.5 % (83), active 97.0 ± 3.5 % (90).)  No neuron starts
        dead with either scheme; the hyperplane init loses them during training.  The rest of
        the active init's spread is local minima, not dead neurons: ``ideal-best`` (5
        restarts) reaches 99.1 ± 0.3 % (min 99.0) on moons and 100.0 ± 0.0 % on circles over
        init seeds 0–9.  Command: ``pytest -m slow -s tests/test_ideal_reference.py`` (about
        2.5 min on one core; ``test_init_measurement`` and
        ``test_ideal_best_reaches_97_percent_over_init_seeds`` print these numbers)."""
        nh, ni, fs = self.n_hidden, self.n_in, self.full_scale
        if scheme == "hyperplane":
            d = rng.standard_normal((nh, ni))
            d /= np.linalg.norm(d, axis=1, keepdims=True)
            q = rng.uniform(0.2, 0.8, (nh, ni))
            w1 = np.concatenate([d, np.clip(-(d * q).sum(1), -1, 1)[:, None]], 1)
            w2 = rng.uniform(-1, 1, self.shape2) / np.sqrt(nh)
            w2[:, -1] = rng.uniform(0, 0.25, self.n_out)
            return np.concatenate([w1.ravel(), w2.ravel()])
        if scheme != "active":
            raise SpecError(f"init scheme = {scheme!r}: unknown. Fix: use 'active' (default) or 'hyperplane'.")
        d = rng.standard_normal((nh, ni))
        d /= np.abs(d).sum(1, keepdims=True)
        s = rng.uniform(0.8, 1.0, nh)
        c = rng.uniform(s / 2, 1 - s / 2)
        w = fs * s[:, None] * d
        w1 = np.clip(np.concatenate([w, (fs * c - 0.5 * w.sum(1))[:, None]], 1), -1, 1)
        w2 = rng.uniform(-1, 1, self.shape2) / np.sqrt(nh)
        w2[:, -1] = np.clip(0.5 * fs - w2[:, :-1] @ self.nominal.activation(fs * c), -1, 1)
        return np.concatenate([w1.ravel(), w2.ravel()])

    def clip_params(self, params: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(params, dtype=float), -1.0, 1.0)

    def _ideal(self, params: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
        w1, w2 = self.split(self.check_params(params))
        a0 = np.hstack([self.check_x(x), np.ones((len(x), 1))])
        z1 = a0 @ w1.T
        sigma = self.nominal.activation
        a1 = np.hstack([sigma(z1), np.ones((len(x), 1))])
        z2 = a1 @ w2.T
        return {"a0": a0, "z1": z1, "a1": a1, "z2": z2, "y": sigma(z2), "w2": w2}

    def ideal_forward(self, params: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self._ideal(params, x)["y"]

    def ideal_loss_and_grad(self, params: np.ndarray, x: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
        c = self._ideal(params, x)
        t = self.check_t(t, len(c["y"]))
        e = c["y"] - t
        loss = float(0.5 * np.mean(np.sum(e * e, axis=1)))
        ds = self.nominal.activation_derivative
        d2 = e * ds(c["z2"]) / len(e)
        d1 = (d2 @ c["w2"][:, :-1]) * ds(c["z1"])
        return loss, np.concatenate([(d1.T @ c["a0"]).ravel(), (d2.T @ c["a1"]).ravel()])

    def dead_neurons(self, params: np.ndarray, x: np.ndarray) -> int:
        """Hidden neurons of the ideal model that are flat for every sample of ``x``: z1 <= 0
        or z1 >= full_scale, so σ'(z1) = 0 everywhere and no gradient can revive them."""
        z1 = self._ideal(params, x)["z1"]
        return int(np.sum(np.all((z1 <= 0) | (z1 >= self.full_scale), axis=0)))

    def sample_die(self, impairments: ImpairmentSpec | str = "realistic", seed: int = 0, *,
                   library=None) -> "AttenuatorDie":
        """One die with ``impairments`` and fabrication ``seed``, its physics from ``library``
        (a :class:`~pipeline.library.Library`).  ``library=None``: the architecture's library, else
        the edge convenience (CLI, notebooks): a default ``Library()`` (``$PHOTOPROP_CACHE`` or the
        shipped ``cache/``)."""
        return AttenuatorDie(self, _impairments(impairments), int(seed),
                             _library(library if library is not None else self.library))


def _library(library: Library | None) -> Library:
    """``library``, or the default :class:`~pipeline.library.Library` (edge convenience)."""
    return library if library is not None else Library()
