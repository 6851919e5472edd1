"""The online loop: frames in order, the learner decides, executes, stores and trains; baselines compared.

:func:`run_online` runs the DDLO learner over a sequence of states and returns one row per frame.
:func:`compare_policies` adds every baseline on the test frames and summarises each policy by its mean
normalized utility on the test frames and its median decision time; the CLI and the studies use it.

Per-frame table columns (long form, one row per policy and frame):

``policy`` (str), ``frame`` (int, 0-based), ``phase`` ("train" or "test"), ``utility`` (model unit),
``reference_utility`` (the optimum, or the best utility any policy found when the optimum is not
computed), ``reference`` ("optimal" / "best-known"), ``normalized_utility`` (1.0 at the reference),
``winner`` (index of the winning network, -1 for baselines), ``candidates`` (candidates per network in
effect for the frame: DROO's K, which adaptive K changes; -1 for baselines), ``decision_ms`` (wall time of the decision
[ms]: the K forward passes + quantization + scoring for DDLO; one solver call on one state, Python call
overhead included, for baselines), ``train_ms`` (wall time of the training step taken after the frame,
0 when none [ms]), ``decision`` (the executed decision as a string of 0/1, decision 0 first).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ..errors import ParameterError, check_float, check_int
from ..threads import with_single_blas_thread
from . import solvers
from .ddlo import DDLO, check_finite_weights
from .models import OffloadModel, normalized_utility

#: Largest n for which the online comparison computes the exact optimum by default.
DEFAULT_EXACT_LIMIT = 22

#: Largest number of frames of one experiment (``--frames``).
MAX_FRAMES = 10_000_000
#: Largest number of stored state values (frames x state length) of one experiment (8 bytes each).
MAX_STATE_VALUES = 100_000_000
#: Largest decision length n = devices x tasks the learner accepts (its output layer has n units).
MAX_LEARNER_DECISIONS = 1024

POLICY_ORDER = ("ddlo", "optimal", "coordinate-descent", "greedy", "all-local", "all-offload", "random")


@with_single_blas_thread
def run_online(
    model: OffloadModel,
    states,
    learner: DDLO,
    *,
    train_frames: int | None = None,
    optimum=None,
    progress=None,
) -> pd.DataFrame:
    """Run ``learner`` over ``states`` frame by frame (with one BLAS thread: :mod:`wsnmec.threads`).

    Frames ``0 .. train_frames-1`` are training frames (decide, store, train every ``train_interval``
    frames once the memory holds ``training_start`` entries); the remaining frames are test frames
    (decide only, unless the learner's ``train_through_test`` is set, as in the DDLO/DROO codes).
    ``optimum`` [S] (optional) gives the reference utilities. ``progress`` (optional) is called with 1
    after each frame.

    Returns the per-frame table (module docstring) for policy ``"ddlo"``.
    """
    states = model.check_states(states)
    count = states.shape[0]
    train_frames = count if train_frames is None else check_int("train_frames", train_frames, 0, count)
    features = model.features(states)
    utility = np.empty(count)
    winner = np.empty(count, dtype=np.int64)
    decision_ms = np.empty(count)
    train_ms = np.zeros(count)
    decisions = np.empty((count, model.n_decisions), dtype=np.uint8)
    k_used = np.empty(count, dtype=np.int64)
    train_until = count if learner.train_through_test else train_frames
    clock = time.perf_counter
    for f in range(count):
        k_used[f] = learner.k
        t0 = clock()
        dec, u, w = learner.decide(model, features[f], states[f])
        t1 = clock()
        decision_ms[f] = (t1 - t0) * 1e3
        utility[f] = u
        winner[f] = w
        decisions[f] = dec
        if progress is not None:
            progress(1)
        if f < train_until:
            learner.remember(features[f], dec)
            if learner.ready() and (f + 1) % learner.train_interval == 0:
                t2 = clock()
                learner.train_step()
                train_ms[f] = (clock() - t2) * 1e3
    table = pd.DataFrame(
        {
            "policy": "ddlo",
            "frame": np.arange(count),
            "phase": np.where(np.arange(count) < train_frames, "train", "test"),
            "utility": utility,
            "winner": winner,
            "candidates": k_used,
            "decision_ms": decision_ms,
            "train_ms": train_ms,
        }
    )
    if optimum is not None:
        optimum = np.asarray(optimum, dtype=np.float64)
        table["reference_utility"] = optimum
        table["reference"] = "optimal"
        table["normalized_utility"] = normalized_utility(utility, optimum, model.sense)
    table["decision"] = _decision_strings(decisions)
    return table


def _decision_strings(decisions):
    """Rows of 0/1 [S, n] as strings such as "0110"."""
    chars = (np.asarray(decisions, dtype=np.uint8) + ord("0")).astype(np.uint8)
    return [row.tobytes().decode("ascii") for row in chars]


def _timed_per_frame(solve, model, states, progress=None):
    """Run ``solve(states[i:i+1])`` per frame; return decisions, utilities, decision_ms."""
    count = states.shape[0]
    dec = np.empty((count, model.n_decisions), dtype=np.uint8)
    util = np.empty(count)
    ms = np.empty(count)
    clock = time.perf_counter
    for f in range(count):
        t0 = clock()
        d, u = solve(states[f:f + 1])
        ms[f] = (clock() - t0) * 1e3
        dec[f] = d[0]
        util[f] = u[0]
        if progress is not None:
            progress(1)
    return dec, util, ms


@with_single_blas_thread
def compare_policies(
    model: OffloadModel,
    states,
    *,
    networks: int = 3,
    seed: int = 0,
    train_fraction: float = 0.8,
    exact_limit: int = DEFAULT_EXACT_LIMIT,
    learner_options: dict | None = None,
    progress=None,
):
    """Train and test DDLO on ``states`` and compare it with every baseline on the test frames.

    The learner's small matrix products run with one BLAS thread (:mod:`wsnmec.threads`): a multithreaded
    BLAS only spins on matrices this small, and slows down several times when another process is busy.

    Parameters
    ----------
    model : OffloadModel
    states : array_like [S, F]
        Frames in order; the first ``floor(train_fraction * S)`` train, the rest test.
    networks : int
        K of the learner.
    seed : int
        Seeds the learner (child 0 of ``SeedSequence(seed)``) and the random baseline (child 1).
    train_fraction : float
        Fraction of frames used for training, in (0, 1).
    exact_limit : int
        Compute the exact optimum when n <= exact_limit; otherwise normalize by the best utility any
        policy found on the frame and report no "optimal" policy.
    learner_options : dict, optional
        Keyword arguments of :class:`~wsnmec.offload.ddlo.DDLO` (e.g. :func:`~wsnmec.offload.ddlo.
        learner_settings`); a ``networks`` key there overrides ``networks``, ``candidates="n"`` means n.
    progress : callable, optional
        ``progress(advance, total)``: called after every decision (the learner's frames, then each
        baseline's test frames) with the number of decisions made since the last call and their total.

    Returns
    -------
    table : pandas.DataFrame
        Per-frame long-form table (module docstring): DDLO on every frame, baselines on test frames.
    summary : dict
        ``{"test_frames": int, "policies": {name: {"normalized_utility", "decision_ms_median",
        "mean_objective"}}}``; ``mean_objective`` is the mean utility on the test frames in the model's
        own unit (a cost [J] for mumt and wsn-ch, a rate [bit/s] for wpmec).
    """
    states = model.check_states(states)
    count = states.shape[0]
    check_int("--frames", count, 2)
    train_fraction = check_float("train_fraction", train_fraction, 0.0, 1.0, min_inclusive=False,
                                 max_inclusive=False)
    train_frames = int(np.floor(train_fraction * count))
    train_frames = min(max(train_frames, 1), count - 1)
    test = slice(train_frames, count)
    learner_seed, random_seed = np.random.SeedSequence(seed).spawn(2)
    learner = _learner(model, states, networks, learner_seed, learner_options)

    have_optimum = model.n_decisions <= exact_limit
    runs = {}
    optimum = None
    step = None
    if progress is not None:
        total = count + (count - train_frames) * (5 + int(have_optimum))

        def step(advance: int) -> None:
            progress(advance, total)

    if have_optimum:
        _, opt_train = solvers.exact(model, states[:train_frames])
        opt_dec, opt_test, opt_ms = _timed_per_frame(lambda s: solvers.exact(model, s), model, states[test], step)
        optimum = np.concatenate([opt_train, opt_test])
        runs["optimal"] = (opt_test, opt_ms, opt_dec)
    ddlo_table = run_online(model, states, learner, train_frames=train_frames, optimum=optimum, progress=step)
    check_finite_weights(learner)

    rng = np.random.default_rng(random_seed)
    solve = {
        "coordinate-descent": lambda s: solvers.coordinate_descent(model, s),
        "greedy": lambda s: solvers.greedy(model, s),
        "all-local": lambda s: solvers.all_local(model, s),
        "all-offload": lambda s: solvers.all_offload(model, s),
        "random": lambda s: solvers.random_policy(model, s, rng),
    }
    for name, fn in solve.items():
        dec, util, ms = _timed_per_frame(fn, model, states[test], step)
        runs[name] = (util, ms, dec)

    if have_optimum:
        reference_test = optimum[test]
        reference_kind = "optimal"
    else:
        reference_test = _best_known_reference(model, ddlo_table, runs, train_frames, test)
        reference_kind = "best-known"

    frames = [ddlo_table]
    test_frames = np.arange(train_frames, count)
    for name, (util, ms, dec) in runs.items():
        frames.append(_baseline_rows(name, test_frames, util, ms, dec, reference_test, reference_kind, model.sense))
    table = pd.concat(frames, ignore_index=True)
    table["winner"] = table["winner"].astype(np.int64)
    table["candidates"] = table["candidates"].astype(np.int64)
    summary = {
        "test_frames": int(count - train_frames),
        "train_frames": int(train_frames),
        "reference": reference_kind,
        "learner": learner.config(),
        "policies": _policy_summaries(table),
    }
    return table, summary


def _learner(model: OffloadModel, states, networks: int, learner_seed, learner_options: dict | None) -> DDLO:
    """The DDLO learner of :func:`compare_policies`, seeded from ``learner_seed`` (a SeedSequence)."""
    options = dict(learner_options or {})
    networks = options.pop("networks", networks)  # learner_settings() dicts carry K
    if options.get("candidates") == "n":  # a preset's "one candidate per decision" (DROO's K = N)
        options["candidates"] = model.n_decisions
    return DDLO(model.features(states[:1]).shape[1], model.n_decisions, networks=networks,
                rng=np.random.default_rng(learner_seed), **options)


def _best_known_reference(model: OffloadModel, ddlo_table: pd.DataFrame, runs: dict, train_frames: int, test):
    """The best utility any policy found on each test frame (no optimum computed); the learner's rows of
    ``ddlo_table`` are normalized by it (in place)."""
    stacked = np.vstack([ddlo_table["utility"].to_numpy()[test]] + [u for u, _, _ in runs.values()])
    reference_test = (stacked.min(axis=0) if model.sense < 0 else stacked.max(axis=0))
    ddlo_table["reference_utility"] = np.nan
    ddlo_table.loc[ddlo_table["frame"] >= train_frames, "reference_utility"] = reference_test
    ddlo_table["reference"] = "best-known"
    ddlo_table["normalized_utility"] = normalized_utility(
        ddlo_table["utility"].to_numpy(), ddlo_table["reference_utility"].to_numpy(), model.sense
    )
    return reference_test


def _baseline_rows(name: str, test_frames, util, ms, dec, reference_test, reference_kind: str, sense) -> pd.DataFrame:
    """A baseline's per-frame rows on the test frames (module docstring's columns)."""
    return pd.DataFrame({
        "policy": name,
        "frame": test_frames,
        "phase": "test",
        "utility": util,
        "winner": -1,
        "candidates": -1,
        "decision_ms": ms,
        "train_ms": 0.0,
        "reference_utility": reference_test,
        "reference": reference_kind,
        "normalized_utility": normalized_utility(util, reference_test, sense),
        "decision": _decision_strings(dec),
    })


def _policy_summaries(table: pd.DataFrame) -> dict:
    """Per policy (in :data:`POLICY_ORDER`): mean normalized utility, median decision time [ms] and mean
    utility on the test frames."""
    summary_policies = {}
    test_rows = table[table["phase"] == "test"]
    for name in POLICY_ORDER:
        rows = test_rows[test_rows["policy"] == name]
        if rows.empty:
            continue
        summary_policies[name] = {
            "normalized_utility": float(rows["normalized_utility"].mean()),
            "decision_ms_median": float(rows["decision_ms"].median()),
            "mean_objective": float(rows["utility"].mean()),
        }
    return summary_policies


def check_finite_results(table: pd.DataFrame, result: dict) -> None:
    """Raise :class:`ParameterError` naming the quantity when a utility of the experiment is not finite.

    The model constants are bounded up front (:data:`wsnmec.offload.models.MAX_CONSTANT`), so this is the
    last line of defence: a non-finite number is never printed or written as a result."""
    from ..limits import check_finite

    for column in ("utility", "reference_utility", "normalized_utility"):
        values = table[column].to_numpy(dtype=np.float64)
        if column != "utility":  # DDLO's training frames have no reference when none is computed
            values = values[(table["phase"] == "test").to_numpy()]
        check_finite(column, values, "change the model constants (--param) or the task sizes")
    for name, row in result["policies"].items():
        for key, value in row.items():
            check_finite(f"{key} of policy {name}", [value], "change the model constants (--param)")


def _check_frames(frames, model: OffloadModel) -> int:
    """``--frames`` within [2, MAX_FRAMES] and frames x state length <= MAX_STATE_VALUES."""
    frames = check_int("--frames", frames, 2, MAX_FRAMES)
    limit = max(2, MAX_STATE_VALUES // model.n_state)
    if frames > limit:
        raise ParameterError(
            "--frames", f"must be <= {limit} for states of {model.n_state} values "
            f"(frames x state length <= {MAX_STATE_VALUES:.0e}), got {frames}"
        )
    return frames


def run_experiment(
    model: str = "mumt",
    devices: int | None = None,
    tasks: int | None = None,
    frames: int | None = None,
    networks: int = 3,
    seed: int = 0,
    dataset=None,
    model_params: dict | None = None,
    learner_options: dict | None = None,
    train_fraction: float = 0.8,
    exact_limit: int = DEFAULT_EXACT_LIMIT,
    conditions=None,
    progress=None,
):
    """The ``wsnmec offload`` experiment: build the model, get the frames, train, test and compare.

    Parameters
    ----------
    model : str
        ``"mumt"``, ``"wsn-ch"``, ``"wpmec"`` or another family of :mod:`wsnmec.offload.registry` (a plug-in's
        ``module:object``).
    devices : int, optional
        mumt: devices N; wsn-ch: cluster heads n; wpmec: devices N (each <= 1024). Default 3, or for
        wpmec with a ``dataset`` the file's N.
    tasks : int, optional
        mumt: tasks per device M (default 3, <= 1024); wsn-ch, wpmec: must be 1 (the default). The learner
        allows n = devices x tasks <= :data:`MAX_LEARNER_DECISIONS` (1024).
    frames : int, optional
        Number of frames (>= 2); default 10,000, or every sample of ``dataset``. At most
        :data:`MAX_FRAMES` and at most ``MAX_STATE_VALUES // state length`` (the states are held in
        memory: 1e8 values = 800 MB).
    networks : int
        K of the learner.
    seed : int
        Seeds the state draws (child 2 of ``SeedSequence(seed)``), the learner and the random baseline
        (children 0 and 1, see :func:`compare_policies`).
    dataset : path, optional
        A DDLO .mat file (mumt) or a DROO .mat file (wpmec): its states are the frames, in file order
        (DROO: gains with the model's weights).
    model_params : dict, optional
        Overrides of the model's constants (see :func:`wsnmec.offload.mumt.mumt_model`,
        :func:`wsnmec.offload.wsn_ch.wsn_ch_model`, :func:`wsnmec.offload.wpmec.wpmec_model`).
    learner_options : dict, optional
        Keyword arguments of :class:`~wsnmec.offload.ddlo.DDLO`.
    progress : callable, optional
        ``progress(advance, total)`` after every decision (:func:`compare_policies`).
    conditions : Conditions, optional
        Changing conditions (wpmec; :mod:`wsnmec.offload.conditions`). The result then also holds
        ``conditions`` with the change frames and, per interval between changes, the learner's mean
        normalized utility and its recovery time.

    Returns
    -------
    table : pandas.DataFrame
        Per-frame table (module docstring).
    result : dict
        ``{"config": {...}, "test_frames": int, "policies": {...}}`` (JSON-ready).
    """
    from ..seeding import check_seed

    seed = check_seed(seed)
    networks = check_int("--networks", networks, 1)
    offload_model, droo = _experiment_model(model, devices, tasks, dataset, model_params)
    config = {"seed": seed, **offload_model.config, "n_decisions": offload_model.n_decisions}
    if dataset is not None:
        states, frames = _dataset_states(offload_model, model, dataset, droo, frames)
        config["dataset"] = str(dataset)
    else:
        frames = _check_frames(10_000 if frames is None else frames, offload_model)
        state_seed = np.random.SeedSequence(seed).spawn(3)[2]
        states = offload_model.random_states(np.random.default_rng(state_seed), frames)
        config["dataset"] = None
    changes = None
    if conditions is not None and not conditions.empty():
        from .conditions import apply_conditions

        states, changes, _ = apply_conditions(offload_model, states, conditions)
    table, summary = compare_policies(
        offload_model, states, networks=networks, seed=seed, train_fraction=train_fraction,
        exact_limit=exact_limit, learner_options=learner_options, progress=progress,
    )
    config.update({
        "frames": frames,
        "train_frames": summary["train_frames"],
        "train_fraction": train_fraction,
        "exact_limit": exact_limit,
        "reference": summary["reference"],
        "learner": summary["learner"],
    })
    config = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in config.items()}
    result = {"config": config, "test_frames": summary["test_frames"], "policies": summary["policies"]}
    if changes is not None:
        from .conditions import interval_summary

        learner_rows = table[table["policy"] == "ddlo"]
        result["conditions"] = {
            **conditions.to_dict(),
            "changes": changes,
            "intervals": interval_summary(learner_rows, changes, frames)
            if "normalized_utility" in learner_rows and learner_rows["normalized_utility"].notna().all() else None,
        }
    return table, result


def _experiment_model(model: str, devices: int | None, tasks: int | None, dataset, model_params: dict | None):
    """The offloading model of :func:`run_experiment` (devices from a DROO ``dataset`` for wpmec), checked
    against the learner's :data:`MAX_LEARNER_DECISIONS`; and the DROO data set read (or None)."""
    from . import make_model
    from .registry import offload_family

    family = offload_family(model)
    if tasks is None:
        tasks = family.default_tasks
    droo = None
    if dataset is not None and family.load_dataset is not None:  # (wpmec: the DROO file fixes N)
        droo, devices = family.load_dataset(dataset, devices)
    if devices is None:
        devices = 3
    offload_model = make_model(model, devices, tasks, **(model_params or {}))
    n = offload_model.n_decisions
    if n > MAX_LEARNER_DECISIONS:
        option = "--devices x --tasks" if family.takes_tasks else "--devices"
        raise ParameterError(
            option, f"the learner allows n <= {MAX_LEARNER_DECISIONS} decisions, got n = {devices} x {tasks} = {n}"
            if family.takes_tasks else
            f"the learner allows n <= {MAX_LEARNER_DECISIONS} decisions, got {n}"
        )
    return offload_model, droo


def _dataset_states(offload_model: OffloadModel, model: str, dataset, droo, frames: int | None):
    """The first ``frames`` states of a DDLO (mumt) or DROO (wpmec) data set, in file order (default: all),
    and their number (read by the family's ``dataset_states``; ``droo``: what its ``load_dataset`` read)."""
    from .registry import dataset_families, offload_family

    family = offload_family(model)
    if family.dataset_states is None:
        raise ParameterError("--dataset", f"data sets hold {dataset_families()} states; got --model {model!r}")
    samples, all_states = family.dataset_states(offload_model, dataset, droo)
    if samples < 2:  # (else "--frames: must be an integer in [2, 1]")
        raise ParameterError("--dataset", f"must hold at least 2 frames (the first 80% train, the rest test); "
                                          f"{str(dataset)!r} holds {samples}")
    if frames is None:
        frames = samples
    frames = _check_frames(check_int("--frames", frames, 2, samples), offload_model)
    return all_states[:frames], frames
