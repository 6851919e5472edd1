"""Changing conditions of an offloading experiment: devices switched off and on, weights alternated, and
the number of active devices changed between phases (``wpmec`` only).

Events happen at fractions of the frames (frame ``floor(f * frames)``, as DROO's demos test
``i == f * n``). The model keeps its full size N; a switched-off device gets weight 0 in the state row
(it contributes nothing whatever its decision, and the learner's input masks its gain to 0), so the
learner keeps its networks across every change and the exact optimum of each frame is that of the
active devices.

Events at one frame apply in this order: ``devices`` (the first N_active devices on, the rest off),
``switch_off`` (the active device with the highest index goes off, as DROO's ``WD_off``; at least one
stays on), ``switch_on`` (the switched-off device with the lowest index comes back), ``alternate``
(every device's weight becomes the other one of ``weight_even``/``weight_odd``: DROO's alternation;
a second alternation restores the state's own weights).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ParameterError, check_float, check_int


@dataclass(frozen=True)
class Conditions:
    """A schedule of changes (fractions of the frames in [0, 1]; repeats allowed)."""

    switch_off: tuple = ()
    switch_on: tuple = ()
    alternate_weights: tuple = ()
    devices_at: tuple = field(default=())  # ((fraction, N_active), ...)

    def empty(self) -> bool:
        return not (self.switch_off or self.switch_on or self.alternate_weights or self.devices_at)

    def to_dict(self) -> dict:
        return {"switch_off": list(self.switch_off), "switch_on": list(self.switch_on),
                "alternate_weights": list(self.alternate_weights),
                "devices_at": [list(p) for p in self.devices_at]}


#: Named schedules: DROO's on/off demo and its weight alternation demo.
CONDITION_PRESETS = {
    "droo-on-off": Conditions(switch_off=(0.6, 0.65, 0.7, 0.75, 0.95, 0.95), switch_on=(0.8, 0.85, 0.9, 0.9)),
    "droo-alternate": Conditions(alternate_weights=(0.6, 0.8)),
}


def condition_preset(name: str) -> Conditions:
    """The named schedule; the error lists the valid names."""
    if name not in CONDITION_PRESETS:
        raise ParameterError("--conditions", f"unknown schedule {name!r}; valid: {', '.join(CONDITION_PRESETS)}")
    return CONDITION_PRESETS[name]


def make_conditions(switch_off=(), switch_on=(), alternate_weights=(), devices_at=(), preset=None) -> Conditions:
    """Validated :class:`Conditions` (fractions in [0, 1]); ``preset`` events come first."""
    base = condition_preset(preset) if preset else Conditions()

    def fractions(option, values):
        return tuple(check_float(option, v, 0.0, 1.0) for v in values)

    pairs = []
    for pair in devices_at:
        if len(pair) != 2:
            raise ParameterError("--devices-at", f"must be FRACTION:N, got {pair!r}")
        pairs.append((check_float("--devices-at", pair[0], 0.0, 1.0), check_int("--devices-at", pair[1], 1)))
    return Conditions(
        switch_off=base.switch_off + fractions("--switch-off", switch_off),
        switch_on=base.switch_on + fractions("--switch-on", switch_on),
        alternate_weights=base.alternate_weights + fractions("--alternate-weights", alternate_weights),
        devices_at=base.devices_at + tuple(pairs),
    )


def apply_conditions(model, states, conditions: Conditions):
    """States with the schedule applied, and the change frames.

    Parameters
    ----------
    model : OffloadModel
        A ``wpmec`` model (state rows ``[h, w]``).
    states : numpy.ndarray [S, 2N]
    conditions : Conditions

    Returns
    -------
    states : numpy.ndarray [S, 2N]
        A copy with the weights of switched-off devices 0 and alternated weights swapped.
    changes : list of dict
        One per frame at which something changed: ``frame``, ``active`` (devices on after it),
        ``events`` (list of str).
    active : numpy.ndarray [S] int
        Devices on at each frame.
    """
    if model.name != "wpmec":
        raise ParameterError("--conditions", f"changing conditions need --model wpmec, got {model.name!r}")
    n = model.n_decisions
    for frac, count in conditions.devices_at:
        if count > n:
            raise ParameterError("--devices-at", f"N_active must be <= --devices ({n}), got {count}")
    frames = states.shape[0]
    out = np.array(states, dtype=np.float64, copy=True)
    base_w = out[:, n:].copy()
    events = []
    for frac in conditions.devices_at:
        events.append((int(np.floor(frac[0] * frames)), 0, ("devices", frac[1])))
    for frac in conditions.switch_off:
        events.append((int(np.floor(frac * frames)), 1, ("off", None)))
    for frac in conditions.switch_on:
        events.append((int(np.floor(frac * frames)), 2, ("on", None)))
    for frac in conditions.alternate_weights:
        events.append((int(np.floor(frac * frames)), 3, ("alternate", None)))
    events.sort(key=lambda e: (e[0], e[1]))
    on = np.ones(n, dtype=bool)
    alternated = False
    from .wpmec import default_weights

    swapped = default_weights(n, model.config["weight_odd"], model.config["weight_even"])
    changes = []
    active = np.empty(frames, dtype=np.int64)
    start = 0
    for frame, _, (kind, arg) in [*events, (frames, 9, ("end", None))]:
        frame = min(frame, frames)
        if frame > start:
            w = swapped if alternated else base_w[start:frame]
            out[start:frame, n:] = w * on
            active[start:frame] = on.sum()
            start = frame
        if kind == "end":
            break
        if kind == "devices":
            on[:] = False
            on[:arg] = True
            desc = f"devices {arg}"
        elif kind == "off":
            idx = np.flatnonzero(on)
            if idx.size > 1:
                on[idx[-1]] = False
                desc = f"device {idx[-1]} off"
            else:
                desc = "off (ignored: one device left)"
        elif kind == "on":
            idx = np.flatnonzero(~on)
            if idx.size:
                on[idx[0]] = True
                desc = f"device {idx[0]} on"
            else:
                desc = "on (ignored: all devices on)"
        else:
            alternated = not alternated
            desc = "weights alternated" if alternated else "weights restored"
        if changes and changes[-1]["frame"] == frame:
            changes[-1]["events"].append(desc)
            changes[-1]["active"] = int(on.sum())
        else:
            changes.append({"frame": frame, "active": int(on.sum()), "events": [desc]})
    return out, changes, active


def interval_summary(table, changes, frames, window: int = 100, target: float = 0.99):
    """Per interval between changes: mean normalized utility of the learner and the recovery time.

    ``table`` holds the learner's rows (``frame``, ``normalized_utility``) for every frame. The recovery
    of an interval is the number of frames after its start until the rolling mean (``window`` frames,
    over frames since the start) is back at or above ``target``; None if it never is.
    """
    util = table.sort_values("frame")["normalized_utility"].to_numpy()
    bounds = [0, *[c["frame"] for c in changes if 0 < c["frame"] < frames], frames]
    bounds = sorted(set(bounds))
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        seg = util[a:b]
        roll = np.convolve(seg, np.ones(window), "valid") / window if seg.size >= window else np.array([])
        hit = np.flatnonzero(roll >= target)
        out.append({
            "start": int(a), "end": int(b), "normalized_utility": float(seg.mean()),
            "recovery_frames": int(hit[0] + window) if hit.size else None,
        })
    return out
