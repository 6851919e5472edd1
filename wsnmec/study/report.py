"""The figure index ``figures/README.md``: each figure with its study, parameters and seeds, and a one-line
reading computed from the run's own numbers.

Readings (:data:`READINGS`) are chosen by the figure's kind and y column; a new one is a small function of
(figure, study run) returning one sentence.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..io import write_text
from ..seeding import replica_seeds
from .claims import claims_reading
from .columns import METRIC_SHORT, add_derived_columns, label
from .figures import BOOTSTRAP_SEED, N_BOOT, _levels, axis_note
from .spec import FigureSpec


def markdown_text(text: str) -> str:
    """``text`` for a Markdown link's or image's bracketed part: brackets and backslashes escaped (a title
    such as ``FND [rounds]`` once left a literal ``![...](...)`` in the HTML report)."""
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def markdown_url(path: str) -> str:
    """A relative file name as a Markdown link target: percent-encoded (spaces, parentheses), ``/`` kept."""
    from urllib.parse import quote

    return quote(path, safe="/")


def _groups(figure: FigureSpec) -> list[str]:
    return [c for c in (figure.hue, figure.style) if c is not None]


def _group_name(key) -> str:
    key = key if isinstance(key, tuple) else (key,)
    return "/".join(str(k) for k in key)


def _fmt(value: float, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}"


def _per_group(frame: pd.DataFrame, figure: FigureSpec, describe: Callable[[pd.DataFrame], str], run=None) -> str:
    """``describe`` of each hue/style group, in the figure's legend order."""
    groups = _groups(figure)
    if not groups:
        return describe(frame)
    items = [(k if isinstance(k, tuple) else (k,), g) for k, g in frame.groupby(groups, sort=False)]
    if run is not None:  # levels in grid order (derived columns: in task order)
        labelled = add_derived_columns(run.summary)
        orders = [_levels(run.spec, labelled, column) for column in groups]
        items.sort(key=lambda item: tuple(order.index(v) if v in order else len(order) for order, v in zip(orders, item[0])))
    return "; ".join(f"{_group_name(k)} {describe(g)}" for k, g in items)


def _lifetimes(figure: FigureSpec, run) -> str:
    summary = add_derived_columns(run.summary)

    def describe(group):
        means = [pd.to_numeric(group[m], errors="coerce").astype(float).mean() for m in ("fnd", "hnd", "lnd")]
        return " / ".join("not reached" if math.isnan(m) else _fmt(m) for m in means)

    cap = run.spec.base.get("rounds")
    capped = f", runs stopped at round {cap:,} at the latest" if cap is not None else ""
    return (f"Mean FND / HND / LND [rounds] over {run.spec.seeds} seeds{capped} (a mean over the seeds that reached"
            " it): " + _per_group(summary, figure, describe, run) + ".")


def _means(figure: FigureSpec, run) -> pd.DataFrame:
    """Per hue/style group and round 1..longest run: the mean over seeds of the figure's column.

    Read from the run's per-grid-point means (:mod:`wsnmec.study.aggregates`): every grid point has the
    same number of seeds, so a group's mean is the mean of its points' means."""
    y = figure.y[0]
    groups = _groups(figure)
    means = add_derived_columns(_aggregates(run).means)
    if not groups:
        return means.groupby("round", sort=True)[[y]].mean().reset_index()
    return means.groupby([*groups, "round"], sort=False)[y].mean().reset_index()


def _aggregates(run):
    if getattr(run, "aggregates", None) is not None:
        return run.aggregates
    from . import aggregates

    run.aggregates = aggregates.compute(run.rounds, run.summary, list(run.spec.grid))
    return run.aggregates


def _half_energy(figure: FigureSpec, run) -> str:
    y = figure.y[0]
    data = _means(figure, run)

    def describe(group):
        mean = group.set_index("round")[y].sort_index()
        below = mean.index[mean <= 0.5 * mean.iloc[0]]
        return f"round {below[0]:,}" if len(below) else f"not within {mean.index[-1]:,} rounds"

    return "Round at which the mean total residual energy falls to half its round-1 value: " + _per_group(
        data, figure, describe, run
    ) + "."


