"""How every series of every figure is drawn: one colour, dash pattern and marker per policy, the same in
every figure (study figures, partition figures, ``wsnmec compare``), and the helpers that draw a series so
that overlapping series stay visible.

A policy's style comes from one table, :data:`POLICY_STYLES` (a clustering policy and an alias share one
entry: ``ileach`` is drawn as ``leach-dchs``). Within each family of policies that appear together (the
clustering policies; the offloading and partition policies) every entry has its own colour and its own
marker, so two policies differ in colour *and* marker, and most in dash pattern too. A policy the table
does not know (a plug-in ``module:Class`` or an entry point) gets the next free style deterministically
(:func:`series_styles`): the unknown names of a figure, sorted, take in turn a colour that no known policy
of that figure uses (then the palette again from its start) with a marker and dash pattern that no table
entry uses, so a plug-in never looks like a built-in policy. Levels that are not policies (e.g. ``nodes``,
``case``) get the palette's colours and :data:`LEVEL_MARKERS` in order.

Colours are the colour-blind-safe :data:`LINE_COLOURS` (Okabe & Ito 2008; Paul Tol 2021; each pair at
least CIE76 Delta E 15 apart in normal vision, deuteranopia and protanopia, tested).

Overlapping series stay visible (:func:`plot_series`): markers are drawn at about :data:`MARKERS_PER_LINE`
points of a long series, staggered between the series so that two identical curves show both sets of
markers; markers have a white edge; broken (dashed, dotted) lines are drawn above solid ones, so that a
solid line under a dotted one shows through its gaps; lines are slightly transparent (:data:`LINE_ALPHA`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Colour-blind-safe line colours (Okabe & Ito 2008, "Color Universal Design"), ordered so that the first
#: five differ in lightness as well as hue (blue, orange, bluish green, reddish purple, black) and stay
#: apart under deuteranopia and protanopia; then sky blue, vermillion, yellow; then indigo and wine from
#: Paul Tol's colour-blind-safe "muted" scheme (Tol 2021) and a dark brown, so that eleven policies keep
#: eleven colours; then Tol's dark green and pink (Tol 2021, "bright" and "light"), for thirteen.
LINE_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#000000", "#56B4E9", "#D55E00", "#F0E442",
                "#332288", "#882255", "#663300", "#117733", "#FFAABB")
BLUE, ORANGE, GREEN, PURPLE, BLACK, SKY, VERMILLION, YELLOW, INDIGO, WINE, BROWN, DARK_GREEN, PINK = LINE_COLOURS

#: Dash patterns (solid first), as matplotlib (offset, on-off) dash tuples: of a figure's ``style`` levels,
#: and of the policies when no ``style`` column is drawn.
LINE_DASHES = ((0, ()), (0, (5, 2)), (0, (1.2, 1.6)), (0, (6, 2, 1.2, 2)), (0, (9, 3)), (0, (3, 1.5, 1, 1.5, 1, 1.5)))
SOLID, DASHED, DOTTED, DASH_DOT, LONG_DASH, DASH_DOT_DOT = LINE_DASHES

#: Markers of levels that are not policies, in order (filled markers: they keep a white edge).
LEVEL_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h", "*")
#: Markers and dash patterns of policies the table does not know (none of them is in the table).
FREE_MARKERS = ("p", "H")
FREE_DASHES = ((0, (2, 1)), (0, (7, 1.5, 1.5, 1.5)), (0, (12, 2)), (0, (1, 3)))

#: Markers on a long series (more points than :data:`EVERY_POINT_UP_TO`): about this many, staggered.
MARKERS_PER_LINE = 8
#: A series with at most this many points gets a marker at every point.
EVERY_POINT_UP_TO = 15
#: Opacity of lines (overlapping lines blend instead of hiding each other).
LINE_ALPHA = 0.9
LINE_WIDTH = 1.4
MARKER_SIZE = 5.0


@dataclass(frozen=True)
class SeriesStyle:
    """How one series is drawn: ``colour`` (hex), ``dashes`` (a matplotlib linestyle) and ``marker``."""

    colour: str
    dashes: tuple
    marker: str


def _family(*entries) -> dict[str, SeriesStyle]:
    return {name: SeriesStyle(colour, dashes, marker) for name, colour, dashes, marker in entries}


#: Policy name -> style. Two families, each with its own colours and markers: the clustering policies
#: (``--protocol``) and the offloading and partition policies (``wsnmec offload``, partition studies).
POLICY_STYLES: dict[str, SeriesStyle] = {
    **_family(
        ("ddnn", BLUE, SOLID, "o"),
        ("ddnn-rule", SKY, DASHED, "s"),
        ("direct", BLACK, DOTTED, "X"),
        ("leach", ORANGE, SOLID, "^"),
        ("leach-dchs", BROWN, DASH_DOT, "v"),
        ("leach-c", GREEN, DASHED, "D"),
        ("deec", PURPLE, LONG_DASH, "P"),
        ("heed", VERMILLION, DASH_DOT_DOT, "<"),
        ("spread", INDIGO, SOLID, ">"),
        ("anneal", WINE, DOTTED, "h"),
        ("lp-schedule", YELLOW, LONG_DASH, "*"),
        ("ddnn-price", DARK_GREEN, SOLID, "d"),
        ("ddnn-price-rule", PINK, DASHED, "8"),
    ),
    **_family(
        ("ddlo", BLUE, SOLID, "o"),
        ("optimal", BLACK, DOTTED, "X"),
        ("coordinate-descent", ORANGE, DASHED, "s"),
        ("greedy", GREEN, DASH_DOT, "^"),
        ("jsq-neurosurgeon", VERMILLION, SOLID, "D"),
        ("capacity-proportional", PURPLE, LONG_DASH, "v"),
        ("neurosurgeon", SKY, DASH_DOT_DOT, "P"),
        ("all-to-nearest", INDIGO, DOTTED, "<"),
        ("all-local", WINE, DASHED, ">"),
        ("all-offload", YELLOW, LONG_DASH, "h"),  # not in partition studies: their figures need no yellow line
        ("random", BROWN, DOTTED, "*"),
    ),
}


def known_policy(name) -> str | None:
    """The :data:`POLICY_STYLES` key of a policy name (aliases resolved), or None."""
    if not isinstance(name, str):
        return None
    if name in POLICY_STYLES:
        return name
    from ..clustering.registry import canonical_name

    canonical = canonical_name(name)
    return canonical if canonical in POLICY_STYLES else None


def is_policy_level(level) -> bool:
    """Whether a level names a policy: one of :data:`POLICY_STYLES` (or an alias) or a plug-in
    ``module:Class``."""
    return known_policy(level) is not None or (isinstance(level, str) and ":" in level)


def series_styles(levels, policies: bool | None = None) -> dict:
    """Level -> :class:`SeriesStyle` for the levels of a figure.

    Parameters
    ----------
    levels : list
        The levels in legend order (e.g. a figure's protocols).
    policies : bool, optional
        Whether the levels are policies (default: when every level :func:`is_policy_level`, or any is in
        :data:`POLICY_STYLES`).

    Notes
    -----
    Policies: a known policy's style is its :data:`POLICY_STYLES` entry whatever else the figure shows; the
    unknown ones, sorted by name, take in turn the free colours (:data:`LINE_COLOURS` not used by a known
    policy of the figure, then every colour again from the start), with :data:`FREE_MARKERS` and
    :data:`FREE_DASHES` in turn. Other levels: colour, marker and (solid) line in the order given.
    """
    levels = list(levels)
    if policies is None:
        policies = bool(levels) and (all(is_policy_level(v) for v in levels)
                                     or any(known_policy(v) is not None for v in levels))
    if not policies:
        return {level: SeriesStyle(LINE_COLOURS[i % len(LINE_COLOURS)], SOLID, LEVEL_MARKERS[i % len(LEVEL_MARKERS)])
                for i, level in enumerate(levels)}
    known = {level: POLICY_STYLES[known_policy(level)] for level in levels if known_policy(level) is not None}
    used = {style.colour for style in known.values()}
    free = [c for c in LINE_COLOURS if c not in used] + list(LINE_COLOURS)
    unknown = sorted({str(level) for level in levels if level not in known})
    extra = {name: SeriesStyle(free[k % len(free)], FREE_DASHES[k % len(FREE_DASHES)], FREE_MARKERS[k % len(FREE_MARKERS)])
             for k, name in enumerate(unknown)}
    return {level: known[level] if level in known else extra[str(level)] for level in levels}


def marker_positions(points: int, index: int, count: int):
    """``markevery`` of series ``index`` of ``count`` with ``points`` points: every point of a short series;
    else about :data:`MARKERS_PER_LINE` markers, the series' first one shifted by ``index / count`` of the
    spacing, so that the markers of overlapping series do not cover each other."""
    if points <= EVERY_POINT_UP_TO:
        return None
    step = max(1, math.ceil(points / MARKERS_PER_LINE))
    return (int(step * (index % max(1, count)) / max(1, count)) + step // (2 * max(1, count)), step)


def plot_series(ax, xs, ys, style: SeriesStyle, *, index: int = 0, count: int = 1, dashes=None, label=None,
                linewidth: float = LINE_WIDTH, **options):
    """Draw one series as a line with its style's colour, dash pattern (or ``dashes``) and staggered markers
    (:func:`marker_positions`); broken lines above solid ones. Returns the Line2D."""
    linestyle = style.dashes if dashes is None else dashes
    solid = linestyle in (SOLID, "-", "solid")
    (line,) = ax.plot(xs, ys, color=style.colour, linestyle=linestyle, linewidth=linewidth, alpha=LINE_ALPHA,
                      marker=style.marker, markersize=MARKER_SIZE, markeredgecolor="white", markeredgewidth=0.6,
                      markevery=marker_positions(len(xs), index, count), zorder=2.0 if solid else 2.1, label=label,
                      **options)
    return line


def legend_handle(style: SeriesStyle, dashes=None, linewidth: float = 1.6):
    """A legend entry drawn as the series is: colour, dash pattern (or ``dashes``) and one marker."""
    from matplotlib.lines import Line2D

    return Line2D([], [], color=style.colour, linestyle=style.dashes if dashes is None else dashes,
                  linewidth=linewidth, marker=style.marker, markersize=MARKER_SIZE + 0.5, markeredgecolor="white",
                  markeredgewidth=0.6)


def integer_ticks(axis) -> None:
    """Ticks at whole numbers only on an axis that counts things (rounds, nodes, devices, frames); a linear
    axis only (a log axis keeps its decades)."""
    from matplotlib.ticker import MaxNLocator

    if axis.get_scale() == "linear":
        axis.set_major_locator(MaxNLocator(integer=True))


def legend_right(ax, handles=None, labels=None, **options):
    """The legend right of ``ax``, outside the data (the project's place for every legend)."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    settings = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "frameon": False, "fontsize": "small",
                "title_fontsize": "small", "handlelength": 2.6, **options}
    return ax.legend(handles, labels, **settings)


def fitted_suptitle(fig, title: str):
    """``fig.suptitle(title)``, wrapped onto more lines when it is wider than 90 % of the figure (a saved image cuts
    it at both sides); a title that fits is drawn as given. Returns the title's Text."""
    import textwrap

    text = fig.suptitle(title)
    renderer = fig.canvas.get_renderer()
    limit = 0.9 * fig.bbox.width
    width = len(title)
    while width > 12 and text.get_window_extent(renderer).width > limit:
        width = int(width * 0.9)
        text.set_text(textwrap.fill(title, width))
    return text


__all__ = ["LINE_COLOURS", "LINE_DASHES", "POLICY_STYLES", "SeriesStyle", "fitted_suptitle", "integer_ticks",
           "legend_handle", "legend_right", "marker_positions", "plot_series", "series_styles"]
