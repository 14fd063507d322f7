"""Thermal networks of buildings: 1R1C and 2R2C, solved exactly for constant inputs (pure, vectorised).

1R1C (physics-and-grid.md 3)::

    C dT_in/dt = (T_out - T_in) H + Q

2R2C: an indoor node (air, furniture, inner walls: ``C_in``) and an envelope/mass node (``C_env``) in series
between the room and the outdoor air::

    C_in  dT_in/dt  = H_ie (T_env - T_in) + Q
    C_env dT_env/dt = H_ie (T_in - T_env) + H_eo (T_out - T_env)

with ``1/H = 1/H_ie + 1/H_eo`` so that both models lose the same heat in steady state. ``Q`` is every heat
flow into the room: heating plus internal and solar gains [W].

With constant ``Q`` and ``T_out`` over an interval the equations are linear with constant coefficients; the
end state and the time integrals of the temperatures (needed for exact loss accounting) have closed forms:
a first-order exponential for 1R1C, and for 2R2C the 2x2 matrix exponential by Sylvester's formula. The 2R2C
matrix always has two distinct real negative eigenvalues (its off-diagonal entries are both positive), so the
formula never divides by zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from goflex.twin.columns import BoolArray, FloatArray, relax_factor


@dataclass(frozen=True)
class RcNetwork:
    """Per-house thermal network; 1R1C houses ignore the envelope fields.

    Attributes:
        two_node: 2R2C (True) or 1R1C.
        c_in_j_per_k: indoor node capacity [J/K] (the whole building for 1R1C).
        c_env_j_per_k: envelope node capacity [J/K].
        h_w_per_k: overall loss coefficient H [W/K] (1R1C).
        h_ie_w_per_k: indoor-envelope conductance [W/K].
        h_eo_w_per_k: envelope-outdoor conductance [W/K].
    """

    two_node: BoolArray
    c_in_j_per_k: FloatArray
    c_env_j_per_k: FloatArray
    h_w_per_k: FloatArray
    h_ie_w_per_k: FloatArray
    h_eo_w_per_k: FloatArray


@dataclass(frozen=True)
class Interval:
    """Result of one interval: end temperatures [C] and the heat lost to the outdoor air [J]."""

    t_in_c: FloatArray
    t_env_c: FloatArray
    losses_j: FloatArray


def advance(
    net: RcNetwork, t_in_c: FloatArray, t_env_c: FloatArray, *, heat_w: FloatArray, t_out_c: FloatArray, t_s: float
) -> Interval:
    """Advance the buildings by ``t_s`` seconds with constant heat into the room and outdoor temperature.

    Args:
        net: the buildings.
        t_in_c: indoor temperatures at the start [C].
        t_env_c: envelope temperatures at the start [C] (ignored by 1R1C houses, returned as ``t_in_c``).
        heat_w: heat flowing into the room (heating and gains) [W].
        t_out_c: outdoor temperature [C].
        t_s: interval [s] (>= 0).

    Returns:
        End temperatures and the heat lost to the outdoor air [J] (through ``H`` or ``H_eo``).
    """
    one_in, one_int = _one_node(net, t_in_c, heat_w=heat_w, t_out_c=t_out_c, t_s=t_s)
    two_in, two_env, env_int = _two_node(net, t_in_c, t_env_c, heat_w=heat_w, t_out_c=t_out_c, t_s=t_s)
    two = net.two_node
    losses = np.where(two, net.h_eo_w_per_k * (env_int - t_out_c * t_s), net.h_w_per_k * (one_int - t_out_c * t_s))
    t_in = np.where(two, two_in, one_in)
    return Interval(t_in_c=t_in, t_env_c=np.where(two, two_env, t_in), losses_j=losses)


def _one_node(
    net: RcNetwork, t_in_c: FloatArray, *, heat_w: FloatArray, t_out_c: FloatArray, t_s: float
) -> tuple[FloatArray, FloatArray]:
    """1R1C: end temperature [C] and ``∫ T_in dt`` [K s]."""
    rate = net.h_w_per_k / net.c_in_j_per_k
    eq = t_out_c + heat_w / net.h_w_per_k
    end = eq + (t_in_c - eq) * np.exp(-rate * t_s)
    return end, eq * t_s + (t_in_c - eq) * t_s * relax_factor(rate * t_s)


def _two_node(
    net: RcNetwork, t_in_c: FloatArray, t_env_c: FloatArray, *, heat_w: FloatArray, t_out_c: FloatArray, t_s: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """2R2C: end temperatures [C] and ``∫ T_env dt`` [K s] by Sylvester's formula for ``exp(A t)``.

    ``exp(A t) = (e1 (A - l2 I) - e2 (A - l1 I)) / (l1 - l2)`` and ``∫0^t exp(A s) ds`` the same with
    ``gi = (exp(li t) - 1) / li`` in place of ``ei = exp(li t)``.
    """
    two = net.two_node
    # 1R1C houses get harmless stand-in values here; their results are discarded by the caller
    c_in = net.c_in_j_per_k
    c_env = np.where(two, net.c_env_j_per_k, c_in)
    h_ie = np.where(two, net.h_ie_w_per_k, 2.0 * net.h_w_per_k)
    h_eo = np.where(two, net.h_eo_w_per_k, 2.0 * net.h_w_per_k)
    a11, a12 = -h_ie / c_in, h_ie / c_in
    a21, a22 = h_ie / c_env, -(h_ie + h_eo) / c_env
    mean = 0.5 * (a11 + a22)
    half_gap = np.sqrt((0.5 * (a11 - a22)) ** 2 + a12 * a21)
    l1, l2 = mean + half_gap, mean - half_gap
    env_eq = t_out_c + heat_w / h_eo
    in_eq = env_eq + heat_w / h_ie
    d_in, d_env = t_in_c - in_eq, t_env_c - env_eq
    e1, e2 = np.exp(l1 * t_s), np.exp(l2 * t_s)
    g1, g2 = t_s * relax_factor(-l1 * t_s), t_s * relax_factor(-l2 * t_s)
    # (A - l I) d for both eigenvalues
    in_l2, env_l2 = (a11 - l2) * d_in + a12 * d_env, a21 * d_in + (a22 - l2) * d_env
    in_l1, env_l1 = (a11 - l1) * d_in + a12 * d_env, a21 * d_in + (a22 - l1) * d_env
    gap = 2.0 * half_gap
    t_in_end = in_eq + (e1 * in_l2 - e2 * in_l1) / gap
    t_env_end = env_eq + (e1 * env_l2 - e2 * env_l1) / gap
    env_int = env_eq * t_s + (g1 * env_l2 - g2 * env_l1) / gap
    return t_in_end, t_env_end, env_int
