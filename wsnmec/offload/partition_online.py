"""Online partitioning with monitoring and adaptation (model ``partition``, ``wsnmec offload --model partition``).

:func:`run_partition_experiment` draws a run of frames (or takes them), applies the scenario's events,
runs the categorical learner frame by frame (decide, execute, store, train) with a drift detector that
switches to faster training after a change, runs every baseline on the same frames and returns the
per-frame monitoring table and a JSON-ready summary.

Per-frame table (long form, one row per policy and frame; every policy on every frame):
``policy``, ``frame`` (0-based), ``phase`` ("train"/"test"), ``utility`` (Q [J]), ``reference_utility``
(the exact optimum, or the best Q any policy reached on the frame), ``reference`` ("optimal" /
"best-known"), ``normalized_utility`` (reference / Q; 1.0 at the reference), ``winner`` (winning network,
-1 for baselines), ``decision_ms`` (wall time of the decision [ms], Python call overhead included),
``train_ms`` (training step after the frame [ms]), ``decision`` (option indices, comma-separated),
``latency_s`` (mean inference latency over devices [s]), ``energy_j`` (mean device energy per inference
[J]), ``utilization`` (mean over servers), ``utilization_J`` (server J's utilization rho_J clipped to 1;
0 while down), ``event`` (the events taking effect at this frame, e.g. "server-down:0", else ""),
``drift`` (the learner's detector fired at this frame), ``fast_training`` (the learner trained every frame).

Events (``--event``, repeatable; they persist from their frame on, server ids 0-based):
``FRAME:server-down:J`` (capacity of server J set to 0), ``FRAME:server-slow:J,FACTOR`` (capacity of J
multiplied by FACTOR, 0 < FACTOR), ``FRAME:bandwidth:FACTOR`` (every uplink rate multiplied by FACTOR).
"""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd

from ..errors import ParameterError, check_float, check_int
from . import partition as P
from .categorical import CategoricalDDLO

POLICY_ORDER = ("ddlo", "optimal", "coordinate-descent", "jsq-neurosurgeon", "capacity-proportional",
                "neurosurgeon", "all-to-nearest", "all-local", "random")
EVENT_KINDS = ("server-down", "server-slow", "bandwidth")
MAX_FRAMES = 1_000_000
#: Default learner settings of the partition experiment (DDLO's defaults otherwise).
PARTITION_LEARNER_DEFAULTS = {"refine": 1}


# ----------------------------------------------------------------------------------------------- events
def parse_event(text: str, frames: int, servers: int) -> dict:
    """``FRAME:server-down:J`` | ``FRAME:server-slow:J,FACTOR`` | ``FRAME:bandwidth:FACTOR`` -> dict."""
    text = str(text).strip()
    form = "FRAME:server-down:J, FRAME:server-slow:J,FACTOR or FRAME:bandwidth:FACTOR"
    m = re.fullmatch(r"(\d+):([a-z-]+):([^:]+)", text)
    if not m or m.group(2) not in EVENT_KINDS:
        raise ParameterError("--event", f"must be {form}, got {text!r}")
    frame, kind, arg = int(m.group(1)), m.group(2), m.group(3)
    if frame >= frames:
        raise ParameterError("--event", f"frame {frame} is outside the run (frames 0..{frames - 1}) in {text!r}")
    event = {"frame": frame, "kind": kind, "server": None, "factor": None, "text": text}
    try:
        if kind == "server-down":
            event["server"] = int(arg)
        elif kind == "server-slow":
            j, factor = arg.split(",")
            event["server"], event["factor"] = int(j), float(factor)
        else:
            event["factor"] = float(arg)
    except ValueError:
        raise ParameterError("--event", f"must be {form}, got {text!r}") from None
    if event["server"] is not None and not 0 <= event["server"] < servers:
        raise ParameterError("--event", f"server {event['server']} does not exist (servers 0..{servers - 1}) in {text!r}")
    if event["factor"] is not None and not (np.isfinite(event["factor"]) and event["factor"] > 0):
        raise ParameterError("--event", f"FACTOR must be a finite number > 0 in {text!r}")
    return event


def apply_events(model: P.PartitionModel, states, events) -> np.ndarray:
    """A copy of ``states`` with each event applied from its frame on."""
    out = np.array(states, dtype=np.float64, copy=True)
    D, S = model.devices, model.servers
    for ev in sorted(events, key=lambda e: e["frame"]):
        f = ev["frame"]
        if ev["kind"] == "server-down":
            out[f:, D * S + S + ev["server"]] = 0.0
        elif ev["kind"] == "server-slow":
            out[f:, D * S + S + ev["server"]] *= ev["factor"]
        else:
            out[f:, : D * S] *= ev["factor"]
    return out