def _time_average(figure: FigureSpec, run) -> str:
    y = figure.y[0]
    data = _means(figure, run)
    last = int(data["round"].max())

    def describe(group):
        mean = group.set_index("round")[y].sort_index()
        return f"{mean.mean():.1f} (at round {last:,}: {mean.iloc[-1]:.1f})"

    return f"{label(y)}, mean over rounds 1-{last:,} and seeds: " + _per_group(data, figure, describe, run) + "."


def _final_value(figure: FigureSpec, run) -> str:
    y = figure.y[0]
    data = _means(figure, run)
    last = int(data["round"].max())
    final = data[data["round"] == last]
    return f"{label(y)} at round {last:,}, mean over seeds: " + _per_group(
        final, figure, lambda g: _fmt(g[y].astype(float).mean(), 3), run
    ) + "."


def _metric_ends(figure: FigureSpec, run) -> str:
    summary = add_derived_columns(run.summary)
    xs = sorted(summary[figure.x].unique())
    low, high = xs[0], xs[-1]
    sentences = []
    for metric in figure.y:
        def describe(group, metric=metric):
            means = group.assign(v=pd.to_numeric(group[metric], errors="coerce").astype(float)).groupby(figure.x)["v"].mean()
            a, b = means.get(low, math.nan), means.get(high, math.nan)
            if metric in ("fnd", "hnd", "lnd", "rounds"):
                return f"{_fmt(a)} -> {_fmt(b)}"
            return f"{a:.4g} -> {b:.4g}"  # energies [J], latencies [s]: significant digits

        sentences.append(
            f"mean {METRIC_SHORT.get(metric, metric)} from {figure.x} = {low:g} to {high:g}: "
            + _per_group(summary, figure, describe, run)
        )
    text = "; ".join(sentences)
    return text[:1].upper() + text[1:] + "." if text else ""


#: Summary metrics whose best value is the largest (+1) or the smallest (-1); others: the largest mean.
BETTER = {"fnd": 1, "hnd": 1, "lnd": 1, "rounds": 1, "delivered_bits_total": 1, "energy_residual_j": 1,
          "energy_consumed_j": -1, "energy_j_mean": -1, "latency_s_mean": -1, "system_utility_mean": -1}


