"""Network maps: the deployment at a round, drawn from the simulation itself (``wsnmec map``).

A map shows the field, the sink, every node coloured by its residual energy at the end of the round, the
dead nodes (crosses), the round's cluster heads (triangles) and each sending node's link to its receiver
(member -> cluster head, and direct links to the sink). It is drawn from
:class:`wsnmec.sim.rounds.RoundLoop`, the round-by-round form of the simulator that gives the same tables as
:func:`wsnmec.sim.simulate` bit for bit: the same scenario and replica seed give the same picture as the
run's tables (alive nodes, cluster heads and total residual energy of the round agree; tested).

Replica ``i`` of ``wsnmec run --seed S --replicas K`` has seed ``replica_seeds(S, K)[i]``, which does not
depend on K; ``--replica i`` selects it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ParameterError

#: Most frames of one animation (each frame is one round).
MAX_FRAMES = 2000
#: Frames per second of the GIF.
GIF_FPS = 8

#: Artist labels of a map (tests and users find the plotted data by them).
ALIVE, HEADS, DEAD, LINKS, SINK_LINKS, SINK = (
    "alive nodes", "cluster heads", "dead nodes", "member links", "links to the sink", "sink")


@dataclass
class MapState:
    """One round of one replica, as the map draws it (copies, not views of the running simulation).

    Attributes
    ----------
    round : int
        Round r (from 1).
    x, y : float64[N]
        Node positions [m].
    energy : float64[N]
        Stored energy at the end of the round [J] (the MATLAB-style accounting may leave it negative).
    capacity : float64[N]
        Battery capacity [J].
    alive : bool[N]
        Alive at the end of the round.
    heads : bool[N]
        The round's cluster heads.
    receivers : int64[N]
        Each node's receiver in the round: a node index (a cluster head; a head's own index), -1 the sink,
        -2 not sending (dead before the round).
    sink : (float, float)
        Sink position [m].
    field : (float, float)
        Field width and height [m].
    record : dict
        The round's row of the run's rounds table (``alive``, ``cluster_heads``, ``residual_j``, ...).
    """

    round: int
    x: np.ndarray
    y: np.ndarray
    energy: np.ndarray
    capacity: np.ndarray
    alive: np.ndarray
    heads: np.ndarray
    receivers: np.ndarray
    sink: tuple[float, float]
    field: tuple[float, float]
    record: dict


def map_states(scenario, seed: int, rounds, progress=None) -> list[MapState]:
    """The states at the end of each round in ``rounds`` (sorted, >= 1) of the replica with ``seed``.

    ``progress`` (optional) is called with 1 after each simulated round.

    Raises
    ------
    ParameterError
        ``--round`` when a requested round comes after the last node died.
    """
    from .sim.rounds import RoundLoop

    wanted = sorted({int(r) for r in rounds})
    if not wanted or wanted[0] < 1:
        raise ParameterError("--round", f"must be >= 1, got {wanted[0] if wanted else 'nothing'}")
    cap = scenario.max_rounds
    if wanted[-1] > cap:  # (before simulating: once found after the cap's rounds, naming an absent --rounds)
        limit = (f"the run's --rounds ({cap})" if scenario.rounds is not None
                 else f"{cap}, the rounds a run simulates at most without --rounds")
        raise ParameterError("--round", f"must be at most {limit}; got {wanted[-1]}")
    loop = RoundLoop(scenario, seed)
    states = []
    for r in range(1, wanted[-1] + 1):
        alive_after = loop.step()
        if progress is not None:
            progress(1)
        if r in wanted:
            states.append(MapState(
                round=r, x=loop.x.copy(), y=loop.y.copy(), energy=loop.energy.copy(),
                capacity=loop.capacity.copy(), alive=loop.alive.astype(bool), heads=loop.last_heads.copy(),
                receivers=loop.work.target.copy(), sink=tuple(float(v) for v in loop.deployment.sink),
                field=tuple(float(v) for v in scenario.field), record=loop.last_record,
            ))
        if alive_after == 0 and not loop.can_revive and r < wanted[-1]:
            raise ParameterError(
                "--round", f"the last node of this replica died in round {r}; choose a round <= {r}, got {wanted[-1]}"
            )
    return states


def _segments(state: MapState):
    """(member -> head segments, node -> sink segments) of the round's sending nodes (heads excluded)."""
    senders = np.flatnonzero((state.receivers != -2) & ~state.heads)
    to_head = senders[state.receivers[senders] >= 0]
    to_sink = senders[state.receivers[senders] == -1]
    heads = state.receivers[to_head]
    member = np.stack([np.column_stack([state.x[to_head], state.y[to_head]]),
                       np.column_stack([state.x[heads], state.y[heads]])], axis=1)
    sink = np.array(state.sink, dtype=float)
    direct = np.stack([np.column_stack([state.x[to_sink], state.y[to_sink]]),
                       np.broadcast_to(sink, (to_sink.size, 2))], axis=1)
    return member, direct


