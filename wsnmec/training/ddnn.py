"""Pretraining of ``ddnn``'s networks (``wsnmec train --protocol ddnn``): sampled episodes on the round
simulator, online learning across them, validation on held-out scenarios, and the model file that records
how it was made. The policy itself (features, proposals, execution) is :mod:`wsnmec.clustering.ddnn`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..clustering.ddnn import FEATURES, OBJECTIVE, DDNNPolicy, Learner
from ..learn import save_model
from ..sim.rounds import RoundLoop
from ..sim.scenario import Scenario

def sample_training_scenario(rng: np.random.Generator, rounds: int) -> dict:
    """Raw scenario values of one pretraining episode: N uniform in 50..500, a square field of side
    50..300 m, the sink at the centre, elsewhere inside, or outside the field (one third each), harvest
    none / constant / solar (half none), initial energy 0.05..0.25 J (so that episodes reach late life
    within ``rounds``), offloading local or exact, workload fusion or dnn-inference."""
    n = int(rng.integers(50, 501))
    side = float(rng.uniform(50.0, 300.0))
    where = int(rng.integers(0, 3))
    if where == 0:
        sink = (side / 2.0, side / 2.0)
    elif where == 1:
        sink = (float(rng.uniform(0.0, side)), float(rng.uniform(0.0, side)))
    else:
        sink = (float(rng.uniform(0.0, side)), side + float(rng.uniform(0.1, 1.0)) * side)
    e0 = float(rng.uniform(0.05, 0.25))
    kind = int(rng.integers(0, 4))
    if kind <= 1:
        harvest = "none"
    elif kind == 2:
        harvest = f"constant:{e0 * float(rng.uniform(1e-4, 2e-3)):.6g}"
    else:
        harvest = f"solar:{e0 * float(rng.uniform(2e-4, 4e-3)):.6g},{int(rng.integers(20, 200))}"
    return {"protocol": "ddnn", "nodes": n, "field": (side, side), "sink": sink, "e0": e0, "harvest": harvest,
            "rounds": rounds, "offload": ("local", "exact")[int(rng.integers(0, 2))],
            "workload": ("fusion", "dnn-inference")[int(rng.integers(0, 2))]}


#: Seed of the held-out validation scenarios of ``wsnmec train`` (fixed, independent of ``--seed``, so that
#: every model, the shipped one included, is validated on the same scenarios: :func:`validation_scenarios`).
VALIDATION_SEED = 20_261_203


def training_scenarios(seed: int, count: int, rounds: int) -> list[tuple[dict, int]]:
    """The ``count`` training episodes ``(raw values, run seed)`` of :func:`pretrain` with ``seed``: from
    ``default_rng(seed)``, each episode's values (:func:`sample_training_scenario`) then its run seed."""
    sampler = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        raw = sample_training_scenario(sampler, rounds)
        out.append((raw, int(sampler.integers(0, 2**62))))
    return out


def validation_scenarios(count: int, rounds: int, exclude=()) -> list[tuple[dict, int]]:
    """``count`` held-out validation scenarios ``(raw values, run seed)`` of at most ``rounds`` rounds.

    Drawn from the training distribution (:func:`sample_training_scenario`) with a generator seeded with
    :data:`VALIDATION_SEED`, so that they are the same for every model; a draw equal to one of the training
    episodes' raw values in ``exclude`` is skipped (validation scenarios are never training scenarios)."""
    sampler = np.random.default_rng(VALIDATION_SEED)
    seen = [dict(raw) for raw in exclude]
    out = []
    while len(out) < count:
        raw = sample_training_scenario(sampler, rounds)
        run_seed = int(sampler.integers(0, 2**62))
        if raw not in seen:
            out.append((raw, run_seed))
    return out


def validate(scenarios, learner: Learner | None = None, model=None) -> dict:
    """Validation metrics of frozen networks on ``scenarios`` (:func:`validation_scenarios`).

    ``learner``: these networks (not trained, no exploration); else the model file ``model`` (default
    :data:`DEFAULT_MODEL`), as ``wsnmec run --protocol ddnn`` loads it. Returns ``objective`` (the mean over
    all rounds of the best proposed candidate's J, module Notes; lower is better), ``fnd`` (the mean round
    of the first node death [rounds], a run without a death counting its last round; higher is better),
    ``deaths`` (runs with a death) and ``rounds_run``."""
    objective_sum, objective_rounds, fnds, deaths, rounds_run = 0.0, 0, [], 0, 0
    for raw, run_seed in scenarios:
        values = dict(raw)
        if learner is None and model is not None:
            values["policy_model"] = str(model)
        scenario = Scenario.from_mapping(values)
        policy = DDNNPolicy(scenario, learner=learner, train=False, explore=False)
        loop = RoundLoop(scenario, run_seed, clustering=policy)
        n, first_death, done = scenario.nodes, None, 0
        for _ in range(int(raw["rounds"])):
            alive = loop.step()
            done += 1
            if first_death is None and alive < n:
                first_death = done
            if alive == 0 and not loop.can_revive:
                break
        deaths += first_death is not None
        fnds.append(first_death if first_death is not None else done)
        objective_sum += policy.objective_sum
        objective_rounds += policy.objective_rounds
        rounds_run += done
    return {"objective": objective_sum / objective_rounds if objective_rounds else None,
            "fnd": float(np.mean(fnds)) if fnds else None, "deaths": int(deaths), "rounds_run": int(rounds_run)}