def best_x_table(figure: FigureSpec, run) -> pd.DataFrame:
    """Per ``panel`` level, metric and hue/style group (the reference level excluded): the ``x`` with the
    best mean over seeds (:data:`BETTER`; a tie goes to the first x in grid order), that mean, the reference
    level's mean (every row of it in the panel), and the paired difference reference - group at the best x
    over the seeds both have (``seed_index``), with its 95 % bootstrap interval
    (:func:`wsnmec.study.figures.bootstrap_ci` of the differences)."""
    from .figures import _text, bootstrap_ci

    data = add_derived_columns(run.summary).copy()
    groups = _groups(figure)
    for column in [*groups, figure.x] + ([figure.panel] if figure.panel else []):
        data[column] = data[column].map(_text)
    x_order = [_text(v) for v in _levels(run.spec, add_derived_columns(run.summary), figure.x)]
    panels = [_text(v) for v in _levels(run.spec, add_derived_columns(run.summary), figure.panel)] if figure.panel else [None]
    group_levels = [[_text(v) for v in _levels(run.spec, add_derived_columns(run.summary), c)] for c in groups]
    rows = []
    for panel in panels:
        chosen = data if panel is None else data[data[figure.panel] == panel]
        reference = chosen[chosen[figure.hue] == figure.reference] if figure.reference else chosen.iloc[:0]
        for metric in figure.y:
            values = pd.to_numeric(chosen[metric], errors="coerce").astype(float)
            chosen = chosen.assign(value=values)
            reference = reference.assign(value=pd.to_numeric(reference[metric], errors="coerce").astype(float))
            direction = BETTER.get(metric, 1)
            for key in _product(group_levels):
                if figure.reference is not None and key[0] == figure.reference:
                    continue
                mine = chosen
                for column, level in zip(groups, key):
                    mine = mine[mine[column] == level]
                means = mine.groupby(figure.x)["value"].mean()
                means = means[[x for x in x_order if x in means.index and np.isfinite(means[x])]]
                if means.empty:
                    continue
                best = means.index[int(np.argmax(direction * means.to_numpy()))]
                row = {"panel": panel, "metric": metric, "group": "/".join(key), "best_x": best,
                       "best_mean": float(means[best]), "x_values": len(means)}
                if figure.reference is not None:
                    ref = reference.groupby("seed_index")["value"].mean()
                    at_best = mine[mine[figure.x] == best].groupby("seed_index")["value"].mean()
                    both = ref.index.intersection(at_best.index)
                    diff = (ref[both] - at_best[both]).to_numpy(dtype=float)
                    diff = diff[np.isfinite(diff)]
                    row.update(reference_mean=float(ref.mean()) if len(ref) else math.nan, pairs=int(diff.size),
                               difference=float(diff.mean()) if diff.size else math.nan)
                    row["low"], row["high"] = bootstrap_ci(diff) if diff.size else (math.nan, math.nan)
                rows.append(row)
    return pd.DataFrame(rows)


def _product(levels: list[list]) -> list[tuple]:
    import itertools

    return list(itertools.product(*levels)) if levels else [()]


