"""A drawing of one cell at one step: each gate a box coloured by its value, with the number.

:func:`cell_diagram` draws any registered cell from its layout (:meth:`lstmviz.cells.Cell.layout`:
the LSTM's c_{t-1} -> (x f) -> (+ i*g) -> c_t conveyor belt, the GRU's mix of h_{t-1} and n by z ...)
for one unit, or the mean over units, at position t. Values come from :func:`lstmviz.steps.node_series`:
products are taken per unit first, so on the mean they are means of products. The in-browser stepper
of the app draws the same layout with the same numbers; this figure is for notebooks and exports.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .cells.base import INPUT, LINEAR, OP, SIGMOID, STATE, TANH, Node
from .palette import SIGMOID_SCALE, SIGNED_SCALE
from .plots import where_label
from .results import Trace
from .steps import node_series, previous_position


def cell_diagram(trace: Trace, t: int, layer: int = 0, direction: int = 0, unit: int | None = 0) -> go.Figure:
    """The cell of ``trace`` at position ``t``, for ``unit`` (or the mean over units when None)."""
    lt = trace.layers[layer][direction]
    size = lt.gates[next(iter(lt.gates))].shape[1] if lt.gates else lt.h.shape[1]
    if unit is not None and not 0 <= unit < size:
        raise ValueError(f"unit must be in 0..{size - 1}, got {unit}")
    cell = trace.cell
    layout = cell.layout().for_direction(direction)
    values = {k: float(v[0]) for k, v in node_series(trace, layer, direction, unit, [t]).items()}
    fig = go.Figure()
    for kind in (SIGMOID, TANH, STATE, LINEAR, OP, INPUT):
        chosen = [n for n in layout.nodes if n.kind == kind]
        if chosen:
            fig.add_trace(_node_trace(kind, chosen, values))
    by_key = {n.key: n for n in layout.nodes}
    fig.update_layout(annotations=[_arrow(by_key[e.start], by_key[e.end]) for e in layout.edges])
    fig.update_xaxes(visible=False, range=[-0.3, 10.3], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-0.3, 5.9], fixedrange=True)
    which = f"unit {unit}" if unit is not None else f"mean of {size} units (products: means of products)"
    start = previous_position(trace, direction, t) is None
    notes = [where_label(trace, layer, direction), "initial state before" if start else ""]
    notes = [note for note in notes if note]
    title = f"{cell.title} · t = {t} · {which}" + (f"<br><sup>{' · '.join(notes)}</sup>" if notes else "")
    fig.update_layout(
        title={"text": title, "x": 0.0, "font": {"size": 14}},
        height=340,
        margin={"l": 4, "r": 4, "t": 52, "b": 4},
        font={"size": 12},
        showlegend=False,
        plot_bgcolor="rgba(0,0,0,0)",
    )
    return fig


def _number(value: float) -> str:
    if np.isnan(value):
        return ""
    if np.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:.3g}".replace("-", "−")


def _label(node: Node) -> str:
    return f"<b>{node.label}</b>" + (f"<sub>{node.sub}</sub>" if node.sub else "")


def _node_trace(kind: str, nodes: list[Node], values: dict[str, float]) -> go.Scatter:
    picked = np.array([values.get(n.key, np.nan) for n in nodes], dtype=np.float64)
    text = [f"{_label(n)}<br>{_number(v)}" for n, v in zip(nodes, picked, strict=True)]
    common = {
        "x": [n.x for n in nodes],
        "y": [n.y for n in nodes],
        "mode": "markers+text",
        "text": text,
        "hoverinfo": "text",
        "customdata": picked,
        "name": kind,
    }
    if kind in (OP, INPUT):
        marker = {"symbol": "circle" if kind == OP else "square", "size": 36 if kind == OP else 42,
                  "color": "#f2f2f2" if kind == OP else "#e3e3e3", "line": {"color": "#777", "width": 1}}
        return go.Scatter(**common, marker=marker, textfont={"color": "#222"})
    shown = np.nan_to_num(picked, nan=0.0, posinf=1.0, neginf=-1.0)
    if kind == SIGMOID:
        scale = {"colorscale": SIGMOID_SCALE, "cmin": 0.0, "cmax": 1.0}
        dark = shown < 0.55
    else:
        shown = np.clip(shown, -1.0, 1.0)
        scale = {"colorscale": SIGNED_SCALE, "cmin": -1.0, "cmax": 1.0}
        dark = np.abs(shown) > 0.6
    marker = {"symbol": "square", "size": 42, "color": shown, **scale, "line": {"color": "#444", "width": 1}}
    return go.Scatter(**common, marker=marker, textfont={"color": ["white" if d else "black" for d in dark]})


def _arrow(start: Node, end: Node) -> dict:
    return {
        "x": end.x, "y": end.y, "ax": start.x, "ay": start.y,
        "xref": "x", "yref": "y", "axref": "x", "ayref": "y",
        "showarrow": True, "arrowhead": 2, "arrowsize": 1, "arrowwidth": 1.4, "arrowcolor": "#666",
        "standoff": 26, "startstandoff": 26, "text": "",
    }
