"""The claims table: one planned primary comparison per thesis claim, every other comparison Holm-adjusted.

A study figure of kind ``claims`` names the compared parameter (``hue``, e.g. ``protocol``), the proposed
level (``reference``, e.g. ``ddnn``) and, in its ``primary`` table, the *primary comparison* fixed in the
study file before the run: the reference policy (``against``) and the scenario point (every other swept
parameter pinned to one of its values; further scenario keys restate what the base fixes, so that the file
says in one place what the primary comparison is)::

    [[figures]]
    kind = "claims"
    hue = "protocol"
    reference = "ddnn"
    [figures.primary]
    against = "leach-c"          # the strongest tuned non-learned reference
    sink = [50, 175]             # a swept parameter: one of its values
    workload = "dnn-inference"   # not swept: must equal the base value
    control_bits = 200

The thesis's claims (:data:`CLAIMS`) are measured as the relative change of the proposed policy,

- mean round latency, ``latency_s_mean`` [s] (negative = faster; the thesis claims up to -60 %), and
- energy efficiency, bits delivered to the sink per joule drawn, ``delivered_bits_total / energy_consumed_j``
  [bit/J] (positive = better; the thesis claims up to +40 %),

each as ``mean(proposed) / mean(baseline) - 1`` over the seeds, with a paired percentile-bootstrap interval
(the seeds are resampled together for both policies, since every grid point sees the same seeds;
:data:`N_BOOT` resamples, fixed seed :data:`BOOTSTRAP_SEED`).

Verdicts (the rule is fixed here, before any run; :func:`verdict`)
-------------------------------------------------------------------
Only the primary comparison of each claim gets a verdict, from its two-sided 95 % interval [low, high]
(d = -1 when lower is better, +1 when higher is better; c the claimed change):

- ``reproduced``: the whole interval is at least as good as the claim (d = -1: high <= c; d = +1: low >= c);
- ``contradicted``: the whole interval is on the wrong side of zero (d = -1: low > 0; d = +1: high < 0);
- ``not shown``: anything else (including an interval that cannot be computed).

A run with fewer than :data:`MIN_VERDICT_SEEDS` seeds (every ``--quick`` run, and any full run that small)
prints ``indicative (N seeds)`` instead of a verdict (:func:`verdicts_shown`): a percentile bootstrap over
a handful of seeds gives intervals (and p-values) far too narrow (with 2 seeds every resample is one of
three averages).

Secondary comparisons: Holm's step-down adjustment
--------------------------------------------------
Every other comparison (every other baseline, every other scenario point, both metrics) forms one family of
m comparisons, each tested against "no change" (H0: change = 0) with the two-sided bootstrap p-value
``p = min(1, 2 min(1 + #{r* <= 0}, 1 + #{r* >= 0}) / (B + 1))`` over the B bootstrap replicates r* of the
change (:func:`bootstrap_p_value`). Holm's sequentially rejective procedure (S. Holm, "A simple
sequentially rejective multiple test procedure", *Scandinavian Journal of Statistics* 6(2):65-70, 1979)
sorts the p-values, p_(1) <= ... <= p_(m) (ties kept in table order), and tests the comparison of rank i
at level alpha / (m - i + 1), stopping at the first that is not rejected. Here (:func:`holm`):

- the comparison of rank i gets the interval at confidence level ``1 - alpha / (m - i + 1)`` (alpha = 0.05):
  the smallest p-value the Bonferroni level 1 - alpha/m, the largest the unadjusted 1 - alpha;
- its Holm-adjusted p-value is ``p~_(i) = min(1, max_{k <= i} (m - k + 1) p_(k))``, and "differs from 0"
  means ``p~_(i) <= alpha`` (this includes the step-down stop: once a rank is not rejected, no later rank
  is, even if its own interval excludes zero).

These rank-adjusted intervals are the usual companions of Holm's test, not simultaneous confidence intervals
(those compatible with Holm's procedure, Strassburger & Bretz, *Statistics in Medicine* 27:4914-4927, 2008,
are at least as wide as Bonferroni's where a hypothesis is rejected); they keep a reader from reading an
unplanned comparison at the primary's 95 % level. Without seeds enough for verdicts the secondary table's
decision column also says ``indicative (N seeds)``.

The figure shows every change as a bar with its interval (the primary at 95 %, in orange; the secondary ones
Holm-adjusted) and the claims as dashed lines, on a symmetric-log axis with the outliers' values written beside
them; the reading is the two tables, written from that run's numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .styles import fitted_suptitle

#: The thesis's claims: metric -> (label, claimed relative change, direction: -1 lower is better, +1 higher).
CLAIMS = {
    "latency": ("mean round latency", -0.60, -1),
    "efficiency": ("energy efficiency (bit/J)", +0.40, +1),
}
#: Family-wise error rate of the secondary table, and 1 - the primary interval's confidence level.
ALPHA = 0.05
#: Confidence level of the primary interval (two-sided).
PRIMARY_LEVEL = 1.0 - ALPHA
#: Fewest seeds for which verdicts are printed (else "indicative (N seeds)").
MIN_VERDICT_SEEDS = 20
VERDICTS = ("reproduced", "not shown", "contradicted")

BOOTSTRAP_SEED = 20_240_607
#: Bootstrap resamples: enough for the tails of the Holm levels (at m = 24, 1 - 0.05/24 leaves 0.1 % per tail,
#: about 20 resamples).
N_BOOT = 20_000


# ----------------------------------------------------------------------------------------------- rules
def verdict(low: float, high: float, claim: float, direction: int) -> str:
    """The primary verdict of an interval [low, high] against a claimed change (module docstring)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "not shown"
    worst, best = (high, low) if direction < 0 else (low, high)
    if direction * worst >= direction * claim:
        return "reproduced"
    if direction * best < 0.0:
        return "contradicted"
    return "not shown"