def draw_map(ax, state: MapState, norm, cmap="viridis", title: str | None = None, legend: bool = True):
    """Draw ``state`` on ``ax`` (cleared first). Returns the scatter of alive nodes (for a colour bar)."""
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Rectangle

    ax.clear()
    width, height = state.field
    ax.add_patch(Rectangle((0, 0), width, height, fill=False, linestyle="--", linewidth=0.8, edgecolor="0.5"))
    member, direct = _segments(state)
    ax.add_collection(LineCollection(member, colors="0.55", linewidths=0.6, label=LINKS, zorder=1))
    ax.add_collection(LineCollection(direct, colors="0.75", linewidths=0.5, linestyles=":", label=SINK_LINKS,
                                     zorder=1))
    alive = state.alive & ~state.heads
    points = ax.scatter(state.x[alive], state.y[alive], c=state.energy[alive], cmap=cmap, norm=norm, s=22,
                        edgecolors="0.2", linewidths=0.3, label=ALIVE, zorder=3)
    heads = state.heads
    ax.scatter(state.x[heads], state.y[heads], c=state.energy[heads], cmap=cmap, norm=norm, s=90, marker="^",
               edgecolors="black", linewidths=1.0, label=HEADS, zorder=4)
    dead = ~state.alive
    ax.scatter(state.x[dead], state.y[dead], c="#D55E00", s=20, marker="x", linewidths=1.0, label=DEAD, zorder=2)
    ax.scatter([state.sink[0]], [state.sink[1]], c="black", s=140, marker="s", label=SINK, zorder=5)
    xs = np.concatenate([state.x, [0.0, width, state.sink[0]]])
    ys = np.concatenate([state.y, [0.0, height, state.sink[1]]])
    pad = 0.04 * max(np.ptp(xs), np.ptp(ys), 1.0)
    ax.set_xlim(xs.min() - pad, xs.max() + pad)
    ax.set_ylim(ys.min() - pad, ys.max() + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("x [m]")
    ax.set_ylabel("y [m]")
    record = state.record
    ax.set_title(title or (
        f"Round {state.round}: {int(state.alive.sum())} alive, {int(heads.sum())} cluster heads, "
        f"residual {record.get('residual_j', float(np.clip(state.energy, 0, None).sum())):.3f} J"
    ), fontsize="medium")
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.25, 1.0), frameon=False, fontsize="small", markerscale=0.8)
    return points


def _norm(states):
    from matplotlib.colors import Normalize

    top = max(float(np.max(s.capacity)) for s in states)
    return Normalize(vmin=0.0, vmax=top)


def map_figure(state: MapState, scenario=None):
    """A matplotlib Figure of one round's map."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.6, 6.0))
    norm = _norm([state])
    points = draw_map(ax, state, norm)
    fig.colorbar(points, ax=ax, label="Residual energy [J]", fraction=0.04, pad=0.02)
    fig.tight_layout()
    return fig


def write_map(state: MapState, out: str | os.PathLike) -> Path:
    """Save one round's map as PNG (or PDF/SVG by the file's suffix), atomically."""
    from .io import atomic_path

    import matplotlib.pyplot as plt

    out = Path(out)
    fig = map_figure(state)
    try:
        with atomic_path(out) as tmp:
            fig.savefig(tmp, format=out.suffix.lstrip(".").lower() or "png", dpi=130,
                        metadata={"Software": None} if out.suffix.lower() == ".png" else None)
    finally:
        plt.close(fig)
    return out


def write_animation(states: list[MapState], out: str | os.PathLike, fps: int = GIF_FPS) -> Path:
    """Write a GIF with one frame per state (matplotlib's animation, Pillow writer), atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter

    out = Path(out)
    fig, ax = plt.subplots(figsize=(8.6, 6.0))
    norm = _norm(states)
    points = draw_map(ax, states[0], norm)
    fig.colorbar(points, ax=ax, label="Residual energy [J]", fraction=0.04, pad=0.02)
    fig.tight_layout()
    animation = FuncAnimation(fig, lambda k: draw_map(ax, states[k], norm), frames=len(states), blit=False)
    import tempfile

    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".gif", dir=out.parent)  # Pillow reads the suffix
    os.close(fd)
    try:
        animation.save(tmp, writer=PillowWriter(fps=fps), dpi=90)
        os.replace(tmp, out)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def parse_animate(text: str) -> tuple[int, int]:
    """``FROM:TO`` -> (FROM, TO), 1 <= FROM <= TO, at most :data:`MAX_FRAMES` rounds."""
    first, sep, last = str(text).partition(":")
    try:
        start, stop = int(first), int(last)
    except ValueError:
        raise ParameterError("--animate", f"must be FROM:TO with round numbers, got {text!r}") from None
    if not sep or start < 1 or stop < start:
        raise ParameterError("--animate", f"must be FROM:TO with 1 <= FROM <= TO, got {text!r}")
    if stop - start + 1 > MAX_FRAMES:
        raise ParameterError("--animate", f"at most {MAX_FRAMES} rounds (frames), got {stop - start + 1}")
    return start, stop