# ----------------------------------------------------------------------------------------------- drift
class DriftDetector:
    """Two-window mean-shift test on a per-frame signal (the learner's normalized utility).

    Fires when the mean of the last ``recent`` values is below the mean of the ``reference`` values
    before them by more than ``threshold`` *and* by more than ``z`` standard errors of that difference
    (the reference window's standard deviation times sqrt(1/recent + 1/reference)), so that a noisy
    signal does not fire on its own noise; after firing it waits until both windows are refilled.

    Parameters
    ----------
    recent : int
        Frames in the recent window (default 20).
    reference : int
        Frames in the reference window (default 200).
    threshold : float
        Drop of the mean that counts as a change (default 0.02).
    z : float
        Standard errors the drop must also exceed (default 4).
    """

    def __init__(self, recent: int = 20, reference: int = 200, threshold: float = 0.02, z: float = 4.0):
        self.recent = check_int("recent", recent, 1)
        self.reference = check_int("reference", reference, 2)
        self.threshold = check_float("threshold", threshold, 0.0)
        self.z = check_float("z", z, 0.0)
        self._buf = np.zeros(self.recent + self.reference)
        self._n = 0

    def update(self, value: float) -> bool:
        size = self._buf.size
        self._buf[self._n % size] = value
        self._n += 1
        if self._n < size:
            return False
        idx = np.arange(self._n - size, self._n) % size
        window = self._buf[idx]
        ref = window[: self.reference]
        drop = ref.mean() - window[self.reference:].mean()
        stderr = ref.std(ddof=1) * np.sqrt(1.0 / self.recent + 1.0 / self.reference)
        if drop > self.threshold and drop > self.z * stderr:
            self._n = 0
            return True
        return False


# ----------------------------------------------------------------------------------------------- running
def _timed(fn, model, states):
    n = states.shape[0]
    dec = np.empty((n, model.devices), dtype=np.int64)
    util = np.empty(n)
    ms = np.empty(n)
    clock = time.perf_counter
    for f in range(n):
        t0 = clock()
        d, u = fn(states[f:f + 1])
        ms[f] = (clock() - t0) * 1e3
        dec[f] = d[0]
        util[f] = u[0]
    return dec, util, ms


def run_baselines(model: P.PartitionModel, states, rng: np.random.Generator, with_optimum: bool) -> dict:
    """Every baseline on every frame: name -> (decisions [F, D], costs [F], decision_ms [F])."""
    runs = {}
    for name, fn in P.PARTITION_BASELINES.items():
        if name == "optimal" and not with_optimum:
            continue
        solve = (lambda s, fn=fn: fn(model, s, rng)) if name == "random" else (lambda s, fn=fn: fn(model, s))
        runs[name] = _timed(solve, model, states)
    return runs


def run_learner(model, states, learner, *, train_frames, reference, drift: DriftDetector | None,
                boost_frames: int = 1000):
    """The learner over all frames; ``reference`` [F] (costs) feeds the drift detector.

    The learner stores and trains on the first ``train_frames`` frames (on every frame when its
    ``train_through_test`` is set, as in the DDLO/DROO codes). Returns arrays: decisions, costs, winner,
    decision_ms, train_ms, drift flags, fast-training flags.
    """
    n = states.shape[0]
    train_until = n if getattr(learner, "train_through_test", False) else train_frames
    features = model.features(states)
    dec = np.empty((n, model.devices), dtype=np.int64)
    util = np.empty(n)
    winner = np.empty(n, dtype=np.int64)
    dms = np.empty(n)
    tms = np.zeros(n)
    fired = np.zeros(n, dtype=bool)
    fast = np.zeros(n, dtype=bool)
    boost_until = -1
    clock = time.perf_counter
    for f in range(n):
        t0 = clock()
        d, u, w = learner.decide(model, features[f], states[f])
        dms[f] = (clock() - t0) * 1e3
        dec[f], util[f], winner[f] = d, u, w
        if drift is not None and drift.update(min(reference[f], u) / u):
            fired[f] = True
            boost_until = f + boost_frames
        if f < train_until:
            learner.remember(features[f], d)
            fast[f] = f <= boost_until
            interval = 1 if fast[f] else learner.train_interval
            if learner.ready() and (f + 1) % interval == 0:
                t2 = clock()
                learner.train_step()
                tms[f] = (clock() - t2) * 1e3
    return dec, util, winner, dms, tms, fired, fast


def _decision_strings(dec):
    return [",".join(map(str, row)) for row in np.asarray(dec).tolist()]


