"""First-order radio energy model.

Transmitting ``l`` bits over ``d`` metres costs the electronics energy plus an amplifier energy that grows
with ``d**2`` (free space) or ``d**4`` (multipath); receiving ``l`` bits costs the electronics energy only.
Named parameter presets follow the papers that introduced the model; every constant can be overridden.

Notes
-----
heinzelman2002 (two-ray, [1]_)::

    E_tx(l, d) = l E_elec + l eps_fs d^2     for d <= d0
               = l E_elec + l eps_mp d^4     for d >  d0,    d0 = sqrt(eps_fs / eps_mp)
    E_rx(l)    = l E_elec
    E_fuse(l)  = l E_DA        (per signal fused)

with E_elec = 50 nJ/bit, eps_fs = 10 pJ/bit/m^2, eps_mp = 0.0013 pJ/bit/m^4 (d0 ~ 87.7 m) and
E_DA = 5 nJ/bit/signal.

heinzelman2000 (one amplifier term, [2]_): E_tx(l, d) = l E_elec + l eps_amp d^2 with eps_amp = 100
pJ/bit/m^2; it is represented here as eps_fs = eps_amp, eps_mp = 0 and d0 = inf.

References
----------
.. [1] W. B. Heinzelman, A. P. Chandrakasan, H. Balakrishnan, "An application-specific protocol
   architecture for wireless microsensor networks", IEEE Trans. Wireless Commun. 1(4), 2002.
.. [2] W. R. Heinzelman, A. Chandrakasan, H. Balakrishnan, "Energy-efficient communication protocol for
   wireless microsensor networks", Proc. HICSS, 2000.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from numba import njit

from ..errors import ParameterError, check_float

#: Named parameter sets of the first-order radio model (SI units: J/bit, J/bit/m^2, J/bit/m^4).
RADIO_PRESETS: dict[str, dict[str, float]] = {
    "heinzelman2002": {
        "e_elec": 50e-9,  # [J/bit]
        "eps_fs": 10e-12,  # [J/bit/m^2]
        "eps_mp": 0.0013e-12,  # [J/bit/m^4]
        "e_da": 5e-9,  # [J/bit/signal]
    },
    "heinzelman2000": {
        "e_elec": 50e-9,  # [J/bit]
        "eps_fs": 100e-12,  # eps_amp [J/bit/m^2]
        "eps_mp": 0.0,  # no multipath term
        "e_da": 5e-9,  # [J/bit/signal]
    },
}


@dataclass(frozen=True)
class RadioModel:
    """Constants of the first-order radio model.

    Parameters
    ----------
    e_elec : float
        Electronics energy per bit, spent by transmitter and receiver [J/bit].
    eps_fs : float
        Free-space amplifier energy [J/bit/m^2].
    eps_mp : float
        Multipath amplifier energy [J/bit/m^4]; 0 disables the multipath branch.
    e_da : float
        Data-aggregation (fusion) energy [J/bit/signal].
    d0 : float
        Crossover distance [m]; ``sqrt(eps_fs / eps_mp)`` unless given, ``inf`` when ``eps_mp == 0``.
    name : str
        The preset it came from, or ``"custom"``.
    """

    e_elec: float
    eps_fs: float
    eps_mp: float
    e_da: float
    d0: float
    name: str = "custom"

    def tx_energy(self, bits, distance):
        """Energy to transmit ``bits`` over ``distance`` [J]; ``distance`` in [m]. Broadcasts."""
        bits = np.asarray(bits, dtype=np.float64)
        distance = np.asarray(distance, dtype=np.float64)
        amp = np.where(distance <= self.d0, self.eps_fs * distance**2, self.eps_mp * distance**4)
        out = bits * self.e_elec + bits * amp
        return float(out) if out.ndim == 0 else out

    def rx_energy(self, bits):
        """Energy to receive ``bits`` [J]."""
        out = np.asarray(bits, dtype=np.float64) * self.e_elec
        return float(out) if out.ndim == 0 else out

    def fusion_energy(self, bits, signals=1):
        """Energy to fuse ``signals`` signals of ``bits`` bits each [J]."""
        out = np.asarray(bits, dtype=np.float64) * self.e_da * np.asarray(signals, dtype=np.float64)
        return float(out) if out.ndim == 0 else out

    def as_dict(self) -> dict:
        return asdict(self)


def radio_model(preset: str = "heinzelman2002", **overrides: float) -> RadioModel:
    """Build a :class:`RadioModel` from a named preset with optional overrides.

    Parameters
    ----------
    preset : str
        One of :data:`RADIO_PRESETS` (``heinzelman2002``, ``heinzelman2000``).
    **overrides : float
        Any of ``e_elec`` [J/bit], ``eps_fs`` [J/bit/m^2], ``eps_mp`` [J/bit/m^4], ``e_da``
        [J/bit/signal], ``d0`` [m]. ``d0`` is recomputed from the amplifier constants unless given.

    Raises
    ------
    ParameterError
        For an unknown preset (the message lists the valid names), an unknown override or a negative
        or non-finite constant.
    """
    try:
        params = dict(RADIO_PRESETS[preset])
    except KeyError:
        raise ParameterError(
            "--radio", f"unknown preset {preset!r}; valid presets: {', '.join(RADIO_PRESETS)}"
        ) from None
    allowed = {"e_elec", "eps_fs", "eps_mp", "e_da", "d0"}
    for key, value in overrides.items():
        if key not in allowed:
            raise ParameterError(key, f"is not a radio constant; allowed: {', '.join(sorted(allowed))}")
        if value is None:
            continue
        if key == "d0" and value == math.inf:  # no multipath branch
            params[key] = math.inf
        elif key == "d0":
            params[key] = check_float(key, value, 0.0, min_inclusive=False)
        else:
            params[key] = check_float(key, value, 0.0)
    if "d0" not in params:
        params["d0"] = math.sqrt(params["eps_fs"] / params["eps_mp"]) if params["eps_mp"] > 0 else math.inf
    name = preset if not any(v is not None for v in overrides.values()) else f"{preset}+custom"
    return RadioModel(name=name, **params)


@njit(cache=True, inline="always")
def tx_energy_jit(bits, distance, e_elec, eps_fs, eps_mp, d0):
    """Compiled E_tx(bits, distance) [J] (see module Notes); ``distance`` [m]."""
    if distance <= d0:
        return bits * e_elec + bits * eps_fs * distance * distance
    d2 = distance * distance
    return bits * e_elec + bits * eps_mp * d2 * d2


@njit(cache=True, inline="always")
def amplifier_energy_jit(bits, distance, eps_fs, eps_mp, d0):
    """Compiled amplifier part of E_tx [J]: ``bits * eps_fs d^2`` or ``bits * eps_mp d^4``."""
    if distance <= d0:
        return bits * eps_fs * distance * distance
    d2 = distance * distance
    return bits * eps_mp * d2 * d2