def verdicts_shown(quick: bool, seeds: int) -> bool:
    """Verdicts are printed only for a full run with at least :data:`MIN_VERDICT_SEEDS` seeds."""
    return not quick and int(seeds) >= MIN_VERDICT_SEEDS


def indicative(seeds: int) -> str:
    """What a run without verdicts prints in their place."""
    return f"indicative ({int(seeds)} seeds)"


def bootstrap_p_value(replicates) -> float:
    """Two-sided bootstrap p-value of H0: change = 0 (module docstring); nan without finite replicates."""
    r = np.asarray(replicates, dtype=float)
    r = r[np.isfinite(r)]
    if r.size == 0:
        return float("nan")
    below, above = np.count_nonzero(r <= 0.0), np.count_nonzero(r >= 0.0)
    return float(min(1.0, 2.0 * min(1 + below, 1 + above) / (r.size + 1)))


def percentile_interval(replicates, level: float) -> tuple[float, float]:
    """Two-sided percentile interval of the bootstrap replicates at confidence ``level``."""
    r = np.asarray(replicates, dtype=float)
    r = r[np.isfinite(r)]
    if r.size == 0:
        return (float("nan"), float("nan"))
    tail = 50.0 * (1.0 - level)
    low, high = np.percentile(r, [tail, 100.0 - tail])
    return (float(low), float(high))