def worse_than(new: dict, reference: dict) -> list[str]:
    """What makes the validation metrics ``new`` worse than ``reference`` (both from :func:`validate`): a
    higher objective, a lower mean FND; an empty list when neither."""
    reasons = []
    if new["objective"] is not None and reference["objective"] is not None and new["objective"] > reference["objective"]:
        reasons.append(f"objective {new['objective']:.4g} vs {reference['objective']:.4g} (lower is better)")
    if new["fnd"] is not None and reference["fnd"] is not None and new["fnd"] < reference["fnd"]:
        reasons.append(f"FND {new['fnd']:.1f} vs {reference['fnd']:.1f} rounds (higher is better)")
    return reasons


def pretrain(seed: int, scenarios: int, rounds: int, *, progress=None, validation=None, validate_every=None,
             on_stage=None, **settings) -> tuple[Learner, dict]:
    """Pretrain ddnn's networks on ``scenarios`` sampled episodes of at most ``rounds`` rounds each.

    One :class:`Learner` (K networks, Adam, memory) learns online across the episodes (DDLO scheme, module
    docstring). Episode parameters come from ``default_rng(seed)`` (:func:`sample_training_scenario`), the
    initial weights from ``default_rng([seed, 1])``, and episode i runs with a seed drawn from the first
    generator. ``progress(rounds_done)`` is called after each episode. Returns the learner and a summary
    (episodes, rounds, final losses, ``stages`` and, with ``validation``, ``validation_final``: the
    trained networks' :func:`validate` metrics).

    Training is cut into stages of ``validate_every`` episodes (default: all of them, one stage); each stage
    records ``loss`` (the mean binary cross-entropy of its Adam steps, over steps and networks; None when
    the memory held less than a batch), ``train_steps``, ``train_objective`` (the mean best proposed J of
    its training rounds, exploration included) and, with ``validation`` (a list of
    :func:`validation_scenarios`), ``validation_objective`` and ``validation_fnd`` [rounds] of the networks
    at the stage's end (:func:`validate`). ``on_stage(record)`` is called after each stage.
    """
    learner = Learner.new(np.random.default_rng([seed, 1]), **settings)
    validate_every = scenarios if not validate_every else int(validate_every)
    total_rounds = 0
    episodes, stages = [], []
    stage = {"loss_sum": 0.0, "steps": 0, "objective_sum": 0.0, "objective_rounds": 0, "first": 1}
    policy, checked = None, None
    for index, (raw, episode_seed) in enumerate(training_scenarios(seed, scenarios, rounds)):
        scenario = Scenario.from_mapping(raw)
        policy = DDNNPolicy(scenario, learner=learner, train=True, explore=True)
        loop = RoundLoop(scenario, episode_seed, clustering=policy)
        done, _ = loop.run(rounds)
        total_rounds += done
        episodes.append({"nodes": raw["nodes"], "side_m": raw["field"][0], "rounds": done})
        stage["loss_sum"] += policy.loss_sum
        stage["steps"] += policy.loss_steps
        stage["objective_sum"] += policy.objective_sum
        stage["objective_rounds"] += policy.objective_rounds
        if progress is not None:
            progress(done)
        if (index + 1) % validate_every == 0 or index + 1 == scenarios:
            record = {"stage": len(stages) + 1, "episodes": [stage["first"], index + 1],
                      "loss": stage["loss_sum"] / stage["steps"] if stage["steps"] else None,
                      "train_steps": stage["steps"],
                      "train_objective": (stage["objective_sum"] / stage["objective_rounds"]
                                          if stage["objective_rounds"] else None)}
            if validation:
                checked = validate(validation, learner=learner)
                record["validation_objective"], record["validation_fnd"] = checked["objective"], checked["fnd"]
            stages.append(record)
            if on_stage is not None:
                on_stage(record)
            stage = {"loss_sum": 0.0, "steps": 0, "objective_sum": 0.0, "objective_rounds": 0, "first": index + 2}
    losses = None if policy is None else policy.last_losses
    summary = {"episodes": scenarios, "rounds_run": total_rounds, "rows_stored": int(learner.memory.stored),
               "final_losses": None if losses is None else [float(v) for v in losses], "stages": stages}
    if checked is not None:
        summary["validation_final"] = checked  # the trained networks' :func:`validate` metrics
    return learner, summary


def save_pretrained(path, learner: Learner, *, seed: int, scenarios: int, rounds: int, command: str,
                    summary: dict) -> Path:
    """Write a pretrained learner with the metadata that reproduces it (features, settings, training
    distribution, seed and the exact command)."""
    meta = {"policy": "ddnn", "features": list(FEATURES), "objective": OBJECTIVE, "settings": learner.settings,
            "seed": int(seed), "training": {"scenarios": int(scenarios), "rounds": int(rounds),
                                             "distribution": " ".join(sample_training_scenario.__doc__
                                                                      .split("\n\n")[0].split()), **summary},
            "command": command}
    return save_model(path, learner.net, meta)
