"""``wsnmec warmup``: compile (or load) ahead every numba kernel the studies and figures use.

numba compiles a kernel the first time it runs and keeps the machine code in its on-disk cache
(``@njit(cache=True)``, next to the sources in ``__pycache__`` or under ``NUMBA_CACHE_DIR``); later processes
load it. A first ``wsnmec figures --quick`` on a fresh clone therefore spends most of its time compiling,
inside its study workers, each of which may compile the same kernel again. The warm-up compiles each kernel
once, in groups spread over the local cores, by running every distinct configuration of the studies for a
few rounds (frames):

* lifetime studies: every distinct scenario of each study's quick variant (grid point; seeds and ``rounds``
  aside) for :data:`WARMUP_ROUNDS` rounds, grouped by clustering policy, plus the default scenario of
  ``wsnmec run``, and one scenario of each kind of the full variant that the quick ones lack (a kind: the
  configuration with its numbers replaced by their types, :func:`_kind_key`);
* offloading studies: likewise every distinct task of the quick variant, and one of each further kind of
  the full variant, with :data:`WARMUP_FRAMES` frames, grouped by model;
* partition studies: each section (scaling, claims, events) of the quick variant with
  :data:`WARMUP_FRAMES` frames.

The kernels' types do not depend on the sizes (node counts, rounds, frames), so the short runs compile the
same machine code as the real ones. Nothing is written but numba's cache; a second warm-up only loads it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

#: Rounds each lifetime configuration is simulated for.
WARMUP_ROUNDS = 3
#: Frames each offloading or partition configuration is run for.
WARMUP_FRAMES = 60


@dataclass(frozen=True)
class WarmupGroup:
    """Configurations warmed in one worker, one after the other.

    ``kind``: ``lifetime`` (``items`` are :class:`~wsnmec.sim.scenario.Scenario`), ``offload`` (task
    options of :func:`wsnmec.study.offload.task_arguments`) or ``partition`` (keyword arguments of
    :func:`wsnmec.offload.partition_online.run_partition_experiment`)."""

    label: str
    kind: str
    items: tuple


def _config_key(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def warmup_groups(studies: str | os.PathLike | None = None) -> list[WarmupGroup]:
    """The groups of configurations of every study file in ``studies`` (default: as ``wsnmec figures``:
    ./studies, else the repository's) and of the default ``wsnmec run``, in the order they are warmed."""
    from .clustering.registry import canonical_name
    from .sim.scenario import Scenario
    from .study.partition import load_partition_study
    from .study.runner import expand_tasks
    from .study.spec import find_studies, load_study

    lifetime: dict[str, dict[str, object]] = {}
    offload: dict[str, dict[str, dict]] = {}
    kinds: set[str] = set()  # kinds of configuration (_kind_key) already held

    def add_scenario(scenario, every: bool):
        short = scenario.replace(rounds=WARMUP_ROUNDS)
        config = short.to_config()
        kind = _kind_key(config)
        if every or kind not in kinds:
            kinds.add(kind)
            lifetime.setdefault(canonical_name(short.protocol), {}).setdefault(_config_key(config), short)

    def add_options(options, every: bool):
        short = _short_offload_options(options)
        kind = _kind_key(short)
        if every or kind not in kinds:
            kinds.add(kind)
            offload.setdefault(str(short.get("model", "mumt")), {}).setdefault(_config_key(short), short)

    default = Scenario()  # `wsnmec run` with every default
    add_scenario(default, True)
    full_specs = []
    for path in find_studies(studies):
        full = load_study(path)
        if full.kind not in ("lifetime", "offload"):  # a plug-in study kind: no kernel of wsnmec's to compile
            continue
        spec = full.variant(True)
        full_specs.append(full)
        for point in spec.points:  # every distinct configuration of the quick variant
            if getattr(spec, "kind", "lifetime") == "offload":
                add_options(spec.options(point), True)
            else:
                add_scenario(spec.scenario(point), True)
    for full in full_specs:  # the full variants' configurations of a kind the quick ones do not have
        for point in full.points:
            if getattr(full, "kind", "lifetime") == "offload":
                add_options(full.options(point), False)
            else:
                add_scenario(full.scenario(point), False)
    groups = [WarmupGroup(f"policy {name}", "lifetime", tuple(items.values())) for name, items in lifetime.items()]
    groups += [WarmupGroup(f"offload {name}", "offload", tuple(items.values())) for name, items in offload.items()]
    for path in find_studies(studies, kind="partition"):
        spec = load_partition_study(path, quick=True)
        groups.append(WarmupGroup(f"partition {spec['name']}", "partition", tuple(_partition_runs(spec))))
    # Order of work: the group of the default `wsnmec run` first (it compiles the simulator's kernels, which
    # the other built-in policies share), beside the groups that compile other kernels (offloading,
    # partition), then the other policies, largest first; so that two workers seldom compile one kernel twice.
    first = f"policy {canonical_name(default.protocol)}"

    def order(group):
        return (group.label != first, group.kind == "lifetime", -len(group.items))

    return sorted(groups, key=order)


def _kind_key(config: dict) -> str:
    """A configuration with each number replaced by its type: configurations of one kind differ only in
    numbers of the same types (sizes, energies, probabilities), which do not change the kernels' types."""
    def kind(value):
        if isinstance(value, dict):
            return {k: kind(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [kind(v) for v in value]
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return value
        return type(value).__name__

    return _config_key(kind(config))


def _short_offload_options(options: dict) -> dict:
    """An offloading task's options with at most :data:`WARMUP_FRAMES` frames."""
    short = dict(options)
    if "train_frames" in short:
        short["train_frames"] = min(int(short["train_frames"]), WARMUP_FRAMES // 2)
        short["test_frames"] = min(int(short.get("test_frames", 1000)), WARMUP_FRAMES // 2)
    else:
        short["frames"] = min(int(short.get("frames", WARMUP_FRAMES)), WARMUP_FRAMES)
    return short


def _partition_runs(spec: dict) -> list[dict]:
    """One short run of each section of a partition study (the events section with its first event)."""
    runs = []
    for name in ("scaling", "claims", "events"):
        section = spec[name]
        devices = section["devices"]
        run = {"devices": int(max(devices) if isinstance(devices, list) else devices),
               "servers": int(section["servers"]), "network": section["network"],
               "precision": section["precision"], "frames": WARMUP_FRAMES, "seed": int(spec["seed"]),
               "queueing": section["queueing"]}
        if name == "events" and section.get("events"):
            run["events"] = [f"{int(section['event_at'] * WARMUP_FRAMES)}:{text}" for text in section["events"]]
        runs.append(run)
    return runs


def kernel_states() -> dict[str, bool]:
    """Every numba kernel of wsnmec this process compiled or loaded: ``module.name`` -> whether it was
    compiled here (a cache miss) rather than loaded from the cache. Kernels called only from other kernels
    appear when they were compiled (a loaded kernel carries its callees' code)."""
    import sys

    from numba.core.dispatcher import Dispatcher

    states = {}
    for module_name, module in list(sys.modules.items()):
        if not module_name.startswith("wsnmec.") or module is None:
            continue
        for name, value in list(vars(module).items()):
            if isinstance(value, Dispatcher) and value.py_func.__module__ == module_name and value.overloads:
                states[f"{module_name}.{name}"] = bool(sum(value._cache_misses.values()))
    return states


def warm_group(group: WarmupGroup) -> dict:
    """Run every configuration of ``group`` (in this process); returns its label, the number of
    configurations, the seconds it took and the kernels it compiled or loaded (:func:`kernel_states`; not
    those an earlier group in this process did)."""
    from .threads import single_blas_thread

    start = time.perf_counter()
    before = kernel_states()
    with single_blas_thread():
        for item in group.items:
            if group.kind == "lifetime":
                from .sim.simulation import simulate

                simulate(item, seed=1, replicas=1, workers=1)
            elif group.kind == "offload":
                from .offload.online import run_experiment
                from .study.offload import task_arguments

                run_experiment(**task_arguments(item, 1))
            else:
                from .offload.partition_online import run_partition_experiment

                run_partition_experiment(**item)
    after = kernel_states()
    return {"label": group.label, "configurations": len(group.items), "seconds": time.perf_counter() - start,
            "kernels": {name: compiled for name, compiled in after.items() if name not in before or not before[name]
                        and compiled}}


def warmup(studies: str | os.PathLike | None = None, jobs: int | None = None, echo=print) -> dict:
    """Warm every group of :func:`warmup_groups` on ``jobs`` worker processes (default: the cores this
    process may use), calling ``echo`` with one line per finished group. Returns the totals:
    ``groups``, ``configurations``, ``kernels`` (names), ``compiled`` (those compiled now, the others
    loaded from the cache), ``seconds``."""
    from concurrent.futures import as_completed

    from .study.runner import ExecutorHandle, available_cores

    start = time.perf_counter()
    groups = warmup_groups(studies)
    jobs = min(len(groups), jobs or available_cores()) or 1
    kernels: dict[str, bool] = {}
    configurations = 0
    done = 0
    # the study workers' processes (wsnmec.study.runner.ExecutorHandle): each runs its groups in turn
    with ExecutorHandle(jobs=jobs) as handle:
        futures = [handle.executor.submit(warm_group, group) for group in groups]
        for future in as_completed(futures):
            result = future.result()
            done += 1
            configurations += result["configurations"]
            compiled = [name for name, was_compiled in result["kernels"].items() if was_compiled]
            for name, was_compiled in result["kernels"].items():
                kernels[name] = kernels.get(name, False) or was_compiled
            echo(f"warmup [{done}/{len(groups)}] {result['label']}: {result['configurations']} configurations, "
                 f"{result['seconds']:.1f} s, {len(compiled)} kernels compiled")
    return {"groups": len(groups), "configurations": configurations, "kernels": sorted(kernels),
            "compiled": sorted(name for name, was_compiled in kernels.items() if was_compiled),
            "seconds": time.perf_counter() - start, "studies": str(Path(studies)) if studies else None}