def holm(p_values, alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Holm's step-down adjustment of a family of p-values (module docstring; Holm 1979).

    Returns ``(rank, level, adjusted)`` per input position: the Holm rank i (1 = smallest p; ties in input
    order; 0 for a nan p-value, which is left out of the family), the confidence level
    ``1 - alpha / (m - i + 1)`` of its interval and the adjusted p-value
    ``min(1, max_{k <= i} (m - k + 1) p_(k))`` (nan for a nan p-value).
    """
    p = np.asarray(p_values, dtype=float)
    rank = np.zeros(p.size, dtype=np.int64)
    level = np.full(p.size, np.nan)
    adjusted = np.full(p.size, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = finite.size
    order = finite[np.argsort(p[finite], kind="stable")]
    running = 0.0
    for i, position in enumerate(order, start=1):
        rank[position] = i
        level[position] = 1.0 - alpha / (m - i + 1)
        running = max(running, min(1.0, (m - i + 1) * p[position]))
        adjusted[position] = running
    return rank, level, adjusted


def assess(table: pd.DataFrame, replicates: list, *, quick: bool, seeds: int) -> pd.DataFrame:
    """Intervals, verdicts and the Holm adjustment of a table of comparisons.

    Parameters
    ----------
    table : DataFrame
        One row per comparison with at least ``metric`` (a key of :data:`CLAIMS`), ``change`` and ``role``
        (``primary`` or ``secondary``).
    replicates : list of arrays
        The bootstrap replicates of each row's change.
    quick, seeds
        The run's mode and seeds (:func:`verdicts_shown`).

    Returns
    -------
    DataFrame
        ``table`` with ``claim``, ``low``, ``high``, ``level`` (confidence level of the interval),
        ``p_value``, ``holm_rank``, ``family`` (m), ``p_holm`` and ``verdict`` (primary rows: the verdict or
        ``indicative (N seeds)``; secondary rows: ``differs from 0`` / ``no difference shown`` by the Holm
        test, or ``indicative (N seeds)``).
    """
    out = table.reset_index(drop=True).copy()
    shown = verdicts_shown(quick, seeds)
    p_values = np.array([bootstrap_p_value(r) for r in replicates]) if len(replicates) else np.empty(0)
    secondary = (out["role"] == "secondary").to_numpy() if len(out) else np.zeros(0, dtype=bool)
    sec_p = np.where(secondary, p_values, np.nan)
    rank, level, adjusted = holm(sec_p)
    out["claim"] = [CLAIMS[m][1] for m in out["metric"]]
    lows, highs, levels, verdicts = [], [], [], []
    for i, row in enumerate(out.to_dict("records")):
        lvl = PRIMARY_LEVEL if not secondary[i] else level[i]
        low, high = percentile_interval(replicates[i], lvl) if np.isfinite(lvl) else (np.nan, np.nan)
        lows.append(low)
        highs.append(high)
        levels.append(lvl)
        if not shown:
            verdicts.append(indicative(seeds))
        elif secondary[i]:
            verdicts.append("differs from 0" if np.isfinite(adjusted[i]) and adjusted[i] <= ALPHA
                            else "no difference shown")
        else:
            verdicts.append(verdict(low, high, CLAIMS[row["metric"]][1], CLAIMS[row["metric"]][2]))
    out["low"], out["high"], out["level"] = lows, highs, levels
    out["p_value"] = p_values
    out["holm_rank"] = rank
    out["family"] = int(np.count_nonzero(rank))
    out["p_holm"] = adjusted
    out["verdict"] = verdicts
    return out


# ----------------------------------------------------------------------------------------------- lifetime studies
def _metrics(summary: pd.DataFrame) -> pd.DataFrame:
    out = summary.copy()
    out["latency"] = pd.to_numeric(out["latency_s_mean"], errors="coerce").astype(float)
    out["efficiency"] = (pd.to_numeric(out["delivered_bits_total"], errors="coerce").astype(float)
                         / pd.to_numeric(out["energy_consumed_j"], errors="coerce").astype(float))
    return out


def paired_change(proposed: np.ndarray, baseline: np.ndarray) -> tuple[float, np.ndarray]:
    """``mean(p)/mean(b) - 1`` and its :data:`N_BOOT` paired bootstrap replicates (seeds resampled together)."""
    proposed, baseline = np.asarray(proposed, dtype=float), np.asarray(baseline, dtype=float)
    ok = np.isfinite(proposed) & np.isfinite(baseline)
    proposed, baseline = proposed[ok], baseline[ok]
    if proposed.size == 0 or baseline.mean() == 0:
        return (float("nan"), np.empty(0))
    change = float(proposed.mean() / baseline.mean() - 1.0)
    if proposed.size == 1:
        return (change, np.array([change]))
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    idx = rng.integers(0, proposed.size, size=(N_BOOT, proposed.size))
    with np.errstate(divide="ignore", invalid="ignore"):
        replicates = proposed[idx].mean(axis=1) / baseline[idx].mean(axis=1) - 1.0
    return (change, replicates)


def _cell(value) -> str:
    """A scenario value as the study's summary table holds it (lists become ``"A,B"``)."""
    if isinstance(value, (list, tuple)):
        return ",".join(f"{v:g}" if isinstance(v, (int, float)) else str(v) for v in value)
    return str(value)


def _is_primary(point: dict, baseline: str, primary: dict | None, by: list[str]) -> bool:
    if not primary or baseline != primary["against"]:
        return False
    return all(_cell(point[name]) == _cell(primary[name]) for name in by if name in primary)


def claims_table(summary: pd.DataFrame, compared: str, proposed: str, by: list[str] | None = None,
                 primary: dict | None = None, *, quick: bool = False, seeds: int | None = None) -> pd.DataFrame:
    """One row per baseline, combination of ``by`` and claim: the change, its interval and verdict.

    Parameters
    ----------
    summary : DataFrame
        The study's per-task summary (one row per grid point and seed; ``seed_index`` pairs the seeds).
    compared : str
        The column holding the policies (e.g. ``protocol``).
    proposed : str
        The proposed policy's level.
    by : list of str
        Other swept parameters; one block of rows per combination.
    primary : dict, optional
        The primary comparison (``against`` and a value for each of ``by``); its rows have role
        ``primary``, every other row ``secondary``. Without it every row is secondary.
    quick : bool
        A ``--quick`` run (no verdicts).
    seeds : int, optional
        The run's seeds per point (default: the most paired seeds of any row).

    Returns
    -------
    DataFrame
        Columns ``*by, baseline, metric, role, seeds, change, claim, low, high, level, p_value, holm_rank,
        family, p_holm, verdict`` (:func:`assess`).
    """
    data = _metrics(summary)
    data[compared] = data[compared].astype(str)
    by = list(by or [])
    rows, replicates = [], []
    blocks = data.groupby(by, sort=False, dropna=False) if by else [((), data)]
    for key, block in blocks:
        key = key if isinstance(key, tuple) else (key,)
        mine = block[block[compared] == proposed].set_index("seed_index")
        if mine.empty:
            continue
        point = dict(zip(by, key))
        for baseline in block[compared].unique():
            if baseline == proposed:
                continue
            theirs = block[block[compared] == baseline].set_index("seed_index")
            paired = mine.index.intersection(theirs.index)
            role = "primary" if _is_primary(point, baseline, primary, by) else "secondary"
            for metric in CLAIMS:
                change, reps = paired_change(mine.loc[paired, metric].to_numpy(float),
                                             theirs.loc[paired, metric].to_numpy(float))
                rows.append({**point, "baseline": baseline, "metric": metric, "role": role,
                             "seeds": int(len(paired)), "change": change})
                replicates.append(reps)
    columns = [*by, "baseline", "metric", "role", "seeds", "change"]
    table = pd.DataFrame(rows, columns=columns)
    if seeds is None:
        seeds = int(table["seeds"].max()) if len(table) else 0
    return assess(table, replicates, quick=quick, seeds=seeds)


def _pct(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{100.0 * value:+.1f} %"


def _interval(row) -> str:
    return f"{_pct(row['change'])} [{_pct(row['low'])}, {_pct(row['high'])}]"


def _p(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.3g}"


def _labels(labels: dict | None) -> dict:
    return {metric: (labels or {}).get(metric, name) for metric, (name, _claim, _direction) in CLAIMS.items()}


def markdown_primary(table: pd.DataFrame, by: list[str], against_label: str = "against",
                     labels: dict | None = None) -> str:
    """The primary rows (one per claim) as Markdown lines (``labels``: metric -> name, default the claims')."""
    names = _labels(labels)
    head = ["claim", against_label, *by, "seeds", "change [95 % CI]", "thesis", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in table[table["role"] == "primary"].to_dict("records"):
        cells = [names[row["metric"]], str(row["baseline"]), *(str(row[c]) for c in by), str(row["seeds"]),
                 _interval(row), _pct(row["claim"]), row["verdict"]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_secondary(table: pd.DataFrame, by: list[str], against_label: str = "against",
                       labels: dict | None = None) -> str:
    """The secondary rows as Markdown lines (Holm-adjusted intervals and p-values)."""
    names = _labels(labels)
    head = [against_label, *by, "metric", "seeds", "change [Holm-adjusted CI]", "level", "p", "p (Holm)",
            "Holm, 5 %"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in table[table["role"] == "secondary"].to_dict("records"):
        level = "n/a" if not np.isfinite(row["level"]) else f"{100 * row['level']:.2f} %"
        cells = [str(row["baseline"]), *(str(row[c]) for c in by), names[row["metric"]], str(row["seeds"]),
                 _interval(row), level, _p(row["p_value"]), _p(row["p_holm"]), row["verdict"]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(table: pd.DataFrame, by: list[str], against_label: str = "against", labels: dict | None = None) -> str:
    """Both tables as Markdown: the primary comparison, then the secondary ones (``labels``: metric -> name)."""
    family = int(table["family"].max()) if len(table) else 0
    parts = []
    if (table["role"] == "primary").any():
        parts += ["Primary comparison (fixed in the study file before the run):", "",
                  markdown_primary(table, by, against_label, labels), ""]
    parts += [f"Secondary comparisons (m = {family}, Holm step-down; the interval of Holm rank i at level "
              "1 - 0.05 / (m - i + 1)):", "", markdown_secondary(table, by, against_label, labels)]
    return "\n".join(parts)


def _other_swept(spec, compared: str) -> list[str]:
    return [name for name in spec.grid if name != compared]


def _primary(figure) -> dict | None:
    return dict(figure.primary) if getattr(figure, "primary", None) else None


def _run_table(figure, spec, summary) -> pd.DataFrame:
    by = _other_swept(spec, figure.hue)
    return claims_table(summary, figure.hue, figure.reference, by, _primary(figure), quick=spec.quick,
                        seeds=spec.seeds)


#: The claims figure's axis is symmetric-logarithmic: linear within +/- this change [%], logarithmic beyond,
#: so that one change of thousands of percent does not flatten the others.
LINEAR_WITHIN_PCT = 100.0
#: Colours of the claims figure: the primary comparison, the secondary ones (Okabe & Ito 2008).
PRIMARY_COLOUR, SECONDARY_COLOUR = "#D55E00", "#0072B2"


def _pct_label(value: float) -> str:
    """A change [%] as a bar label: ``+13,960 %``."""
    return f"{value:+,.0f} %"


def symlog_ticks(low: float, high: float, linear: float = LINEAR_WITHIN_PCT) -> list[float]:
    """Tick positions [%] of a symmetric-log axis from ``low`` to ``high``: every ``linear / 2`` within the
    linear part (-linear..linear; every ``linear`` when the axis goes beyond it), then each decade
    (1,000 %, 10,000 %, ...) beyond."""
    beyond = max(abs(low), abs(high)) >= linear * 10
    ticks = [v for v in np.arange(-linear, linear + 1e-9, linear if beyond else linear / 2) if low <= v <= high]
    decade = linear * 10
    while decade <= max(abs(low), abs(high)):
        ticks += [t for t in (-decade, decade) if low <= t <= high]
        decade *= 10
    return sorted(set(float(t) for t in ticks))


def claims_figure(figure, spec, rounds: pd.DataFrame, summary: pd.DataFrame):
    """Bars of the proposed policy's relative change against each baseline, with intervals and the claims.

    The change axis is symmetric-logarithmic (linear within +/- :data:`LINEAR_WITHIN_PCT` %, logarithmic
    beyond): a bar outside the linear part (an outlier such as +13,960 %) keeps the others readable and is
    labelled with its value. The legend is under the panels, outside the data."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FixedLocator, FuncFormatter

    by = _other_swept(spec, figure.hue)
    table = _run_table(figure, spec, summary)
    blocks = list(table.groupby(by, sort=False) if by else [((), table)])
    height = 3.2 * max(1, len(blocks)) + 0.6
    fig, axes = plt.subplots(len(blocks) or 1, 2, figsize=(10, height), squeeze=False)
    for row_axes, (key, block) in zip(axes, blocks):
        key = key if isinstance(key, tuple) else (key,)
        where = ", ".join(f"{n} = {v}" for n, v in zip(by, key))
        for ax, (metric, (name, claim, _direction)) in zip(row_axes, CLAIMS.items()):
            rows = block[block["metric"] == metric]
            y = np.arange(len(rows))
            change = 100 * rows["change"].to_numpy(float)
            low = 100 * rows["low"].to_numpy(float)
            high = 100 * rows["high"].to_numpy(float)
            colors = [PRIMARY_COLOUR if role == "primary" else SECONDARY_COLOUR for role in rows["role"]]
            ax.barh(y, change, xerr=[change - low, high - change], color=colors, alpha=0.8, capsize=3)
            ax.axvline(100 * claim, color=PRIMARY_COLOUR, linestyle="--")
            ax.text(100 * claim, 1.0, f"claim {100 * claim:+.0f} %", transform=ax.get_xaxis_transform(),
                    ha="center", va="bottom", fontsize="x-small", color=PRIMARY_COLOUR)
            ax.axvline(0, color="black", linewidth=0.8)
            ax.set_xscale("symlog", linthresh=LINEAR_WITHIN_PCT, linscale=1.0)
            values = np.concatenate([change, low, high, [100 * claim, 0.0]])
            values = values[np.isfinite(values)]
            left, right = min(-LINEAR_WITHIN_PCT, values.min()), max(LINEAR_WITHIN_PCT, values.max())
            beyond = np.abs(values).max() > LINEAR_WITHIN_PCT
            ax.set_xlim(left * (1.6 if left < -LINEAR_WITHIN_PCT else 1.05), right * (3.0 if beyond else 1.05))
            ax.xaxis.set_major_locator(FixedLocator(symlog_ticks(*ax.get_xlim())))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
            ax.xaxis.set_minor_locator(FixedLocator([]))
            for position, value in zip(y, change):
                if np.isfinite(value) and abs(value) > LINEAR_WITHIN_PCT:  # an outlier: its value beside the bar
                    ax.annotate(_pct_label(value), (value, position), xytext=(4 if value > 0 else -4, 0),
                                textcoords="offset points", ha="left" if value > 0 else "right", va="center",
                                fontsize="x-small", color="0.15")
            ax.set_yticks(y)
            ax.set_yticklabels([f"{b} (primary, 95 %)" if r == "primary" else b
                                for b, r in zip(rows["baseline"], rows["role"])])
            ax.set_xlabel(f"change of {figure.reference} in {name} [%]")
            ax.set_title(where or name, fontsize="small", pad=14)
    handles = [Patch(color=PRIMARY_COLOUR, alpha=0.8), Patch(color=SECONDARY_COLOUR, alpha=0.8),
               Line2D([], [], color=PRIMARY_COLOUR, linestyle="--")]
    texts = ["primary comparison (95 % interval)", "secondary comparison (Holm-adjusted interval)",
             "thesis claim"]
    legend_in = 0.55 / height  # the figure's bottom strip, under the panels
    fig.legend(handles, texts, loc="lower center", ncol=3, frameon=False, fontsize="small",
               bbox_to_anchor=(0.5, 0.0))
    title = figure.title
    if not verdicts_shown(spec.quick, spec.seeds):
        title = f"{title} ({indicative(spec.seeds)})" if title else indicative(spec.seeds)
    if title:
        fitted_suptitle(fig, title)
    fig.tight_layout(rect=(0, legend_in, 1, 1))
    return fig


def _primary_words(primary: dict | None, compared: str) -> str:
    if not primary:
        return "no primary comparison declared (no verdicts)"
    point = ", ".join(f"{k} = {_cell(v)}" for k, v in primary.items() if k != "against")
    return f"against {compared} = {primary['against']}" + (f" at {point}" if point else "")


def claims_reading(figure, run) -> str:
    """The claims tables of the run (Markdown), introduced by the rule."""
    spec = run.spec
    by = _other_swept(spec, figure.hue)
    table = _run_table(figure, spec, run.summary)
    primary = _primary(figure)
    mode = ("verdicts" if verdicts_shown(spec.quick, spec.seeds)
            else f"no verdicts: {indicative(spec.seeds)}, verdicts need a full run with >= {MIN_VERDICT_SEEDS} seeds")
    return (f"change of {figure.reference} over {spec.seeds} seeds (mean ratio - 1, paired percentile bootstrap, "
            f"{N_BOOT} resamples); primary comparison {_primary_words(primary, figure.hue)}, two-sided 95 % "
            "interval: reproduced when the whole interval is at least as good as the claim, contradicted when it "
            f"is wholly on the wrong side of zero, else not shown ({mode}):\n\n"
            + markdown(table, by) + "\n")
