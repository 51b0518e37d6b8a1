"""A die as a PyTorch ``autograd.Function`` and ``nn.Module`` (extra ``torch``; CPU build).

Same semantics as :mod:`pipeline.interop.jax_die`: forward — ``die.program(params)`` then
``die.infer(x)`` (noisy output readings); backward — ``die.program(params)`` then
``die.vjp(x, dy)``, the die's *in-situ* measurement of dyᵀ ∂y/∂params (noise and readings
counted on the die).  One forward pass more per step than ``insitu_gradient``.  The chip
measures no input gradient: an ``x`` that requires grad is refused.

``DieLayer(die)`` holds the parameters (weight units, ``torch.float64``) as an
``nn.Parameter``; after an optimiser step keep them realisable with
:meth:`DieLayer.project_` (the die's clip, then its ``project_params`` when it has one — what
``photoprop train`` does after every update).
"""

from __future__ import annotations

import numpy as np

from pipeline.errors import SpecError


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised where torch is absent
        raise SpecError("pipeline.interop.torch_die needs PyTorch. Fix: pip install 'photoprop[torch]' "
                        "(a CPU build is enough).") from exc
    return torch


def die_apply(die, params, x):
    """y = die(params, x) as a differentiable torch op (module doc): ``params`` (n_params,),
    ``x`` (batch, n_in) tensors; y (batch, n_out) in params' dtype."""
    return _function().apply(params, x, die)


_FN = None


def _function():
    """The ``torch.autograd.Function`` (built on first use so that torch is imported lazily)."""
    global _FN
    if _FN is not None:
        return _FN
    torch = _torch()

    class DieFunction(torch.autograd.Function):
        """forward: program + infer; backward: program + in-situ vjp (module doc)."""

        @staticmethod
        def forward(ctx, params, x, die):
            if x.requires_grad:
                raise SpecError("x requires grad: the die measures no input gradient. Fix: pass x.detach() "
                                "(a digital layer before the die cannot be trained through it).")
            p = params.detach().cpu().numpy().astype(np.float64)
            xn = x.detach().cpu().numpy().astype(np.float64)
            die.program(p)
            y = die.infer(xn)
            ctx.die, ctx.p, ctx.x = die, p, xn
            ctx.dtype, ctx.device = params.dtype, params.device
            return torch.as_tensor(np.asarray(y), dtype=params.dtype, device=params.device)

        @staticmethod
        def backward(ctx, dy):
            ctx.die.program(ctx.p)
            grad, _ = ctx.die.vjp(ctx.x, dy.detach().cpu().numpy().astype(np.float64))
            return torch.as_tensor(grad, dtype=ctx.dtype, device=ctx.device), None, None

    _FN = DieFunction
    return _FN


def die_layer(die, params: np.ndarray | None = None, *, seed: int = 0):
    """A :class:`DieLayer` (``nn.Module``) of ``die``; ``params`` None: the architecture's
    ``init_params`` from ``seed``, clipped and projected."""
    torch = _torch()

    class DieLayer(torch.nn.Module):
        """The die as a layer: ``forward(x) -> y`` with the die's parameters (module doc)."""

        def __init__(self) -> None:
            super().__init__()
            self.die = die
            p0 = params if params is not None else die.architecture.init_params(np.random.default_rng(seed))
            self.params = torch.nn.Parameter(torch.as_tensor(self._realisable(np.asarray(p0, float)),
                                                             dtype=torch.float64))

        def _realisable(self, p: np.ndarray) -> np.ndarray:
            p = self.die.architecture.clip_params(p)
            project = getattr(self.die, "project_params", None)
            return project(p) if project is not None else p

        def forward(self, x):
            return die_apply(self.die, self.params, torch.as_tensor(x, dtype=self.params.dtype))

        @torch.no_grad()
        def project_(self) -> None:
            """Parameters moved in place onto what the die can realise (module doc)."""
            self.params.copy_(torch.as_tensor(self._realisable(self.params.cpu().numpy()), dtype=self.params.dtype))

    return DieLayer()