def _best_x_reading(figure: FigureSpec, run) -> str:
    """Each group's best x per panel and metric and, with a reference, the reference against each group at
    its best x (Markdown table, :func:`best_x_table`)."""
    table = best_x_table(figure, run)
    x_name = figure.x
    group_name = "/".join(_groups(figure)) or "all"
    ref = figure.reference
    head = ([label(figure.panel)] if figure.panel else []) + ["metric", group_name, f"best {figure.x}", "mean there"]
    if ref is not None:
        head += [f"{ref}", f"{ref} - {group_name} at its best {figure.x} [95 % CI]", "paired seeds"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in table.to_dict("records"):
        cells = ([str(row["panel"])] if figure.panel else []) + [
            METRIC_SHORT.get(row["metric"], row["metric"]), row["group"], str(row["best_x"]),
            f"{_fmt(row['best_mean'])} (best of {row['x_values']})"]
        if ref is not None:
            cells += [_fmt(row["reference_mean"]),
                      f"{row['difference']:+,.0f} [{row['low']:+,.0f}, {row['high']:+,.0f}]" if row["pairs"] else "n/a",
                      str(row["pairs"])]
        lines.append("| " + " | ".join(cells) + " |")
    ref_x = ""
    if ref is not None:
        summary = add_derived_columns(run.summary)
        from .figures import _text

        at = sorted({_text(v) for v in summary.loc[summary[figure.hue].map(_text) == ref, figure.x]})
        ref_x = f"; {ref} runs at {figure.x} = {', '.join(at)} only and is drawn as a horizontal line"
    better = ", ".join(f"{'largest' if BETTER.get(m, 1) > 0 else 'smallest'} mean {METRIC_SHORT.get(m, m)}"
                       for m in figure.y)
    where = f" per {figure.panel} and metric" if figure.panel else " per metric"
    return (f"Best {figure.x} per {' and '.join(_groups(figure))}{where} (the {x_name} of the {better} over "
            f"{run.spec.seeds} seeds; a tie goes to the first {figure.x}){ref_x}. Differences are paired by seed, with "
            "a 95 % percentile-bootstrap interval of the mean difference; the best value is chosen on the same seeds, "
            "which favours the tuned policies:\n\n" + "\n".join(lines) + "\n")


def _fraction_of_limit(figure: FigureSpec, run) -> str:
    """FND / the deployment's bound per case and policy (:func:`wsnmec.study.limit.fraction_reading`)."""
    from .limit import fraction_reading

    return fraction_reading(figure, run)


#: Readings: (kind, y) -> function(figure, run) -> one sentence; (kind, None) is the kind's default.
READINGS: dict[tuple[str, str | None], Callable] = {
    ("line", "alive"): _lifetimes,
    ("line", "dead"): _lifetimes,
    ("line", "residual_j"): _half_energy,
    ("line", "nodes_ge_90pct"): _time_average,
    ("line", None): _final_value,
    ("metric", None): _metric_ends,
    ("metric", "fnd_over_bound"): _fraction_of_limit,
    ("map", None): lambda figure, run: (
        f"The network of each grid point at round {figure.round} (first seed, task seed "
        f"{replica_seeds(run.spec.seed, 1)[0]}): `wsnmec map --round {figure.round}` with the point's parameters "
        "draws the same picture."
    ),
    ("claims", None): claims_reading,
}


def reading(figure: FigureSpec, run) -> str:
    """The one-line reading of a figure from its study run's numbers (its figure kind's reading)."""
    from .kinds import kind_of

    return kind_of(run.spec).reading(figure, run)


def lifetime_reading(figure: FigureSpec, run) -> str:
    """The reading of a lifetime study's figure: :data:`READINGS` by figure kind and y column."""
    if figure.kind == "metric" and figure.reference is not None:
        return _best_x_reading(figure, run)
    key = (figure.kind, figure.y[0] if len(figure.y) == 1 and figure.kind != "map" else None)
    function = READINGS.get(key) or READINGS[(figure.kind, None)]
    return function(figure, run)


def _value(value) -> str:
    if isinstance(value, dict):  # a case: its name and parameters
        return f"{value.get('name')} (" + ", ".join(f"{k} {_value(v)}" for k, v in value.items() if k != "name") + ")"
    if isinstance(value, (list, tuple)):
        return ",".join(_value(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def figure_entry(figure: FigureSpec, run, paths: list[Path], out_dir: Path) -> str:
    """The README section of one figure."""
    from .kinds import kind_of

    spec = run.spec
    png, pdf = (Path(p).relative_to(out_dir).as_posix() for p in paths)
    swept = "; ".join(f"{name} = {', '.join(_value(v) for v in values)}"
                      for name, values in spec.grid.items())
    extra = getattr(spec, "extra", ())
    if extra:
        swept += "; and " + "; ".join(", ".join(f"{n} = {_value(v)}" for n, v in fixed.items()) for fixed in extra) + \
            " with every combination of the other swept values"
    fixed = ", ".join(f"{name} = {_value(value)}" for name, value in spec.base.items()) or "the defaults"
    seeds = replica_seeds(spec.seed, spec.seeds)
    shown = ", ".join(str(s) for s in seeds[:3]) + (", ..." if len(seeds) > 3 else "")
    kind = kind_of(spec)
    title = kind.figure_title(figure)
    lines = [
        f"### {title}",
        "",
        f"![{markdown_text(title)}]({markdown_url(png)})",
        "",
        f"- files: [{markdown_text(png)}]({markdown_url(png)}), [{markdown_text(pdf)}]({markdown_url(pdf)})",
        f"- study: `{spec.name}` ({spec.title}); file `{spec.path.name}`"
        + (", `--quick` variant" if spec.quick else ""),
        f"- swept: {swept or 'nothing'}" + ("; field scaled with N to keep the density of the base scenario" if spec.scale_field else ""),
        f"- fixed: {fixed} (other parameters: `wsnmec {kind.program or kind.name}` defaults)",
        f"- seeds: {spec.seeds} per grid point, the same at every point: replica_seeds({spec.seed}, {spec.seeds}) = {shown}"
        f" (all in {(Path(run.directory) / 'study.json').as_posix()})",
        f"- reading: {reading(figure, run)}",
    ]
    agg = getattr(run, "aggregates", None)
    if figure.kind == "line" and agg is not None and agg.cut:
        lines.append(f"- note: {axis_note(agg)} (the readings cover every round)")
    lines.append("")
    return "\n".join(lines)


def study_section(run, figures: list[tuple[FigureSpec, list[Path]]], out_dir) -> str:
    """The index's Markdown section of one study run: title, description, lifetime table (lifetime
    studies) and one entry per drawn figure ``(figure spec, [png, pdf])``."""
    spec = run.spec
    body = [f"## {spec.title}", ""]
    if spec.description:
        body += [spec.description.strip(), ""]
    from .kinds import kind_of

    body += kind_of(spec).index_lines(run)  # lifetime studies: FND/HND/LND per grid point
    body += [figure_entry(figure, run, paths, Path(out_dir)) for figure, paths in figures]
    return "\n".join(body)


def write_index_sections(sections: list[str], out_dir, quick: bool, extra: list[str] = ()) -> Path:
    """Write ``<out_dir>/README.md`` from the studies' sections (:func:`study_section`) and ``extra``
    Markdown (e.g. the partition studies'), and the same content as ``<out_dir>/index.html`` (no time
    stamps: reruns give the same files)."""
    out_dir = Path(out_dir)
    head = [
        "# wsnmec figures",
        "",
        f"Made by `wsnmec figures{' --quick' if quick else ''}` with wsnmec {__version__}. Each curve is the mean"
        f" over seeds; the band is a 95 % percentile-bootstrap confidence interval of the mean ({N_BOOT}"
        f" resamples, bootstrap seed {BOOTSTRAP_SEED}). FND / HND / LND: round in which the first node died,"
        " half of the nodes were dead, the last node died.",
        "",
    ]
    text = "\n".join(head + list(sections))
    if extra:
        text += "\n" + "\n".join(extra) + "\n"
    from .html import markdown_to_html

    write_text(out_dir / "index.html", markdown_to_html(text, "wsnmec figures"))
    return write_text(out_dir / "README.md", text)


def write_index(entries: list[tuple[FigureSpec, object, list[Path]]], out_dir, quick: bool,
                sections: list[str] = ()) -> Path:
    """Write the index (:func:`write_index_sections`) of ``entries`` ``(figure, run, [png, pdf])``, grouped
    by study in order, then ``sections`` (Markdown, e.g. the partition studies')."""
    studies: list[tuple[object, list]] = []
    for figure, run, paths in entries:
        if not studies or studies[-1][0].spec.name != run.spec.name:
            studies.append((run, []))
        studies[-1][1].append((figure, paths))
    return write_index_sections([study_section(run, figures, out_dir) for run, figures in studies], out_dir,
                                quick, sections)


def lifetime_table(run) -> list[str]:
    """Markdown lines: mean [95 % CI] of FND, HND and LND per grid point of a study run (``study show``)."""
    from .runner import summary_table

    spec = run.spec
    table = summary_table(run.summary, spec)
    names = list(spec.grid)
    header = [*names, "seeds", "FND", "HND", "LND"]
    lines = [
        f"Lifetime per grid point [rounds]: mean [95 % CI] over seeds (`wsnmec study show {spec.name}`).",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for _, row in table.iterrows():
        cells = [_value(row[name]) for name in names] + [str(int(row["seeds"]))]
        for metric in ("fnd", "hnd", "lnd"):
            reached = int(row[f"{metric}_reached"])
            if reached == 0:
                cells.append("not reached")
                continue
            text = f"{_fmt(row[f'{metric}_mean'])} [{_fmt(row[f'{metric}_low'])}, {_fmt(row[f'{metric}_high'])}]"
            if reached < row["seeds"]:
                text += f" ({reached}/{int(row['seeds'])} seeds)"
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]
