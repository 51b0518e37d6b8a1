"""Deliberately broken dies for the tests that show a broken method fails their check."""

from __future__ import annotations


class _Wrapped:
    def __init__(self, die):
        self._die = die

    def __getattr__(self, name):
        return getattr(self._die, name)


class FlippedVjpDie(_Wrapped):
    """A die whose backward is broken: the output gradient dy enters with its sign flipped."""

    def vjp(self, x, dy):
        return self._die.vjp(x, -dy)


class SignFlippedDie(_Wrapped):
    """A die whose in-situ gradient comes back with its sign flipped."""

    def insitu_gradient(self, x, t):
        loss, g = self._die.insitu_gradient(x, t)
        return loss, -g
