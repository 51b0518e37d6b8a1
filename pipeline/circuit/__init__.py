"""Circuits: compose device S-matrices into networks (general netlists and fast meshes)."""

from pipeline.circuit.netlist import Netlist, compose

__all__ = ["Netlist", "compose"]
