"""A die as a differentiable JAX function (extra ``interop``: ``jax``; CPU is enough).

``f = die_function(die)`` gives ``y = f(params, x)``: (batch, n_out) outputs of the die
programmed with ``params`` (weight units of its architecture, :mod:`pipeline.chip.interface`)
for inputs ``x`` (batch, n_in) in [0, 1].  It is a :func:`jax.custom_vjp`:

* forward — ``die.program(params)`` then ``die.infer(x)``: one forward pass, its noisy
  output readings (``jax.pure_callback``);
* backward — ``die.program(params)`` then ``die.vjp(x, dy)``: the die's *in-situ*
  measurement of dyᵀ ∂y/∂params (a second forward pass with the on-chip activation
  derivatives, the error light of ``dy`` sent backward, the slopes; noise and readings
  counted on the die as for :meth:`~pipeline.chip.interface.Die.insitu_gradient`).

So ``jax.grad`` of any loss of ``f(params, x)`` is what the chip measures for that loss —
one forward pass more per step than ``insitu_gradient`` (the loss needs the outputs before
the error light exists).  The chip measures no input gradient: the cotangent of ``x`` is NaN,
so a model that needs it fails loudly instead of training on zeros.

The die is stateful (noise stream, drift clock, reading count): every call takes new
readings, so do not expect two calls to agree, and keep ``jax.jit`` from replaying a
callback (each call of a jitted function runs its callbacks once).  Dtypes follow
``params`` (enable ``jax_enable_x64`` for the die's float64 numbers); the die computes in
float64.  ``vmap`` is not supported (a die takes whole batches: pass ``x`` as one batch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from pipeline.errors import SpecError


@dataclass(eq=False)  # hashed by identity: jax.jit(f) works
class DieFunction:
    """``y = self(params, x)``: the die as a JAX function with its in-situ VJP (module doc).

    ``calls``: forward and backward callbacks run so far; ``last_vjp``: the ``info`` of the
    last backward (``{"y", "readings"}``, :meth:`Die.vjp`)."""

    die: Any
    fn: Callable = field(repr=False)
    calls: dict = field(default_factory=lambda: {"forward": 0, "backward": 0})
    last_vjp: dict = field(default_factory=dict)

    def __call__(self, params, x):
        return self.fn(params, x)


def _check_die(die) -> None:
    missing = [m for m in ("program", "infer", "vjp", "architecture") if not hasattr(die, m)]
    if missing:
        raise SpecError(f"die = {type(die).__name__}: missing {missing}. Fix: pass a die from "
                        "architecture.sample_die(...) (pipeline.chip.interface.Die).")


def die_function(die) -> DieFunction:
    """The die as ``f(params, x) -> y`` with ``jax.custom_vjp`` (module doc)."""
    import jax
    import jax.numpy as jnp

    _check_die(die)
    n_out = die.architecture.n_out
    out = DieFunction(die, fn=None)

    def _infer(params, x):
        out.calls["forward"] += 1
        die.program(np.asarray(params, np.float64))
        return np.asarray(die.infer(np.asarray(x, np.float64)), params.dtype)

    def _vjp(params, x, dy):
        out.calls["backward"] += 1
        die.program(np.asarray(params, np.float64))
        grad, info = die.vjp(np.asarray(x, np.float64), np.asarray(dy, np.float64))
        out.last_vjp = info
        return np.asarray(grad, params.dtype)

    def _forward(params, x):
        params = jnp.asarray(params)
        x = jnp.asarray(x)
        if params.ndim != 1 or x.ndim != 2:
            raise SpecError(f"params shape {params.shape}, x shape {x.shape}: need a flat parameter vector and a "
                            f"(batch, n_in) batch. Fix: one die call per batch (no vmap).")
        shape = jax.ShapeDtypeStruct((x.shape[0], n_out), params.dtype)
        return jax.pure_callback(_infer, shape, params, x)

    @jax.custom_vjp
    def f(params, x):
        return _forward(params, x)

    def f_fwd(params, x):
        return _forward(params, x), (jnp.asarray(params), jnp.asarray(x))

    def f_bwd(res, dy):
        params, x = res
        grad = jax.pure_callback(_vjp, jax.ShapeDtypeStruct(params.shape, params.dtype), params, x, dy)
        return grad, jnp.full(x.shape, jnp.nan, x.dtype)  # no input gradient is measured (module doc)

    f.defvjp(f_fwd, f_bwd)
    out.fn = f
    return out
