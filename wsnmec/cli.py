"""The ``wsnmec`` command line.

Command bodies are thin: they parse options, call the library and print or write what it returns. Every
error in user input is reported as one line on stderr naming the parameter, with exit code 2 and no
traceback.
"""

from __future__ import annotations

import os
import sys
import warnings

import click

from . import __version__
from .errors import ParameterError

EXIT_BAD_INPUT = 2
#: Exit code of a true input/output failure (disk full, file too large, a file system gone read-only).
EXIT_IO_ERROR = 1


def fail(parameter: str, message: str):
    """Raise the one-line bad-input error for ``parameter``."""
    raise ParameterError(parameter, message)


def _exit(code: int):
    """``sys.exit``; ``os._exit`` when a stopped process pool left a thread Python would wait for forever."""
    if "wsnmec.study.interrupts" in sys.modules:
        sys.modules["wsnmec.study.interrupts"].exit_process(code)
    sys.exit(code)


def _printable(line: str) -> str:
    """``line`` with every character that is not printable escaped (``\\x1e``, ``\\n``, ...): a key or value
    quoted from a file may hold a control character that a terminal (or ``splitlines``) takes for a line
    break; the error stays one line."""
    if line.isprintable():
        return line
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)


class RegistryHelpOption(click.Option):
    """An option whose help a registry writes (``help_from() -> str``), asked again whenever the help is shown,
    so that what was registered after the options were made (a plug-in family) is listed."""

    def __init__(self, *args, help_from, **kwargs):
        super().__init__(*args, **kwargs)
        self.help_from = help_from

    def get_help_record(self, ctx):
        arranged, self.help = self.help, self.help_from()
        try:
            return super().get_help_record(ctx)
        finally:
            self.help = arranged  # (the text shown is never kept: what is registered may change again)