def run_partition_experiment(
    devices: int = 4,
    servers: int = 3,
    network: str = "alexnet",
    precision: str = "int8",
    frames: int = 10_000,
    networks: int = 3,
    seed: int = 0,
    events=(),
    model_params: dict | None = None,
    learner_options: dict | None = None,
    train_fraction: float = 0.8,
    drift: bool = True,
    boost_frames: int = 1000,
    baselines: bool = True,
    queueing: str = P.DEFAULT_QUEUEING,
):
    """The ``wsnmec offload --model partition`` experiment.

    Parameters
    ----------
    devices, servers, network, precision
        See :func:`wsnmec.offload.partition.partition_model`.
    frames : int
        Frames (>= 2); the first ``floor(train_fraction * frames)`` train, the rest test.
    networks : int
        K of the learner.
    seed : int
        ``SeedSequence(seed).spawn(4)``: learner, random baseline, state draws, device layout.
    events : iterable of str
        ``--event`` texts (module docstring).
    model_params : dict, optional
        Overrides of :data:`~wsnmec.offload.partition.PARTITION_DEFAULTS` (``--param``).
    learner_options : dict, optional
        Keyword arguments of :class:`~wsnmec.offload.categorical.CategoricalDDLO`
        (default ``refine=1``).
    train_fraction : float
        In (0, 1).
    drift : bool
        Run the drift detector (fast training for ``boost_frames`` frames after it fires).
    baselines : bool
        Run the baselines (the reference is then the optimum or the best of all policies).
    queueing : str
        Server model, ``batch-ps`` (default) or ``mm1`` (:data:`~wsnmec.offload.partition.QUEUEING_MODELS`).

    Returns
    -------
    table : pandas.DataFrame
        Per-frame monitoring table (module docstring).
    result : dict
        ``{"config", "test_frames", "policies": {name: {normalized_utility, decision_ms_median,
        latency_s_mean, energy_j_mean, utilization_mean}}, "events": [...], "drift_frames": [...]}``
        (JSON-ready; ``events``: per event and policy the mean normalized utility over the 1000 frames
        from the event and the next 1000, and the frames until a 100-frame mean reaches 0.99, see
        :func:`event_summary`; ``drift_frames``: where the learner's drift detector fired).
    """
    from ..seeding import check_seed

    seed = check_seed(seed)
    frames = check_int("--frames", frames, 2, MAX_FRAMES)
    networks = check_int("--networks", networks, 1)
    train_fraction = check_float("train_fraction", train_fraction, 0.0, 1.0, min_inclusive=False, max_inclusive=False)
    learner_seed, random_seed, state_seed, layout_seed = np.random.SeedSequence(seed).spawn(4)
    layout = int(layout_seed.generate_state(1)[0])
    model = P.partition_model(devices, servers, network, precision, queueing=queueing, layout_seed=layout,
                              **(model_params or {}))
    parsed = [parse_event(e, frames, model.servers) for e in events]
    states = apply_events(model, model.random_states(np.random.default_rng(state_seed), frames), parsed)
    train_frames = min(max(int(np.floor(train_fraction * frames)), 1), frames - 1)

    with_optimum = P.exact_evaluations(model) <= P.MAX_EXACT_EVALUATIONS and model.devices <= 20
    runs = run_baselines(model, states, np.random.default_rng(random_seed), with_optimum) if baselines else {}
    if with_optimum and "optimal" not in runs:
        runs["optimal"] = (*P.exact(model, states), np.zeros(frames))
    pre_reference = (np.min(np.vstack([u for _, u, _ in runs.values()]), axis=0) if runs
                     else np.full(frames, np.inf))

    opts = {**PARTITION_LEARNER_DEFAULTS, **(learner_options or {})}
    features = model.features(states[:1])
    learner = CategoricalDDLO(features.shape[1], model.devices, model.n_options, servers=model.servers,
                              networks=networks, rng=np.random.default_rng(learner_seed), **opts)
    detector = DriftDetector() if drift else None
    l_dec, l_util, l_win, l_ms, l_tms, fired, fast = run_learner(
        model, states, learner, train_frames=train_frames, reference=pre_reference, drift=detector,
        boost_frames=boost_frames)

    if with_optimum:
        reference, ref_kind = runs["optimal"][1], "optimal"
    else:
        reference, ref_kind = np.minimum(pre_reference, l_util), "best-known"

    all_runs = {"ddlo": (l_dec, l_util, l_ms)}
    all_runs.update(runs)
    phase = np.where(np.arange(frames) < train_frames, "train", "test")
    event_text = _event_texts(parsed, frames)
    learner_columns = {"winner": l_win, "train_ms": l_tms, "drift": fired, "fast_training": fast}
    parts = [
        _policy_rows(model, states, name, *all_runs[name], phase, reference, ref_kind, event_text,
                     learner_columns if name == "ddlo" else None)
        for name in POLICY_ORDER if name in all_runs
    ]
    table = pd.concat(parts, ignore_index=True)
    table["winner"] = table["winner"].astype(np.int64)

    result_events = [event_summary(table, ev) for ev in parsed]
    config = {"seed": seed, **model.config, "frames": frames, "train_frames": int(train_frames),
              "train_fraction": train_fraction, "reference": ref_kind, "events": [e["text"] for e in parsed],
              "drift_detector": None if detector is None else {"recent": detector.recent, "reference": detector.reference,
                                                               "threshold": detector.threshold, "z": detector.z,
                                                               "boost_frames": boost_frames},
              "learner": learner.config()}
    result = {"config": config, "test_frames": int(frames - train_frames), "policies": _policy_summaries(table),
              "events": result_events, "drift_frames": [int(f) for f in np.flatnonzero(fired)]}
    return table, result


