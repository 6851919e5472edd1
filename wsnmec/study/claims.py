"""The claims table: the proposed policy's measured change against each baseline, beside the thesis's claims.

A study figure of kind ``claims`` names the compared parameter (``hue``, e.g. ``protocol``) and the proposed
level (``reference``, e.g. ``ddnn``). For every other level (a baseline) and every combination of the other
swept parameters, it reports the relative change of the proposed policy in

- mean round latency, ``latency_s_mean`` [s] (negative = faster; the thesis claims up to -60 %), and
- energy efficiency, bits delivered to the sink per joule drawn, ``delivered_bits_total / energy_consumed_j``
  [bit/J] (positive = better; the thesis claims up to +40 %),

each as ``mean(proposed) / mean(baseline) - 1`` over the seeds, with a 95 % paired percentile-bootstrap
interval (the seeds are resampled together for both policies, since every grid point sees the same seeds;
:data:`wsnmec.study.figures.N_BOOT` resamples, fixed seed). A claim counts as *reproduced* when the whole
interval is at least as good as the claimed change, *not reproduced* otherwise. The figure shows the changes
as bars with their intervals and the claims as dashed lines; the reading is the table, written from that run's
numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The thesis's claims: metric -> (label, claimed relative change, direction: -1 lower is better, +1 higher).
CLAIMS = {
    "latency": ("mean round latency", -0.60, -1),
    "efficiency": ("energy efficiency (bit/J)", +0.40, +1),
}

BOOTSTRAP_SEED = 20_240_607
N_BOOT = 1000


def _metrics(summary: pd.DataFrame) -> pd.DataFrame:
    out = summary.copy()
    out["latency"] = pd.to_numeric(out["latency_s_mean"], errors="coerce").astype(float)
    out["efficiency"] = (pd.to_numeric(out["delivered_bits_total"], errors="coerce").astype(float)
                         / pd.to_numeric(out["energy_consumed_j"], errors="coerce").astype(float))
    return out


def _paired_change(proposed: np.ndarray, baseline: np.ndarray) -> tuple[float, float, float]:
    """``mean(p)/mean(b) - 1`` and its 95 % paired bootstrap interval."""
    ok = np.isfinite(proposed) & np.isfinite(baseline)
    proposed, baseline = proposed[ok], baseline[ok]
    if proposed.size == 0 or baseline.mean() == 0:
        return (np.nan, np.nan, np.nan)
    change = proposed.mean() / baseline.mean() - 1.0
    if proposed.size == 1:
        return (change, change, change)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    idx = rng.integers(0, proposed.size, size=(N_BOOT, proposed.size))
    ratios = proposed[idx].mean(axis=1) / baseline[idx].mean(axis=1) - 1.0
    low, high = np.percentile(ratios, [2.5, 97.5])
    return (float(change), float(low), float(high))


def claims_table(summary: pd.DataFrame, compared: str, proposed: str, by: list[str] | None = None) -> pd.DataFrame:
    """One row per baseline (and combination of ``by``): the relative changes with intervals and verdicts.

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
    """
    data = _metrics(summary)
    data[compared] = data[compared].astype(str)
    by = list(by or [])
    rows = []
    blocks = data.groupby(by, sort=False, dropna=False) if by else [((), data)]
    for key, block in blocks:
        key = key if isinstance(key, tuple) else (key,)
        mine = block[block[compared] == proposed].set_index("seed_index")
        if mine.empty:
            continue
        for baseline in block[compared].unique():
            if baseline == proposed:
                continue
            theirs = block[block[compared] == baseline].set_index("seed_index")
            seeds = mine.index.intersection(theirs.index)
            row = dict(zip(by, key))
            row.update({"baseline": baseline, "seeds": int(len(seeds))})
            for metric, (_label, claim, direction) in CLAIMS.items():
                change, low, high = _paired_change(mine.loc[seeds, metric].to_numpy(float),
                                                   theirs.loc[seeds, metric].to_numpy(float))
                worst = high if direction < 0 else low
                row[f"{metric}_change"] = change
                row[f"{metric}_low"] = low
                row[f"{metric}_high"] = high
                row[f"{metric}_claim"] = claim
                row[f"{metric}_verdict"] = ("reproduced" if np.isfinite(worst) and direction * worst >= direction * claim
                                            else "not reproduced")
            rows.append(row)
    return pd.DataFrame(rows)


def _pct(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{100.0 * value:+.1f} %"


def markdown(table: pd.DataFrame, by: list[str]) -> str:
    """The claims table as Markdown lines."""
    head = [*by, "baseline", "seeds", "latency change [95 % CI]", "thesis", "verdict",
            "efficiency change [95 % CI]", "thesis", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in table.to_dict("records"):
        cells = [str(row[c]) for c in by] + [str(row["baseline"]), str(row["seeds"])]
        for metric in CLAIMS:
            cells += [f"{_pct(row[f'{metric}_change'])} [{_pct(row[f'{metric}_low'])}, {_pct(row[f'{metric}_high'])}]",
                      _pct(row[f"{metric}_claim"]), row[f"{metric}_verdict"]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _other_swept(spec, compared: str) -> list[str]:
    return [name for name in spec.grid if name != compared]


def claims_figure(figure, spec, rounds: pd.DataFrame, summary: pd.DataFrame):
    """Bars of the proposed policy's relative change against each baseline, with intervals and the claims."""
    import matplotlib.pyplot as plt

    by = _other_swept(spec, figure.hue)
    table = claims_table(summary, figure.hue, figure.reference, by)
    blocks = table.groupby(by, sort=False) if by else [((), table)]
    blocks = list(blocks)
    fig, axes = plt.subplots(len(blocks) or 1, 2, figsize=(10, 3.2 * max(1, len(blocks))), squeeze=False)
    for row_axes, (key, block) in zip(axes, blocks):
        key = key if isinstance(key, tuple) else (key,)
        where = ", ".join(f"{n} = {v}" for n, v in zip(by, key))
        for ax, (metric, (name, claim, _direction)) in zip(row_axes, CLAIMS.items()):
            y = np.arange(len(block))
            change = 100 * block[f"{metric}_change"].to_numpy(float)
            low = 100 * block[f"{metric}_low"].to_numpy(float)
            high = 100 * block[f"{metric}_high"].to_numpy(float)
            ax.barh(y, change, xerr=[change - low, high - change], color="#0072B2", alpha=0.8, capsize=3)
            ax.axvline(100 * claim, color="#D55E00", linestyle="--", label=f"thesis claim {100 * claim:+.0f} %")
            ax.axvline(0, color="black", linewidth=0.8)
            ax.set_yticks(y)
            ax.set_yticklabels(block["baseline"].tolist())
            ax.set_xlabel(f"change of {figure.reference} in {name} [%]")
            ax.set_title(where or name, fontsize="small")
            ax.legend(loc="best", fontsize="small")
    if figure.title:
        fig.suptitle(figure.title)
    fig.tight_layout()
    return fig


def claims_reading(figure, run) -> str:
    """The claims table of the run (Markdown), introduced by one sentence."""
    by = _other_swept(run.spec, figure.hue)
    table = claims_table(run.summary, figure.hue, figure.reference, by)
    return (f"change of {figure.reference} against each baseline over {run.spec.seeds} seeds (mean ratio - 1, 95 % "
            "paired bootstrap interval); a claim is reproduced only when the whole interval is at least as good:\n\n"
            + markdown(table, by) + "\n")