class WsnmecGroup(click.Group):
    """A click group that reports bad input on one line with exit code 2 (no usage block, no traceback)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        # Warnings of this process are held back until the command ends: shown after a success, dropped
        # beside a one-line error (a numerical warning on the way to a refusal only buries the line). Worker
        # processes of a study write their own stderr.
        one_line_error = False
        try:
            with warnings.catch_warnings(record=True) as held:
                try:
                    return self._main_reporting_errors(args, prog_name, complete_var, **extra)
                except SystemExit as exc:
                    one_line_error = exc.code not in (0, None)
                    raise
        finally:
            if not one_line_error:  # (success, or an unexpected exception: its warnings may explain it)
                for message in held:
                    warnings.showwarning(message.message, message.category, message.filename, message.lineno,
                                         message.file, message.line)

    def _main_reporting_errors(self, args, prog_name, complete_var, **extra):
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except ParameterError as exc:
            click.echo(_printable(f"Error: {exc.parameter}: {exc.message}"), err=True)
            sys.exit(EXIT_BAD_INPUT)
        except click.exceptions.NoArgsIsHelpError as exc:  # pragma: no cover - click >= 8.2
            click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
            sys.exit(EXIT_BAD_INPUT)
        except click.UsageError as exc:
            click.echo(_printable(f"Error: {exc.format_message()}".replace("\n", " ")), err=True)
            sys.exit(EXIT_BAD_INPUT)
        except click.ClickException as exc:
            click.echo(_printable(f"Error: {exc.format_message()}".replace("\n", " ")), err=True)
            _exit(exc.exit_code)
        except OSError as exc:  # a file-system failure after the checks (disk full, file too large, ...)
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(_printable(f"Error: {where}{exc.strerror or exc} (file-system error; the files finished "
                                  "before it are kept)"), err=True)
            _exit(EXIT_IO_ERROR)
        except MemoryError:
            click.echo(
                "Error: out of memory: the problem is too large for this machine "
                "(reduce --nodes, --replicas, --frames or the study's grid)",
                err=True,
            )
            sys.exit(EXIT_BAD_INPUT)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(130)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        if isinstance(rv, int):
            sys.exit(rv)
        sys.exit(0)


@click.group(cls=WsnmecGroup)
@click.version_option(__version__, prog_name="wsnmec")
def main():
    """wsnmec: WSN energy-lifetime simulation with MEC offloading."""
    # Study workers stopped on Ctrl-C (or a pool shut down at exit) leave their queues' semaphores to
    # multiprocessing's resource tracker, which unlinks them and then warns on stderr at shutdown. The
    # clean-up is complete; the warning would break the one-line contract of an interrupt. The tracker is
    # a child process started on first use, so it reads this (unless the user set PYTHONWARNINGS).
    os.environ.setdefault("PYTHONWARNINGS", "ignore:resource_tracker:UserWarning")


# --- wsnmec run (lifetime simulator) ----------------------------------------------------------------


#: Seconds a run must last before its progress bar appears (short runs show none).
PROGRESS_DELAY_S = 1.0


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def _progress_bar(enabled: bool, total: int | None):
    """A tqdm bar on stderr (or ``None``) whose ``update`` is the progress callback of ``simulate``."""
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="round", file=sys.stderr, delay=PROGRESS_DELAY_S, dynamic_ncols=True, leave=False)


#: Largest --workers / --jobs (local threads or processes).
MAX_JOBS = 1024


def _check_run_limits(scenario, replicas, workers, force, out):
    """Before any work: magnitudes that could overflow, the memory estimate, the output directory."""
    import os

    from .limits import check_magnitudes, check_memory, probe_output_dir, run_memory_estimate

    check_magnitudes(scenario)
    estimate = run_memory_estimate(scenario, replicas, workers or os.cpu_count() or 1)
    check_memory(
        estimate["total"], f"this run ({estimate['at_once']} replica(s) at once, {estimate['rows']} rows of the "
        "rounds table at most)", "--nodes x --replicas", "--nodes, --replicas, --workers or --rounds", force,
    )
    if out is not None:
        probe_output_dir(out, "--out")


def _simulate_run(scenario, seed, replicas, workers, quiet: bool, per_node: bool = False, notice: bool = True):
    """The simulation of ``wsnmec run`` (and of each protocol of ``wsnmec compare``): the compile notice
    (with ``notice``; also when stderr is not a terminal) and a progress bar on a terminal (neither when
    ``quiet``), :func:`wsnmec.sim.simulation.simulate` with one BLAS
    thread (``per_node``: also the per-node table), then the check that every energy is finite. Returns the
    :class:`~wsnmec.sim.simulation.SimulationResult`."""
    from .console import compile_notice, simulator_kernels
    from .limits import check_run_result
    from .sim.simulation import simulate
    from .threads import single_blas_thread

    compile_notice(notice and not quiet, simulator_kernels)
    # Until all nodes are dead the number of rounds is unknown: the bar then counts rounds without a total.
    total = None if scenario.rounds is None else scenario.rounds * replicas
    bar = _progress_bar(not quiet and _stderr_is_terminal(), total)
    try:
        with single_blas_thread():  # learned policies' small matrix products, in every replica thread
            result = simulate(scenario, seed, replicas, workers=workers, progress=bar.update if bar is not None else None,
                              per_node=per_node)
    finally:
        if bar is not None:
            bar.close()
    check_run_result(result)
    return result


def table_format_option(tables: str):
    """The ``--format`` option of a command whose ``--out`` writes ``tables`` (run, compare)."""
    return click.option("--format", "table_format", metavar="[parquet|csv]",
                        help=f"Format of the tables --out writes ({tables}: .parquet or .csv).  [default: parquet]")


def lifetime_threshold_option(what: str = ""):
    """The ``--lifetime-threshold`` option (run, compare); ``what`` ends its first sentence."""
    return click.option("--lifetime-threshold", metavar="PCT", help=(
        f"Also report the lifetime at PCT % dead{what}: the first round at whose end at least PCT % of the nodes "
        "are dead, PCT in (0, 100] (50 is HND, 100 LND).  [default: none]"))


def _output_options(table_format, lifetime_threshold) -> tuple[str, float | None]:
    """``--format`` and ``--lifetime-threshold`` of run and compare, validated: the table format (default
    parquet) and the percent (or None)."""
    from .errors import check_choice, check_float
    from .sim.report import TABLE_FORMATS

    table_format = "parquet" if table_format is None else check_choice("--format", table_format, TABLE_FORMATS)
    if lifetime_threshold is not None:
        lifetime_threshold = check_float("--lifetime-threshold", lifetime_threshold, 0.0, 100.0, min_inclusive=False)
    return table_format, lifetime_threshold


class LazyOptionsCommand(click.Command):
    """A command whose options are arranged on first use (parsing, help, completion) by ``options(declared)``
    from its declared options, e.g. with the scenario options of :func:`scenario_options`: the parameter table
    (:mod:`wsnmec.sim.parameters`) imports the simulator, and ``wsnmec --help`` imports neither numba nor
    numpy (README, "First runs and start-up")."""

    def __init__(self, *args, options, **kwargs):
        self._arrange = options
        self._arranged = None
        super().__init__(*args, **kwargs)

    @property
    def params(self) -> list:
        if self._arranged is None:
            self._arranged = self._arrange(self._declared)
        return self._arranged

    @params.setter
    def params(self, value):
        self._declared, self._arranged = list(value), None


def scenario_options(own: list, after: dict[str, tuple[str, ...]]) -> list:
    """The options of a command taking a scenario: one per command-line parameter of
    :data:`wsnmec.sim.parameters.SCENARIO_PARAMETERS` (its option, metavar and help, in the table's order),
    the command's ``own`` options named in ``after[parameter]`` placed after that parameter's option."""
    from .sim.parameters import SCENARIO_PARAMETERS

    own_by_name = {option.name: option for option in own}
    options = []
    for parameter in SCENARIO_PARAMETERS.values():
        if parameter.command_line:
            options.append(click.Option([parameter.option, parameter.name], metavar=parameter.shown_metavar,
                                        help=parameter.option_help))
        options += [own_by_name.pop(name) for name in after.get(parameter.name, ())]
    return list(own_by_name.values()) + options


def shared_options(command: click.Command, leave_out: tuple[str, ...]):
    """``options`` of a :class:`LazyOptionsCommand` whose own options come first, followed by the options of
    ``command`` (the same objects: the same names, help and defaults) but those in ``leave_out``."""
    return lambda own: own + [p for p in command.params if p.name not in leave_out]


@main.command("run", cls=LazyOptionsCommand, options=lambda own: scenario_options(own, after={
    "rounds": ("seed", "replicas"), "preset": ("workers", "out", "table_format", "lifetime_threshold"),
    "policy_model": ("as_json", "force")}))
@click.option("--seed", metavar="S", help="Seed (integer in [0, 2**63-1]).  [default: a fresh seed, recorded in the output]")
@click.option("--replicas", metavar="K", help="Independent replicas, 1 to 100000.  [default: 1]")
@click.option("--workers", metavar="W", help="Parallel workers for the replicas.  [default: all cores]")
@click.option("--out", "out", metavar="DIR", help="Write rounds.parquet, summary.parquet, nodes.parquet (each node's position, initial energy, death round and residual energy) and config.json into DIR.")
@table_format_option("rounds, summary, nodes")
@lifetime_threshold_option()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout instead of the summary.")
@click.option("--force", is_flag=True, help="Run even when the memory estimate exceeds the available memory.")
def run(out, as_json, seed, replicas, workers, force, table_format, lifetime_threshold, **parameters):
    """Simulate the lifetime of a clustered sensor network and summarise FND/HND/LND, the stability period
    (rounds before the first death, FND - 1, as SEP's "stability period", Smaragdakis et al. 2004), the
    lifetime at --lifetime-threshold % dead and the bits and packets delivered to the sink."""
    from .errors import check_int
    from .sim.report import run_json, summary_text, write_run
    from .sim.scenario import MAX_REPLICAS, Scenario
    from .seeding import check_seed, fresh_seed

    scenario = Scenario.from_mapping({k: v for k, v in parameters.items() if v is not None})
    seed = fresh_seed() if seed is None else check_seed(seed, "--seed")
    replicas = 1 if replicas is None else check_int("--replicas", replicas, 1, MAX_REPLICAS)
    workers = None if workers is None else check_int("--workers", workers, 1, MAX_JOBS)
    table_format, lifetime_threshold = _output_options(table_format, lifetime_threshold)
    _check_run_limits(scenario, replicas, workers, force, out)
    # the per-node table (nodes.parquet) only when it is written
    result = _simulate_run(scenario, seed, replicas, workers, quiet=as_json, per_node=out is not None)
    if out is not None:
        write_run(result, out, "--out", table_format=table_format, lifetime_threshold=lifetime_threshold)
    if as_json:
        import json

        click.echo(json.dumps(run_json(result, lifetime_threshold), allow_nan=False))
    else:
        click.echo(summary_text(result, lifetime_threshold=lifetime_threshold))


#: Options of `wsnmec run` about its own outputs, not shared with the commands that reuse its scenario options.
RUN_OUTPUT_ONLY = ("table_format", "lifetime_threshold")


# --- wsnmec compare (several protocols on the same replicas) -------------------------------------------


@main.command("compare", cls=LazyOptionsCommand, options=shared_options(
    run, ("protocol", "out", "as_json", "replicas", *RUN_OUTPUT_ONLY)))
@click.option("--protocols", metavar="P1,P2,...", required=True, help="Comma-separated clustering policies to compare, each as --protocol accepts it (a built-in name, MODULE:CLASS or an installed entry point), each at most once; the first is the reference of the paired differences.")
@click.option("--replicas", metavar="K", help="Replicas per protocol, 1 to 100000; replica i of every protocol has the same seed and deployment (paired).  [default: 30]")
@click.option("--out", "out", metavar="DIR", help="Write compare.json, compare.md, the alive-vs-round figure alive.png / alive.pdf and the tables summary (every protocol's per-replica summary) and alive (the figure's curves) into DIR.")
@table_format_option("summary, alive")
@lifetime_threshold_option(" for every protocol (a column of the table, with its interval and paired differences)")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout (means, intervals, per-replica values, every run's config) instead of the table.")
def compare(protocols, out, as_json, seed, replicas, workers, force, table_format, lifetime_threshold, **parameters):
    """Run several clustering policies on the same replicas (the same seed, hence the same deployments) and
    print one table: FND/HND/LND, delivered bits, energy efficiency [bit/J], mean round latency and mean
    utility per round (and with --lifetime-threshold the lifetime at PCT % dead), each as the mean with its
    95 % Student-t interval, and each protocol's paired difference to the first (see wsnmec.study.compare)."""
    from .errors import check_int
    from .study.compare import compare_json, compare_results, compare_text, parse_protocols, write_compare
    from .sim.scenario import MAX_REPLICAS, Scenario
    from .seeding import check_seed, fresh_seed

    names = parse_protocols(protocols, "--protocols")
    given = {k: v for k, v in parameters.items() if v is not None}
    scenarios = {name: Scenario.from_mapping({**given, "protocol": name}) for name in names}
    seed = fresh_seed() if seed is None else check_seed(seed, "--seed")
    replicas = 30 if replicas is None else check_int("--replicas", replicas, 1, MAX_REPLICAS)
    workers = None if workers is None else check_int("--workers", workers, 1, MAX_JOBS)
    table_format, lifetime_threshold = _output_options(table_format, lifetime_threshold)
    for scenario in scenarios.values():
        _check_run_limits(scenario, replicas, workers, force, out)
    results = {}
    for index, (name, scenario) in enumerate(scenarios.items()):
        if not as_json and _stderr_is_terminal():
            click.echo(f"{name}: {replicas} replicas", err=True)
        results[name] = _simulate_run(scenario, seed, replicas, workers, quiet=as_json, notice=index == 0)
    if out is not None:
        write_compare(results, seed, out, "--out", table_format=table_format, lifetime_threshold=lifetime_threshold)
    if as_json:
        import json

        click.echo(json.dumps(compare_json(results, seed, lifetime_threshold), allow_nan=False))
    else:
        click.echo(compare_text(compare_results(results, lifetime_threshold), seed))


# --- wsnmec train (learned clustering policies) -------------------------------------------------------


@main.command("train")
@click.option("--protocol", default="ddnn", show_default=True, metavar="[ddnn|ddnn-price]",
              help="Learned policy to pretrain (ddnn-price: price weights by the cross-entropy method over whole "
                   "lifetimes of its fixed training scenarios; --scenarios, --networks and the validation options "
                   "do not apply to it).")
@click.option("--out", "out", required=True, metavar="MODEL.npz", help="Model file to write.")
@click.option("--seed", metavar="S", help="Seed (integer in [0, 2**63-1]).  [default: a fresh seed, recorded in the model]")
@click.option("--scenarios", metavar="M", default="40", show_default=True, help="Sampled training scenarios (episodes).")
@click.option("--rounds", metavar="R", default=None,
              help="Rounds per episode at most.  [default: 300; ddnn-price: 5000 (every training lifetime ends "
                   "before)]")
@click.option("--networks", metavar="K", default="3", show_default=True, help="Networks proposing candidates.")
@click.option("--validation-scenarios", metavar="V", default="4", show_default=True,
              help="Held-out validation scenarios (fixed, never training ones; the same for every model), run for "
                   "R rounds by the new and the shipped model; 0: no validation.")
@click.option("--validate-every", metavar="E", default=None,
              help="Episodes per training stage (loss and validation metrics after each stage).  [default: M/4 "
                   "rounded up]")
@click.option("--generations", metavar="G", default="8", show_default=True,
              help="ddnn-price: generations of the cross-entropy search.")
@click.option("--population", metavar="P", default="12", show_default=True,
              help="ddnn-price: weight samples per generation (each run on every training scenario).")
@click.option("--jobs", metavar="J", default="1", show_default=True,
              help="ddnn-price: worker processes for the lifetimes of a generation (the same model for every J).")
@click.option("--validation-bound/--no-validation-bound", default=True, show_default=True,
              help="ddnn-price: also give each generation's fraction of the limit on the validation deployments "
                   "(FND over the deployment's lifetime bound, wsnmec bound; solved once before the search, at "
                   "most 120 s each, and cached).")
def train(protocol, out, seed, scenarios, rounds, networks, validation_scenarios, validate_every, generations,
          population, jobs, validation_bound):
    """Pretrain a learned clustering policy on sampled scenarios and save it (.npz with metadata).

    After each stage it prints the mean training loss and, on the held-out validation scenarios, the
    validation objective (mean best proposed J per round, lower is better) and mean FND [rounds]; the
    metrics go into the model's metadata (``training.stages``, ``training.validation``), and a one-line
    warning says when the new model does worse than the shipped one on the validation scenarios."""
    from pathlib import Path

    from .clustering.ddnn import DEFAULT_MODEL
    from .training.ddnn import (VALIDATION_SEED, pretrain, save_pretrained, training_scenarios, validate,
                                worse_than)
    from .training.ddnn import validation_scenarios as held_out
    from .errors import check_choice, check_int
    from .seeding import check_seed, fresh_seed

    check_choice("--protocol", protocol, ("ddnn", "ddnn-price"))
    seed = fresh_seed() if seed is None else check_seed(seed, "--seed")
    if protocol == "ddnn-price":
        return _train_price(out, seed, check_int("--generations", generations, 1, 1_000),
                            check_int("--population", population, 2, 1_000), 5000 if rounds is None else rounds,
                            check_int("--jobs", jobs, 1, 256), validation_bound)
    rounds = "300" if rounds is None else rounds
    scenarios = check_int("--scenarios", scenarios, 1, 100_000)
    rounds = check_int("--rounds", rounds, 1, 100_000)
    networks = check_int("--networks", networks, 1, 64)
    validation_count = check_int("--validation-scenarios", validation_scenarios, 0, 1_000)
    default_every = -(-scenarios // 4)  # a quarter of the episodes, rounded up
    every = default_every if validate_every is None else check_int("--validate-every", validate_every, 1, 100_000)
    if Path(out).is_dir():
        fail("--out", f"must be a file path, got the directory {out!r}")
    _check_output_file(out, "--out")
    from tqdm import tqdm

    training = [raw for raw, _ in training_scenarios(seed, scenarios, rounds)]
    validation = held_out(validation_count, rounds, exclude=training) if validation_count else []

    def stage_line(record):
        first, last = record["episodes"]
        loss = "n/a (memory below one batch)" if record["loss"] is None else f"{record['loss']:.4f}"
        line = (f"stage {record['stage']}: episodes {first}-{last}, loss {loss} ({record['train_steps']} steps), "
                f"training objective {_metric(record['train_objective'], '.4g')}")
        if validation:
            line += (f", validation objective {_metric(record['validation_objective'], '.4g')}, "
                     f"validation FND {_metric(record['validation_fnd'], '.1f')}")
        bar.write(line, file=sys.stdout)

    with tqdm(total=scenarios * rounds, unit="round", file=sys.stderr, dynamic_ncols=True, leave=False,
              disable=not _stderr_is_terminal()) as bar:
        learner, summary = pretrain(seed, scenarios, rounds, networks=networks, validation=validation,
                                    validate_every=every, on_stage=stage_line,
                                    progress=lambda done: bar.update(rounds))
    worse = []
    new = summary.pop("validation_final", None)  # the last stage's validation: the trained networks
    if validation and new is not None:
        shipped = validate(validation, model=DEFAULT_MODEL)
        worse = worse_than(new, shipped)
        summary["validation"] = {"scenarios": validation_count, "rounds": rounds, "seed": VALIDATION_SEED,
                                 "model": new, "shipped": shipped, "shipped_model": DEFAULT_MODEL.name,
                                 "worse_than_shipped": bool(worse)}
        click.echo(f"validation ({validation_count} held-out scenarios, {rounds} rounds): this model objective "
                   f"{_metric(new['objective'], '.4g')}, FND {_metric(new['fnd'], '.1f')}; shipped model objective "
                   f"{_metric(shipped['objective'], '.4g')}, FND {_metric(shipped['fnd'], '.1f')}")
    stages = (f" --validation-scenarios {validation_count} --validate-every {every}"
              if validation_count != 4 or every != default_every else "")
    command = (f"wsnmec train --protocol {protocol} --seed {seed} --scenarios {scenarios} --rounds {rounds} "
               f"--networks {networks}{stages} --out {Path(out).name}")
    save_pretrained(out, learner, seed=seed, scenarios=scenarios, rounds=rounds, command=command, summary=summary)
    click.echo(f"wrote {out}: {summary['episodes']} episodes, {summary['rounds_run']} rounds ({command})")
    if worse:
        click.echo(f"warning: the new model does worse than the shipped model on the {validation_count} validation "
                   f"scenarios: {'; '.join(worse)}", err=True)


def _train_price(out, seed: int, generations: int, population: int, rounds, jobs: int = 1,
                 validation_bound: bool = True) -> None:
    """``wsnmec train --protocol ddnn-price`` (:func:`wsnmec.training.prices.train_prices`)."""
    from pathlib import Path

    from .clustering.priced import save_price_weights
    from .training.prices import TRAINING_SCENARIOS, train_prices, validation_bounds, validation_deployments
    from .errors import check_int

    rounds = check_int("--rounds", rounds, 1, 100_000)
    if Path(out).is_dir():
        fail("--out", f"must be a file path, got the directory {out!r}")
    _check_output_file(out, "--out")
    from tqdm import tqdm

    scenarios = list(TRAINING_SCENARIOS)
    validation = validation_deployments(scenarios)
    bounds = None
    if validation_bound:
        click.echo(f"solving the lifetime bounds of the {len(validation)} validation deployments (cached after the "
                   "first time)", err=True)
        bounds = validation_bounds(validation)

    def generation_line(record):
        limit = (f", fraction of the limit {record['validation_fnd_over_bound']:.3f}"
                 if "validation_fnd_over_bound" in record else "")
        limit += f", round latency x{record['validation_latency_ratio']:.3f}"
        bar.write(f"generation {record['generation']}: training fitness of the mean {record['mean_fitness']:.4f}, "
                  f"best sample {record['best_fitness']:.4f}, median {record['median_fitness']:.4f}, validation "
                  f"fitness of the mean {record['validation_fitness']:.4f} (1 = the non-learned prices){limit}",
                  file=sys.stdout)

    with tqdm(total=generations * population, unit="sample", file=sys.stderr, dynamic_ncols=True, leave=False,
              disable=not _stderr_is_terminal()) as bar:
        result = train_prices(scenarios, seed=seed, generations=generations, population=population, rounds=rounds,
                              validation=validation, progress=bar.update, on_generation=generation_line, jobs=jobs,
                              bounds=bounds)
    command = (f"wsnmec train --protocol ddnn-price --seed {seed} --generations {generations} "
               f"--population {population}{'' if rounds == 5000 else f' --rounds {rounds}'} --out {Path(out).name}")
    meta = {"seed": int(seed), "command": command, "objective": "ddnn-price",
            "training": {"scenarios": [[dict(v, field=list(v["field"]), sink=list(v["sink"])), s] for v, s in scenarios],
                         "rounds": rounds, **{k: v for k, v in result.items() if k != "weights"}}}
    save_price_weights(out, result["weights"], meta)
    curves = Path(str(out) + ".training.csv")  # the training and validation curves, beside the model
    import pandas as pd

    from .io import atomic_path

    with atomic_path(curves) as tmp:
        pd.DataFrame(result["history"]).to_csv(tmp, index=False)
    limit = (f"; fraction of the limit on the validation deployments {result['validation_fnd_over_bound']:.3f} "
             f"(prices 1/e: {result['validation_fnd_over_bound_reference']:.3f})" if bounds else "")
    click.echo(f"wrote {out} and {curves.name}: training fitness {result['fitness']:.4f}, validation fitness "
               f"{result['validation_fitness']:.4f} (1 = the non-learned prices 1/e){limit}; round latency up to "
               f"FND x{result['validation_latency_ratio']:.3f} that of the prices 1/e ({command})")
    if result["validation_fitness"] < 1.0:
        click.echo("warning: the learned prices do worse than the non-learned prices on the validation deployments",
                   err=True)


def _metric(value, spec: str) -> str:
    """A metric for a line of text (``n/a`` when there is none)."""
    return "n/a" if value is None else format(value, spec)


# --- wsnmec bound (the lifetime limit) ------------------------------------------------------------------


@main.command("bound", cls=LazyOptionsCommand, options=shared_options(run, (
    "out", "as_json", "replicas", "workers", "seed", "force", *RUN_OUTPUT_ONLY)))
@click.option("--seed", metavar="S", help="Seed (integer in [0, 2**63-1]) of the deployments, as in `wsnmec run`.  [default: a fresh seed, recorded in the output]")
@click.option("--replicas", metavar="K", help="Deployments (replica i is replica i of `wsnmec run --seed S --replicas K`), 1 to 100000.  [default: 1]")
@click.option("--gap", "gap", metavar="G", help="Relative gap target (upper - relaxed) / upper of the column generation, in (0, 1).  [default: 0.01]")
@click.option("--time-limit", metavar="S", help="Wall-time limit per deployment [s] (the schedule under the simulator's rules has what the bound leaves); the bound reported is valid when stopped by it.  [default: none]")
@click.option("--cache/--no-cache", "use_cache", default=True, help="Reuse and store finished solves in the bound cache ($WSNMEC_BOUND_CACHE, else ~/.cache/wsnmec/bound).  [default: --cache]")
@click.option("--out", "out", metavar="DIR", help="Write bound.json (bounds, gaps and schedules: head sets and their rounds) into DIR.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout instead of the table.")
def bound(seed, replicas, gap, time_limit, use_cache, out, as_json, **parameters):
    """Upper bound on first-node death (FND) per deployment: a linear program over time-shared cluster
    configurations solved by column generation (see wsnmec.bound), with the best schedule found under the
    simulator's rules and the gap between them."""
    import json
    import math

    import numpy as np

    from .bound.cache import solve_cached
    from .clustering.registry import protocol_record
    from .bound.colgen import solve_bound
    from .bound.costs import Network
    from .errors import check_float, check_int
    from .sim.deployment import deploy
    from .limits import probe_output_dir
    from .sim.scenario import MAX_REPLICAS, Scenario
    from .seeding import check_seed, fresh_seed, replica_seeds

    parameters.pop("force", None)
    parameters.pop("workers", None)
    scenario = Scenario.from_mapping({k: v for k, v in parameters.items() if v is not None})
    seed = fresh_seed() if seed is None else check_seed(seed, "--seed")
    replicas = 1 if replicas is None else check_int("--replicas", replicas, 1, MAX_REPLICAS)
    gap = 0.01 if gap is None else check_float("--gap", gap, 0.0, 1.0, min_inclusive=False, max_inclusive=False)
    time_limit = None if time_limit is None else check_float("--time-limit", time_limit, 0.0, 1e9, min_inclusive=False)
    if out is not None:
        probe_output_dir(out, "--out")
    seeds = replica_seeds(seed, replicas)
    networks = [Network.from_scenario(scenario, deploy(scenario, np.random.default_rng(s))) for s in seeds]
    bar = None
    if not as_json and _stderr_is_terminal():
        from tqdm import tqdm

        bar = tqdm(total=replicas, unit="deployment", file=sys.stderr, dynamic_ncols=True, leave=False)
    rows = []
    try:
        for s, net in zip(seeds, networks):
            def progress(iteration, upper, relaxed):
                if bar is not None:
                    bar.set_postfix_str(f"pricing {iteration}: upper {upper:.1f} relaxed {relaxed:.1f}", refresh=True)

            if use_cache:
                result, cached = solve_cached(net, gap=gap, time_limit=time_limit, progress=progress)
            else:
                result, cached = solve_bound(net, gap=gap, time_limit=time_limit, progress=progress), False
            rows.append({"seed": s, "cached": cached, **result.to_dict()})
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    report = {"command": "bound", "seed": seed, "replicas": replicas, "replica_seeds": seeds, "gap_target": gap,
              "time_limit_s": time_limit, "config": {**scenario.to_config(), **protocol_record(scenario.protocol)},
              "deployments": rows}
    if out is not None:
        from pathlib import Path

        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "bound.json").write_text(json.dumps(report, allow_nan=False, indent=1))
    if as_json:
        click.echo(json.dumps(report, allow_nan=False))
        return

    def fmt(value, spec=".1f"):
        return "inf" if value is None else format(value, spec)

    click.echo(f"{'replica':>7}  {'seed':>19}  {'upper':>8}  {'FND<=':>6}  {'relaxed':>8}  {'achiev.':>8}  "
               f"{'integer':>7}  {'gap':>7}  {'gap%':>6}  {'time_s':>7}  stopped")
    for index, row in enumerate(rows):
        rel = row["relative_gap"]
        click.echo(f"{index:>7}  {row['seed']:>19}  {fmt(row['upper']):>8}  {fmt(row['fnd_upper'], 'd'):>6}  "
                   f"{fmt(row['relaxed']):>8}  {fmt(row['achievable']):>8}  {row['integer_rounds']:>7}  "
                   f"{fmt(row['gap']):>7}  {fmt(None if rel is None else 100 * rel, '.2f'):>6}  "
                   f"{row['seconds']:>7.1f}  {row['stopped']}"
                   f"{', time-limited' if row.get('time_limited') and row['stopped'] != 'time' else ''}"
                   f"{' (cached)' if row['cached'] else ''}")
    click.echo("upper: rounds every node can survive at most (FND <= floor(upper) + 1); relaxed: the cost model's "
               "schedule; achievable / integer: the best schedule under the simulator's rules; gap = upper - achievable")
    if any(row.get("time_limited") for row in rows):
        click.echo("time-limited: the time limit cut a step of the solve short; its bound is valid, but another run "
                   "may give other values (a solve without --time-limit gives the same every time)")


# --- wsnmec map (network map at a round) -----------------------------------------------------------


@main.command("map", cls=LazyOptionsCommand, options=shared_options(run, (
    "out", "as_json", "replicas", "workers", *RUN_OUTPUT_ONLY)))
@click.option("--round", "round_number", metavar="R", help="Draw the network at the end of round R (>= 1).")
@click.option("--animate", metavar="FROM:TO", help="Write an animation with one frame per round FROM..TO (a .gif --out).")
@click.option("--replica", metavar="I", default="0", show_default=True,
              help="Which replica of `wsnmec run --seed S --replicas K` (0-based; its seed does not depend on K).")
@click.option("--out", "out", metavar="FILE", help="Output file: .png/.pdf/.svg for --round, .gif for --animate.  [default: map-R.png or map-FROM-TO.gif]")
def map_command(round_number, animate, replica, out, seed, **parameters):
    """Draw the deployment at a round: nodes coloured by residual energy, dead nodes, cluster heads,
    member-to-head links and the sink; the same simulation (and seed) as `wsnmec run`."""
    from .errors import check_int
    from .network_map import map_states, parse_animate, write_animation, write_map
    from .sim.scenario import Scenario
    from .seeding import check_seed, fresh_seed, replica_seeds

    if (round_number is None) == (animate is None):
        fail("--round", "give either --round R or --animate FROM:TO")
    parameters.pop("force", None)  # run's memory override: a map simulates one replica
    scenario = Scenario.from_mapping({k: v for k, v in parameters.items() if v is not None})
    seed = fresh_seed() if seed is None else check_seed(seed, "--seed")
    replica = check_int("--replica", replica, 0, 100_000 - 1)
    if animate is not None:
        first, last = parse_animate(animate)
        out = out or f"map-{first}-{last}.gif"
        if not str(out).lower().endswith(".gif"):
            fail("--out", f"must be a .gif file with --animate, got {out!r}")
    else:
        first = last = check_int("--round", round_number, 1)
        out = out or f"map-{first}.png"
        if os.path.splitext(str(out))[1].lower() not in (".png", ".pdf", ".svg"):
            fail("--out", f"must be a .png, .pdf or .svg file, got {out!r}")
    _check_output_file(out, "--out")
    from .console import compile_notice, simulator_kernels

    compile_notice(True, simulator_kernels)
    replica_seed = replica_seeds(seed, replica + 1)[replica]
    bar = _progress_bar(_stderr_is_terminal(), last)
    from .threads import single_blas_thread

    try:
        with single_blas_thread():
            states = map_states(scenario, replica_seed, range(first, last + 1),
                                progress=bar.update if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    path = write_animation(states, out) if animate is not None else write_map(states[0], out)
    click.echo(f"{path}  (seed {seed}, replica {replica}: seed {replica_seed}; rounds {first}-{last})"
               if animate is not None else f"{path}  (seed {seed}, replica {replica}: seed {replica_seed}; round {first})")


# --- wsnmec offload (offloading engine) ----------------------------------------------------------------


def _offload_params(pairs, name="--param"):
    """Parse repeated KEY=VALUE model overrides into a dict of numbers (int when written as one); the preset
    names of wsn-ch (``hardware``, ``workload``) stay text."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            fail(name, f"must be KEY=VALUE, got {pair!r}")
        if key in ("hardware", "workload"):
            out[key] = value.strip()
            continue
        try:
            out[key] = int(value)
        except ValueError:
            try:
                out[key] = float(value)
            except ValueError:
                fail(f"{name} {key}", f"must be a number, got {value.strip()!r}")
    return out


def _fractions(value, option):
    """Comma-separated fractions (repeats allowed) for the changing-conditions options."""
    if value is None:
        return ()
    out = []
    for part in str(value).split(","):
        try:
            out.append(float(part))
        except ValueError:
            fail(option, f"must be comma-separated fractions in [0, 1], got {part.strip()!r}")
    return tuple(out)


def _devices_at(value):
    if value is None:
        return ()
    pairs = []
    for part in str(value).split(","):
        frac, sep, count = part.partition(":")
        if not sep:
            fail("--devices-at", f"must be FRACTION:N[,FRACTION:N...], got {part.strip()!r}")
        try:
            pairs.append((float(frac), int(count)))
        except ValueError:
            fail("--devices-at", f"must be FRACTION:N with a number and an integer, got {part.strip()!r}")
    return tuple(pairs)


#: The order of the options in `wsnmec offload --help`: the table's (wsnmec.offload.params.OFFLOAD_OPTIONS) and
#: the command's own (seed, list_params, the partition model's, out, as_json).
OFFLOAD_HELP_ORDER = (
    "model", "devices", "tasks", "frames", "networks", "seed", "dataset", "params", "list_params", "preset",
    "memory_size", "batch_size", "train_interval", "learning_rate", "batch_norm", "quantization", "candidates",
    "adaptive_k", "input_scale", "exact_limit", "conditions", "switch_off", "switch_on", "alternate_weights",
    "devices_at", "servers", "network", "precision", "events", "refine", "queueing", "out", "as_json")
#: The learner settings `wsnmec offload` takes, in the order they are checked.
OFFLOAD_LEARNER_OPTIONS = ("candidates", "networks", "memory_size", "batch_size", "train_interval", "learning_rate",
                           "batch_norm", "quantization", "adaptive_k", "input_scale")


def offload_options(own: list) -> list:
    """The options of `wsnmec offload`: one per command-line entry of the table
    :data:`wsnmec.offload.params.OFFLOAD_OPTIONS` (its option and aliases, metavar, help and click settings) and
    the command's ``own``, in :data:`OFFLOAD_HELP_ORDER`."""
    from .offload.params import OFFLOAD_OPTIONS

    options = {option.name: option for option in own}
    for entry in OFFLOAD_OPTIONS.values():
        if entry.option is not None:
            generated = callable(entry.help)  # (a registry writes it: asked again whenever shown)
            make = RegistryHelpOption if generated else click.Option
            options[entry.name] = make([entry.option, *entry.aliases, entry.name], metavar=entry.metavar,
                                       help=entry.help_text(), **({"help_from": entry.help} if generated else {}),
                                       **entry.click)
    return [options[name] for name in OFFLOAD_HELP_ORDER]


@main.command("offload", cls=LazyOptionsCommand, options=offload_options)
@click.option("--seed", metavar="S", help="Seed (integer in [0, 2**63-1]).  [default: a fresh seed, recorded in the output]")
@click.option("--list-params", is_flag=True, help="List the --param keys of --model with units and defaults, and exit.")
@click.option("--servers", metavar="S", default="3", show_default=True, help="partition: edge servers (>= 1).")
@click.option("--network", metavar="[alexnet|vgg16|mobilenetv2]", default="alexnet", show_default=True, help="partition: the DNN each device runs.")
@click.option("--precision", metavar="[fp32|fp16|int8|learned]", default="int8", show_default=True, help="partition: precision of transmitted features (learned: part of the decision).")
@click.option("--event", "events", metavar="FRAME:KIND:ARGS", multiple=True, help="partition: FRAME:server-down:J | FRAME:server-slow:J,FACTOR | FRAME:bandwidth:FACTOR (server ids from 0; repeatable).")
@click.option("--refine", metavar="SWEEPS", default="1", show_default=True, help="partition: best-response sweeps applied to the learner's best candidate (0: networks only).")
@click.option("--queueing", metavar="[batch-ps|mm1]", default="batch-ps", show_default=True, help="partition: server model (batch-ps: the frame's jobs share the server from a common start; mm1: steady-state M/M/1 processor-sharing mean).")
@click.option("--out", "out", metavar="DIR", help="Write frames.parquet (per-frame table) and offload.json into DIR.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout instead of the table.")
def offload(seed, list_params, servers, network, precision, events, refine, queueing, out, as_json, **options):
    """Train the DDLO learner online and compare it with the optimum and the baselines.

    The learner runs with one BLAS thread (steady speed on a busy machine); a progress bar on stderr counts
    the decisions (not with --json or when stderr is not a terminal)."""
    import contextlib

    model_name = options["model"]
    if list_params:
        from .offload.params import PARAMETERS, parameter_table
        from .offload.registry import offload_family

        if model_name not in PARAMETERS and ":" not in model_name:  # (a plug-in: module:object, entry point)
            try:
                offload_family(model_name)
            except ParameterError:
                fail("--model", f"must be one of {', '.join(PARAMETERS)}, got {model_name!r}")
        click.echo(parameter_table(model_name))
        return

    from .offload.conditions import make_conditions
    from .offload.ddlo import learner_settings
    from .offload.online import run_experiment
    from .offload.params import checked
    from .seeding import check_seed, fresh_seed

    seed = fresh_seed() if seed is None else check_seed(seed, "--seed")
    if model_name == "partition":
        return _offload_partition(options, seed=seed, servers=servers, network=network, precision=precision,
                                  events=events, refine=refine, queueing=queueing, out=out, as_json=as_json)
    settings = learner_settings(options["preset"],
                                **{name: checked(name, options[name]) for name in OFFLOAD_LEARNER_OPTIONS})
    networks = settings.pop("networks")
    conditions = make_conditions(
        _fractions(options["switch_off"], "--switch-off"), _fractions(options["switch_on"], "--switch-on"),
        _fractions(options["alternate_weights"], "--alternate-weights"), _devices_at(options["devices_at"]),
        options["conditions"],
    )
    if out is not None:
        from .limits import probe_output_dir

        probe_output_dir(out, "--out")
    from .console import compile_notice, offload_kernels, progress_bar
    from .threads import single_blas_thread

    watching = not as_json and _stderr_is_terminal()
    compile_notice(not as_json, offload_kernels)
    bar = progress_bar(watching, unit="decision", desc="offload")

    def progress(advance, total):
        if bar.total != total:
            bar.total = total
        bar.update(advance)

    with contextlib.ExitStack() as stack:
        stack.enter_context(single_blas_thread())
        if bar is not None:
            stack.callback(bar.close)
        table, result = run_experiment(
            model=model_name,
            devices=checked("devices", options["devices"]),
            tasks=checked("tasks", options["tasks"]),
            frames=checked("frames", options["frames"]),
            networks=networks,
            seed=seed,
            dataset=options["dataset"],
            model_params=_offload_params(options["params"]),
            learner_options=settings,
            exact_limit=checked("exact_limit", options["exact_limit"]),
            conditions=conditions,
            progress=progress if bar is not None else None,
        )
    result["config"]["preset"] = options["preset"]
    if _finish_offload(table, result, out, as_json):
        return
    cfg = result["config"]
    click.echo(
        f"model {cfg['model']}  n={cfg['n_decisions']}"
        f"  frames {cfg['frames']} (test {result['test_frames']})  K={cfg['learner']['networks']}"
        f"  seed {cfg['seed']}  reference {cfg['reference']}"
        + (f"  dataset {cfg['dataset']}" if cfg.get("dataset") else "  dataset none (random states from the seed)")
    )
    click.echo(f"{'policy':<20} {'normalized utility':>18} {'median decision [ms]':>21} {'mean objective':>15}")
    for name, row in result["policies"].items():
        click.echo(f"{name:<20} {row['normalized_utility']:>18.5f} {row['decision_ms_median']:>21.4f} {row['mean_objective']:>15.6g}")
    for interval in (result.get("conditions") or {}).get("intervals") or []:
        rec = interval["recovery_frames"]
        click.echo(f"frames {interval['start']:>7}-{interval['end']:<7} learner {interval['normalized_utility']:.5f}"
                   f"  back >= 0.99 (rolling 100) after {rec if rec is not None else 'never'}")



def _finish_offload(table, result, out, as_json) -> bool:
    """Refuse non-finite results, write ``frames.parquet`` and ``offload.json`` into ``out`` as a set
    (:func:`wsnmec.io.write_set`) and print the JSON with ``--json``; returns whether the JSON was printed."""
    import json

    from .io import write_set
    from .offload.online import check_finite_results

    check_finite_results(table, result)
    if out is not None:
        text = json.dumps(result, indent=2, allow_nan=False) + "\n"
        write_set(out, {"frames.parquet": lambda path: table.to_parquet(path, engine="pyarrow", index=False),
                        "offload.json": lambda path: path.write_text(text, encoding="utf-8")})
    if as_json:
        click.echo(json.dumps(result, allow_nan=False))
    return bool(as_json)

def _offload_partition(options: dict, *, seed, servers, network, precision, events, refine, queueing, out, as_json):
    """``wsnmec offload --model partition`` (issue 10): DNN partitioning over several edge servers; ``options``:
    the table's options (:data:`wsnmec.offload.params.OFFLOAD_OPTIONS`) as given."""
    from .errors import check_int
    from .offload.ddlo import learner_settings
    from .offload.params import OFFLOAD_OPTIONS, checked
    from .offload.partition_online import run_partition_experiment

    if options["tasks"] is not None:
        fail("--tasks", "is not used by --model partition (one inference per device per frame)")
    if options["dataset"] is not None:
        fail("--dataset", "DDLO/DROO data sets hold mumt/wpmec states; --model partition draws its own frames")
    if options["batch_norm"]:
        fail("--batch-norm", "is not supported by the partition learner")
    for name in ("preset", "quantization", "adaptive_k", "conditions", "switch_off", "switch_on", "alternate_weights",
                 "devices_at"):
        if options[name] is not None:
            fail(OFFLOAD_OPTIONS[name].option, "is not used by --model partition (categorical candidates: see "
                                                "--candidates, --refine; changing conditions: see --event)")
    settings = learner_settings(None, **{name: checked(name, options[name]) for name in (
        "networks", "memory_size", "batch_size", "train_interval", "learning_rate", "input_scale")})
    for key in ("batch_norm", "quantization", "adaptive_k"):
        settings.pop(key)
    networks = settings.pop("networks")
    candidates = options["candidates"]  # None: all 1 + D + S
    settings["candidates"] = None if candidates is None else check_int("--candidates", candidates, 1)
    settings["refine"] = check_int("--refine", refine, 0, 100)
    if out is not None:
        from .limits import probe_output_dir

        probe_output_dir(out, "--out")
    devices, frames = options["devices"], options["frames"]
    table, result = run_partition_experiment(
        devices=check_int("--devices", 3 if devices is None else devices, 1),
        servers=check_int("--servers", servers, 1), network=network, precision=precision,
        frames=10_000 if frames is None else check_int("--frames", frames, 2), networks=networks, seed=seed,
        events=events, model_params=_offload_params(options["params"]), learner_options=settings, queueing=queueing,
    )
    if _finish_offload(table, result, out, as_json):
        return
    cfg = result["config"]
    click.echo(f"model partition  {cfg['network']} {cfg['precision']}  queueing {cfg['queueing']}  devices {cfg['devices']} x servers {cfg['servers']}"
               f"  frames {cfg['frames']} (test {result['test_frames']})  seed {cfg['seed']}  reference {cfg['reference']}")
    click.echo(f"{'policy':<22} {'norm. utility':>13} {'latency [ms]':>12} {'energy [mJ]':>11} {'utilization':>11}"
               f" {'decision [ms]':>13}")
    for name, row in result["policies"].items():
        click.echo(f"{name:<22} {row['normalized_utility']:>13.5f} {row['latency_s_mean'] * 1e3:>12.3f}"
                   f" {row['energy_j_mean'] * 1e3:>11.3f} {row['utilization_mean']:>11.3f} {row['decision_ms_median']:>13.4f}")
    for ev in result["events"]:
        row = ev["policies"]["ddlo"]
        later = row["normalized_utility_next_1000"]
        click.echo(f"event {ev['event']}: ddlo normalized utility {row['normalized_utility_first_1000']:.4f} (1000 frames after),"
                   f" {later if later is not None else float('nan'):.4f} (next 1000)")


# --- wsnmec study / figures (studies and figures) -------------------------------------------------


def _study_executor_options(command):
    command = click.option(
        "--scheduler", default=None, metavar="ADDR",
        help="Run tasks on a Dask distributed cluster (tcp://HOST:PORT) instead of local processes.",
    )(command)
    command = click.option(
        "--jobs", type=int, default=None, metavar="J", help="Local worker processes [default: all cores]."
    )(command)
    return command


def _check_jobs(jobs):
    if jobs is not None and not 1 <= jobs <= MAX_JOBS:
        fail("--jobs", f"must be an integer in [1, {MAX_JOBS}], got {jobs}")


def _check_output_file(path, option: str):
    """Fail early (exit 2) when the file ``path`` cannot be written at the end: its directory is probed
    (:func:`~wsnmec.limits.probe_output_dir`) and its name must leave room for the temporary name it is
    written under first (``.<name>.<8 characters>.tmp``, 14 bytes longer)."""
    from pathlib import Path

    from .limits import STAGING_NAME_EXTRA, _name_max, probe_output_dir

    path = Path(os.fspath(path))
    probe_output_dir(path.parent if str(path.parent) else ".", option)
    limit = _name_max(path.parent)
    length = len(os.fsencode(path.name))
    if length + STAGING_NAME_EXTRA > limit:
        fail(option, f"must have a file name of at most {limit - STAGING_NAME_EXTRA} bytes (it is written under a "
                     f"temporary name {STAGING_NAME_EXTRA} bytes longer first); got {length}")


def _check_dirs(**options):
    """Fail early (exit 2) when a directory option is empty, names a file or cannot be written (a probe file
    is created and removed in it before any work)."""
    from .limits import probe_output_dir

    for option, path in options.items():
        probe_output_dir(path, option)


def _check_study_memory(specs, jobs, scheduler, force):
    """Refuse studies whose estimated peak memory exceeds the available memory (unless --force)."""
    from .limits import check_memory, study_memory_estimate
    from .study.runner import available_cores

    workers = 0 if scheduler else (jobs or available_cores())  # Dask workers run elsewhere
    for spec in specs:
        if not hasattr(spec, "scenario"):  # offloading studies: frames tables, no simulator rounds table
            continue
        estimate = study_memory_estimate(spec, workers)
        check_memory(
            estimate["total"], f"study {spec.name} ({spec.task_count} tasks, {estimate['rows']} rows of the rounds "
            f"table at most, {workers} local worker(s))", "FILE", "the study's grid, seeds or rounds, or --jobs", force,
        )


def _interruptible(body):
    """Run ``body()`` with SIGTERM raising like Ctrl-C; an interrupt prints one line on stderr
    (``interrupted: N tasks kept, M not run; rerun to continue``) and exits with 130 (SIGINT) or 143
    (SIGTERM). See :mod:`wsnmec.study.interrupts`."""
    from .study.interrupts import (
        StudyInterrupted, exit_process, ignore_interrupts, signal_number, terminate_raises,
    )

    try:
        with terminate_raises():
            return body()
    except StudyInterrupted as exc:
        ignore_interrupts()  # on the way out: a further Ctrl-C changes nothing
        click.echo(exc.line, err=True)
        exit_process(128 + exc.signum)
    except KeyboardInterrupt as exc:
        ignore_interrupts()
        click.echo("interrupted; rerun to continue", err=True)
        exit_process(128 + signal_number(exc))


def _run_line(run) -> str:
    mode = "quick" if run.spec.quick else "full"
    return (
        f"{run.spec.name} ({mode}): {len(run.tasks)} tasks, {run.cached} from cache, {run.computed} computed "
        f"in {run.seconds:.1f} s -> {run.directory}"
    )


@main.group("study")
def study_group():
    """Declarative studies: a grid of `wsnmec run` parameters x seeds (files in studies/)."""


@study_group.command("list")
def study_list():
    """List the study files in studies/ (of the current directory, else the repository's): each valid file
    with its grid, tasks and figures, each invalid one as one line with its error (the others are still
    listed)."""
    from .errors import ParameterError
    from .study.partition import load_partition_study
    from .study.spec import find_studies, load_study, studies_dir

    directory = studies_dir()
    paths = sorted(find_studies(directory) + find_studies(directory, kind="partition"))
    if not paths:
        click.echo(f"no study files in {directory}")
        return
    partition = set(find_studies(directory, kind="partition"))
    for path in paths:
        try:
            if path in partition:
                study = load_partition_study(path)
                quick = load_partition_study(path, quick=True)
                click.echo(f"{study['name']:<12} {study['title']}\n{'':<12} partition study (scaling, claims, events), "
                           f"{study['seeds']} seeds ({quick['seeds']} with --quick)")
                continue
            spec = load_study(path)
            quick = spec.variant(True)
        except ParameterError as exc:
            click.echo(f"{path.stem:<12} invalid: {exc.parameter}: {exc.message}")
            continue
        except Exception as exc:  # noqa: BLE001  (one bad file must not hide the others)
            click.echo(f"{path.stem:<12} invalid: {path}: {exc.__class__.__name__}: {exc}".splitlines()[0])
            continue
        grid = " x ".join(f"{name}[{len(values)}]" for name, values in spec.grid.items()) or "one point"
        click.echo(
            f"{spec.name:<12} {spec.title}\n{'':<12} grid {grid}, {spec.seeds} seeds: {spec.task_count} tasks "
            f"({quick.task_count} with --quick); figures: {', '.join(f.name for f in spec.figures) or 'none'}"
        )


@study_group.command("run")
@click.argument("file")
@_study_executor_options
@click.option("--quick", is_flag=True, help="Run the study's quick variant (fewer seeds and rounds).")
@click.option("--results", "results_dir", default="results", show_default=True, metavar="DIR",
              help="Results directory (task cache and tables).")
@click.option("--force", is_flag=True, help="Run even when the memory estimate exceeds the available memory.")
def study_run(file, jobs, scheduler, quick, results_dir, force):
    """Run the tasks of study FILE missing from the cache (FILE: a path or a name in studies/)."""
    from .study.runner import StudyRunError, run_study
    from .study.spec import load_study, resolve_study_file

    _check_jobs(jobs)
    _check_dirs(**{"--results": results_dir})
    path = resolve_study_file(file)
    if _partition_study(path, quick, results_dir, out_dir=None, jobs=jobs, scheduler=scheduler):
        return
    spec = load_study(path).variant(quick)
    _check_study_memory([spec], jobs, scheduler, force)
    try:
        run = _interruptible(lambda: run_study(spec, results_dir, jobs=jobs, scheduler=scheduler))
    except StudyRunError as exc:  # one line, exit code 1, no traceback; finished tasks stay cached
        raise click.ClickException(str(exc)) from None
    click.echo(_run_line(run))


@study_group.command("show")
@click.argument("file")
@click.option("--results", "results_dir", default="results", show_default=True, metavar="DIR",
              help="Results directory.")
def study_show(file, results_dir):
    """Mean and 95 % CI of FND, HND and LND per grid point of study FILE, from the cache.

    Shows the full study when all its tasks are cached, else its quick variant when that is complete,
    else the grid points computed so far.
    """
    from .study.runner import collect, expand_tasks, task_cache
    from .study.spec import load_study, resolve_study_file

    full = load_study(resolve_study_file(file))
    # Fast path: the task files present, listed once (a 1e5-task grid with an empty cache took 62 s to expand
    # and look up every task of both variants before saying there were no results).
    cache_directory = task_cache(results_dir, full).directory
    try:
        with os.scandir(cache_directory) as entries:
            stored = {entry.name for entry in entries if entry.name.endswith(".parquet")}
    except OSError:  # (no directory: nothing stored)
        stored = set()
    if not stored:
        fail("FILE", f"no results of study {full.name} in {results_dir}/; run `wsnmec study run {file}` first")
    chosen = None
    reported = set()

    def report(message):  # a damaged task file: one line on stderr (once, if both variants share it)
        if message not in reported:
            reported.add(message)
            click.echo(message, err=True)

    for spec in (full, full.variant(True)):
        tasks = expand_tasks(spec)
        present = [task for task in tasks if f"{task.key}.parquet" in stored]
        _rounds, summary, missing = collect(
            spec, present, task_cache(results_dir, spec), report=report,
            action=f"leaving its task out (`wsnmec study run {file}` recomputes it)")
        if len(present) < len(tasks):
            missing = missing + [task for task in tasks if f"{task.key}.parquet" not in stored]
        if chosen is None or not missing:
            chosen = (spec, tasks, summary, missing)
        if not missing:
            break
    spec, tasks, summary, missing = chosen
    if summary.empty:
        fail("FILE", f"no results of study {spec.name} in {results_dir}/; run `wsnmec study run {file}` first")
    from .study.kinds import kind_of

    for line in kind_of(spec).show_lines(spec, tasks, summary, missing, file):  # its kind's text
        click.echo(line)


@study_group.command("figures")
@click.argument("file")
@click.option("--quick", is_flag=True, help="The study's quick variant.")
@click.option("--out", "out_dir", default="figures", show_default=True, metavar="DIR",
              help="Where the figures go (the index of `wsnmec figures` is left as it is).")
@_study_executor_options
@click.option("--results", "results_dir", default="results", show_default=True, metavar="DIR",
              help="Results directory (task cache).")
def study_figures(file, quick, out_dir, jobs, scheduler, results_dir):
    """Run the missing tasks of study FILE and draw its figures (FILE: a path or a name in studies/)."""
    from .study.spec import load_study, resolve_study_file

    _check_jobs(jobs)
    _check_dirs(**{"--out": out_dir, "--results": results_dir})
    path = resolve_study_file(file)
    if _partition_study(path, quick, results_dir, out_dir=out_dir, jobs=jobs, scheduler=scheduler):
        return
    specs = [load_study(path).variant(quick)]
    _interruptible(lambda: _run_and_draw(specs, out_dir, jobs, scheduler, results_dir))


def _partition_study(path, quick: bool, results_dir, out_dir, jobs=None, scheduler=None) -> bool:
    """``study run`` / ``study figures`` of a ``kind = "partition"`` file: its experiments (tasks of the study
    runner, cached in ``results_dir``) and, with ``out_dir``, its figures and its index section
    (``OUT/<name>.md``). Returns False for other kinds (nothing done)."""
    from pathlib import Path

    from .study.partition import load_partition_study, partition_spec, run_partition_study, study_kind
    from .study.runner import ExecutorHandle, StudyRunError, run_study, study_directory

    if study_kind(path) != "partition":
        return False
    load_partition_study(path, quick)  # bad input before any work
    try:
        if out_dir is None:  # run only
            spec = partition_spec(path, quick)
            run = _interruptible(lambda: run_study(spec, results_dir, jobs=jobs, scheduler=scheduler))
            click.echo(_run_line(run))
            click.echo(f"{Path(path).stem} ({'quick' if quick else 'full'}): partition experiments in "
                       f"{study_directory(results_dir, spec) / 'tasks'}; `wsnmec study figures {path}` draws them")
            return True
        from .io import write_text

        with ExecutorHandle(jobs=jobs, scheduler=scheduler) as executor:
            section = _interruptible(lambda: run_partition_study(path, out_dir, results_dir, quick, echo=click.echo,
                                                                 executor=executor))
    except StudyRunError as exc:  # one line, exit code 1, no traceback; finished experiments stay cached
        raise click.ClickException(str(exc)) from None
    page = write_text(Path(out_dir) / f"{Path(path).stem}.md", section + "\n")
    click.echo(f"{Path(path).stem}: figures in {out_dir}, section {page}")
    return True


def _run_and_draw(specs, out_dir, jobs, scheduler, results_dir, partition_jobs=()) -> tuple[list, list]:
    """Run the missing tasks of each study, then draw every study (on up to ``jobs`` local processes, each
    reading one study's stored tables at a time: :mod:`wsnmec.study.drawing`); returns the drawn studies
    (:class:`~wsnmec.study.drawing.DrawnStudy`) and the partition studies' sections."""
    from .console import compile_notice, simulator_kernels
    from .study.drawing import DrawingError, draw_studies
    from .study.partition import partition_spec
    from .study.runner import ExecutorHandle, StudyRunError, cached_run_line, run_study

    compile_notice(True, simulator_kernels)
    with ExecutorHandle(jobs=jobs, scheduler=scheduler) as executor:
        # the partition studies' experiments run here too (their drawing jobs then read them from the cache)
        for spec in [*specs, *(partition_spec(path, quick) for path, quick in partition_jobs)]:
            line = cached_run_line(spec, results_dir)  # every task cached: nothing to load here
            if line is None:
                try:
                    line = _run_line(run_study(spec, results_dir, executor=executor))
                except StudyRunError as exc:  # one line, exit code 1, no traceback; finished tasks stay cached
                    raise click.ClickException(str(exc)) from None
            click.echo(line)
    try:
        drawn, sections = draw_studies(specs, results_dir, out_dir, None if scheduler else jobs, partition_jobs)
    except DrawingError as exc:  # one line, exit code 1; the cache is untouched
        raise click.ClickException(str(exc)) from None
    for study in drawn:
        click.echo(f"{study.name}: figures")
        for png, pdf in study.paths:
            click.echo(f"  {png}  {pdf}")
    return drawn, sections


@main.command("figures")
@click.option("--quick", is_flag=True, help="Quick variants of the studies (what CI runs).")
@click.option("--out", "out_dir", default="figures", show_default=True, metavar="DIR",
              help="Where figures and their index README.md and index.html go.")
@click.option("--studies", "studies", default=None, metavar="DIR",
              help="Directory of study files.  [default: ./studies in the working directory, else the repository's]")
@_study_executor_options
@click.option("--results", "results_dir", default="results", show_default=True, metavar="DIR",
              help="Results directory (task cache).")
@click.option("--force", is_flag=True, help="Run even when the memory estimate exceeds the available memory.")
def figures_command(quick, out_dir, studies, jobs, scheduler, results_dir, force):
    """Run every study in studies/ and draw every figure, with an index OUT/README.md and OUT/index.html."""
    from .study.report import write_index_sections
    from .study.spec import find_studies, load_study, studies_dir

    _check_jobs(jobs)
    _check_dirs(**{"--out": out_dir, "--results": results_dir})
    if studies is not None and not os.path.isdir(studies):
        fail("--studies", f"must be a directory of study files (*.toml), got {studies!r}")
    specs = [load_study(path).variant(quick) for path in find_studies(studies)]
    if not specs:
        fail("--studies" if studies is not None else "studies/",
             f"no study files (*.toml) in {studies if studies is not None else studies_dir()}")
    # a study without [[figures]] (the scenario suite: tables only, `wsnmec study run`) has nothing to draw
    for spec in specs:
        if not spec.figures:
            click.echo(f"study {spec.name}: no figures, not run (run it with 'wsnmec study run {spec.name}')")
    specs = [spec for spec in specs if spec.figures]
    partition_paths = find_studies(studies, kind="partition")
    from .study.partition import load_partition_study

    for path in partition_paths:  # bad input before any work
        load_partition_study(path, quick)
    _check_study_memory(specs, jobs, scheduler, force)
    # partition studies (kind = "partition", issue 10) run and draw alongside; their sections end the index
    partition_jobs = tuple((p, quick) for p in partition_paths)
    drawn, sections = _interruptible(
        lambda: _run_and_draw(specs, out_dir, jobs, scheduler, results_dir, partition_jobs))
    for path in partition_paths:
        click.echo(f"partition study {path.stem}: figures and section done")
    index = write_index_sections([study.section for study in drawn], out_dir, quick, sections)
    click.echo(f"index: {index}  {index.with_name('index.html')}")


# --- wsnmec warmup (compile the kernels ahead) -----------------------------------------------------------


@main.command("warmup")
@click.option("--studies", "studies", default=None, metavar="DIR",
              help="Directory of study files.  [default: ./studies in the working directory, else the repository's]")
@click.option("--jobs", type=int, default=None, metavar="J", help="Local worker processes [default: all cores].")
def warmup_command(studies, jobs):
    """Compile every numba kernel that `wsnmec run` and the studies' quick and full runs use (or load it
    when numba's cache already holds it): each distinct configuration of the study files runs for a few
    rounds or frames, spread over J processes, one line per group as it finishes. Nothing but numba's cache
    is written; a second warm-up only loads the kernels (see wsnmec.warmup)."""
    from .warmup import warmup

    _check_jobs(jobs)
    if studies is not None and not os.path.isdir(studies):
        fail("--studies", f"must be a directory of study files (*.toml), got {studies!r}")
    click.echo("warmup: compiling the kernels of `wsnmec run` and of every study (once; later runs load them)",
               err=True)
    totals = warmup(studies, jobs, echo=click.echo)
    click.echo(f"warmup: {totals['configurations']} configurations in {totals['groups']} groups, "
               f"{len(totals['kernels'])} kernels ready ({len(totals['compiled'])} compiled now, the others loaded "
               f"from the cache) in {totals['seconds']:.1f} s")


if __name__ == "__main__":  # pragma: no cover
    main()
