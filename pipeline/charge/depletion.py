"""Closed forms of the abrupt PN junction (the independent check of :mod:`pipeline.charge.poisson`).

Depletion approximation (S. M. Sze & K. K. Ng, Physics of Semiconductor Devices, 3rd ed.,
Wiley 2007, §2.2): built-in potential V_bi = (kT/q) ln(N_A N_D / n_i²), depletion width
W = sqrt(2 ε_s (V_bi + V_R)(N_A + N_D) / (q N_A N_D)), split x_p = W N_D/(N_A+N_D) on the p side
and x_n = W N_A/(N_A+N_D) on the n side; capacitance per junction area C/A = ε_s / W.  The
majority-carrier tails at the depletion edges reduce the effective potential by 2kT/q
(Sze & Ng eq. 2.30, after D. P. Kennedy, P. C. Murley & W. Kleinfelder, IBM J. Res. Dev. 12,
399 (1968)): ``W_corrected`` uses V_bi + V_R − 2kT/q.

Units: densities cm⁻³, voltages V (V_R > 0 is reverse bias), lengths µm, temperature K.
"""

from __future__ import annotations

import numpy as np

from pipeline.errors import SpecError

Q_E = 1.602176634e-19  # C (exact, SI 2019)
K_B = 1.380649e-23  # J/K (exact, SI 2019)
EPS0 = 8.8541878128e-12  # F/m (CODATA 2018)
#: Relative permittivity of Si (Ioffe NSM archive, 11.7; Sze & Ng list 11.9: a 2 % choice).
EPS_SI = 11.7
#: Intrinsic carrier density of Si at 300 K [cm⁻³] (A. B. Sproul & M. A. Green, J. Appl. Phys.
#: 70, 846 (1991): 1.00e10; Altermatt et al. 2003 give 9.65e9 — a 4 % choice in V_bi's log).
NI_SI_300K = 1.0e10


def thermal_voltage(temperature_K: float = 300.0) -> float:
    """kT/q [V]."""
    return K_B * temperature_K / Q_E


def built_in_potential(p_doping: float, n_doping: float, *, ni: float = NI_SI_300K, temperature_K: float = 300.0) -> float:
    """V_bi [V] of an abrupt junction between N_A = ``p_doping`` and N_D = ``n_doping`` [cm⁻³]."""
    if min(p_doping, n_doping, ni) <= 0:
        raise SpecError(f"dopings {p_doping!r}, {n_doping!r} and n_i {ni!r} cm^-3 must be > 0.")
    return thermal_voltage(temperature_K) * float(np.log(p_doping * n_doping / ni**2))


def depletion_width(p_doping: float, n_doping: float, reverse_bias: float | np.ndarray, *, ni: float = NI_SI_300K,
                    temperature_K: float = 300.0, eps_r: float = EPS_SI, corrected: bool = False) -> np.ndarray:
    """W [µm] at reverse bias V_R [V] (>= −V_bi); ``corrected`` subtracts 2kT/q (module doc)."""
    v = built_in_potential(p_doping, n_doping, ni=ni, temperature_K=temperature_K) + np.asarray(reverse_bias, float)
    if corrected:
        v = v - 2 * thermal_voltage(temperature_K)
    if np.any(v <= 0):
        raise SpecError(f"reverse_bias = {reverse_bias!r} V: forward bias beyond V_bi has no depletion region.")
    n_eff = p_doping * n_doping / (p_doping + n_doping) * 1e6  # m⁻³
    return np.sqrt(2 * eps_r * EPS0 * v / (Q_E * n_eff)) * 1e6


def capacitance_per_length(width_um: np.ndarray, height_um: float, *, eps_r: float = EPS_SI) -> np.ndarray:
    """C' = ε_s h / W [F/m] of a lateral junction of height ``height_um`` and width W [µm] (parallel plate)."""
    return eps_r * EPS0 * height_um / np.asarray(width_um, float)