def _event_texts(parsed: list[dict], frames: int) -> list[str]:
    """Per frame, the events taking effect there (their texts without the frame, space-separated; "" none)."""
    event_text = [""] * frames
    for ev in parsed:
        event_text[ev["frame"]] = (event_text[ev["frame"]] + " " + ev["text"].split(":", 1)[1]).strip()
    return event_text


def _policy_rows(model: P.PartitionModel, states, name: str, dec, util, ms, phase, reference, ref_kind: str,
                 event_text: list[str], learner_columns: dict | None) -> pd.DataFrame:
    """One policy's per-frame rows of the monitoring table (module docstring); ``learner_columns`` (the
    learner's winner, train_ms, drift and fast_training per frame) for the learner, None for a baseline."""
    frames = len(phase)
    br = model.breakdown(states, dec)
    is_l = learner_columns is not None
    part = pd.DataFrame({
        "policy": name, "frame": np.arange(frames), "phase": phase, "utility": util,
        "reference_utility": reference, "reference": ref_kind, "normalized_utility": reference / util,
        "winner": learner_columns["winner"] if is_l else -1, "decision_ms": ms,
        "train_ms": learner_columns["train_ms"] if is_l else 0.0,
        "decision": _decision_strings(dec), "latency_s": br["latency_s"], "energy_j": br["energy_j"],
        "utilization": br["utilization"].mean(axis=1),
    })
    for j in range(model.servers):
        part[f"utilization_{j}"] = br["utilization"][:, j]
    part["event"] = event_text
    part["drift"] = learner_columns["drift"] if is_l else False
    part["fast_training"] = learner_columns["fast_training"] if is_l else False
    return part


def _policy_summaries(table: pd.DataFrame) -> dict:
    """Per policy (in the table's order): means over the test frames of the normalized utility, latency
    [s], device energy [J] and utilization, and the median decision time [ms]."""
    summary = {}
    test = table[table["phase"] == "test"]
    for name, rows in test.groupby("policy", sort=False):
        summary[name] = {
            "normalized_utility": float(rows["normalized_utility"].mean()),
            "decision_ms_median": float(rows["decision_ms"].median()),
            "latency_s_mean": float(rows["latency_s"].mean()),
            "energy_j_mean": float(rows["energy_j"].mean()),
            "utilization_mean": float(rows["utilization"].mean()),
        }
    return summary


def event_summary(table: pd.DataFrame, event: dict, window: int = 1000, target: float = 0.99,
                  rolling: int = 100) -> dict:
    """Per policy: mean normalized utility over the ``window`` frames from the event and over the next
    ``window``; for each policy the first offset from which the ``rolling``-frame mean reaches ``target``
    (``recovery_frames``, None if never)."""
    f = event["frame"]
    out = {"event": event["text"], "frame": f, "policies": {}}
    for name, rows in table.groupby("policy", sort=False):
        nu = rows.sort_values("frame")["normalized_utility"].to_numpy()
        after = nu[f:f + window]
        later = nu[f + window:f + 2 * window]
        roll = pd.Series(nu[f:]).rolling(rolling).mean().to_numpy()[rolling - 1:]
        hit = np.flatnonzero(roll >= target)
        out["policies"][name] = {
            f"normalized_utility_first_{window}": float(after.mean()) if after.size else None,
            f"normalized_utility_next_{window}": float(later.mean()) if later.size else None,
            "recovery_frames": int(hit[0]) if hit.size else None,
        }
    return out
