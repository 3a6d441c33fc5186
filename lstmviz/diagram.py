"""A live drawing of one cell at one step: each gate a box coloured by its value, with the number.

:func:`cell_diagram` draws the RNN, the LSTM or the GRU (in the trace's convention) for one unit, or the
mean over units, at step t. Arrows follow the equations of the shared reference: the LSTM's
c_{t-1} -> (x f) -> (+ i*g) -> c_t conveyor belt and h_t = o * tanh(c_t); the GRU's mix of h_{t-1} and
n by z; the RNN's h_t = tanh(a_t). Every value is computed per unit first and then picked (or averaged),
so the numbers on the products are exact for a unit and the mean of the products for the mean.
The initial state is zero (what :func:`lstmviz.trace` uses without ``h0``/``c0``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from .plots import cell_label, where_label
from .results import LayerTrace, Trace

_SIGMOID = "sigmoid"  # a gate in 0..1
_SIGNED = "signed"  # a tanh output or a state, coloured on -1..1 (clipped; the number is exact)
_OP = "op"  # an operation: grey circle with its result


@dataclass(frozen=True)
class Node:
    key: str
    x: float
    y: float
    label: str
    values: np.ndarray  # per unit (or per input feature for x_t)
    kind: str


def step_inputs(trace: Trace, layer: int, direction: int, t: int) -> np.ndarray:
    """The input vector x_t of a layer: the sequence for layer 0, the layer below's h_t above it."""
    if layer == 0:
        return trace.x[t]
    return np.concatenate([lt.h[t] for lt in trace.layers[layer - 1]])


def previous_step(trace: Trace, direction: int, t: int) -> int | None:
    """The step processed before t (t-1 forward, t+1 reverse); None at the start of the pass."""
    prev = t + 1 if direction else t - 1
    return prev if 0 <= prev < trace.steps else None


def previous_state(lt: LayerTrace, name: str, prev: int | None) -> np.ndarray:
    states = getattr(lt, name)
    return np.zeros_like(states[0]) if prev is None else states[prev]


def cell_diagram(
    trace: Trace, t: int, layer: int = 0, direction: int = 0, unit: int | None = None
) -> go.Figure:
    """The cell of ``trace`` at step ``t``, for ``unit`` (or the mean over units when None)."""
    lt = trace.layers[layer][direction]
    if unit is not None and not 0 <= unit < lt.h.shape[1]:
        raise ValueError(f"unit must be in 0..{lt.h.shape[1] - 1}, got {unit}")
    prev = previous_step(trace, direction, t)
    builders = {"rnn": _rnn_nodes, "lstm": _lstm_nodes, "gru": _gru_nodes}
    nodes, arrows = builders[trace.spec.cell](trace, lt, t, prev)
    x_t = Node("x", 0.5, 0.3, "x_t", step_inputs(trace, layer, direction, t), "input")
    nodes = [x_t, *nodes]
    fig = go.Figure()
    for kind in (_SIGMOID, _SIGNED, _OP, "input"):
        chosen = [n for n in nodes if n.kind == kind]
        if chosen:
            fig.add_trace(_node_trace(kind, chosen, unit))
    by_key = {n.key: n for n in nodes}
    fig.update_layout(annotations=[_arrow(by_key[a], by_key[b]) for a, b in arrows])
    fig.update_xaxes(visible=False, range=[-0.3, 10.3], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-0.3, 5.9], fixedrange=True)
    which = f"unit {unit}" if unit is not None else f"mean of {lt.h.shape[1]} units"
    notes = [where_label(trace, layer, direction), "zero initial state" if prev is None else ""]
    notes = [note for note in notes if note]
    title = f"{cell_label(trace)} · t = {t} · {which}" + (
        f"<br><sup>{' · '.join(notes)}</sup>" if notes else ""
    )
    fig.update_layout(
        title={"text": title, "x": 0.0, "font": {"size": 13}},
        height=340,
        margin={"l": 4, "r": 4, "t": 48, "b": 4},
        font={"size": 10},
        showlegend=False,
        plot_bgcolor="rgba(0,0,0,0)",
    )
    return fig


def _lstm_nodes(trace: Trace, lt: LayerTrace, t: int, prev: int | None):
    i, f, g, o = (lt.gates[k][t] for k in "ifgo")
    c_prev = previous_state(lt, "c", prev)
    c = lt.c[t]
    nodes = [
        Node("c_prev", 0.5, 5.2, "c<sub>t−1</sub>", c_prev, _SIGNED),
        Node("keep", 3.0, 5.2, "×", f * c_prev, _OP),
        Node("add", 5.9, 5.2, "+", c, _OP),
        Node("c", 9.5, 5.2, "c<sub>t</sub>", c, _SIGNED),
        Node("h_prev", 0.5, 1.7, "h<sub>t−1</sub>", previous_state(lt, "h", prev), _SIGNED),
        Node("concat", 1.7, 0.9, "[h,x]", np.array([np.nan]), _OP),
        Node("f", 3.0, 2.5, "f", f, _SIGMOID),
        Node("i", 4.4, 2.5, "i", i, _SIGMOID),
        Node("g", 5.8, 2.5, "g", g, _SIGNED),
        Node("write", 5.1, 3.85, "×", i * g, _OP),
        Node("o", 7.2, 2.5, "o", o, _SIGMOID),
        Node("tanh_c", 8.5, 3.85, "tanh", np.tanh(c), _OP),
        Node("out", 8.5, 2.5, "×", o * np.tanh(c), _OP),
        Node("h", 9.5, 1.1, "h<sub>t</sub>", lt.h[t], _SIGNED),
    ]
    arrows = [
        ("c_prev", "keep"),
        ("keep", "add"),
        ("add", "c"),
        ("h_prev", "concat"),
        ("x", "concat"),
        ("concat", "f"),
        ("concat", "i"),
        ("concat", "g"),
        ("concat", "o"),
        ("f", "keep"),
        ("i", "write"),
        ("g", "write"),
        ("write", "add"),
        ("add", "tanh_c"),
        ("tanh_c", "out"),
        ("o", "out"),
        ("out", "h"),
    ]
    return nodes, arrows


def _gru_nodes(trace: Trace, lt: LayerTrace, t: int, prev: int | None):
    r, z, n = (lt.gates[k][t] for k in "rzn")
    h_prev = previous_state(lt, "h", prev)
    pytorch = trace.spec.gru_variant == "pytorch"
    # PyTorch: h_t = (1 - z) n + z h_{t-1};  tutorial: h_t = (1 - z) h_{t-1} + z n
    old_share, new_share = (z, 1 - z) if pytorch else (1 - z, z)
    nodes = [
        Node("h_prev", 0.5, 5.2, "h<sub>t−1</sub>", h_prev, _SIGNED),
        Node("keep", 3.4, 5.2, "×z" if pytorch else "×(1−z)", old_share * h_prev, _OP),
        Node("add", 7.7, 5.2, "+", lt.h[t], _OP),
        Node("h", 9.5, 5.2, "h<sub>t</sub>", lt.h[t], _SIGNED),
        Node("h_in", 0.5, 1.7, "h<sub>t−1</sub>", h_prev, _SIGNED),
        Node("concat", 1.7, 0.9, "[h,x]", np.array([np.nan]), _OP),
        Node("z", 3.4, 3.4, "z", z, _SIGMOID),
        Node("r", 4.8, 1.5, "r", r, _SIGMOID),
        Node("n", 6.3, 2.6, "n" if pytorch else "h̃", n, _SIGNED),
        Node("write", 7.7, 3.9, "×(1−z)" if pytorch else "×z", new_share * n, _OP),
    ]
    arrows = [
        ("h_prev", "keep"),
        ("keep", "add"),
        ("add", "h"),
        ("x", "concat"),
        ("h_in", "concat"),
        ("concat", "r"),
        ("concat", "z"),
        ("concat", "n"),
        ("r", "n"),
        ("z", "keep"),
        ("z", "write"),
        ("n", "write"),
        ("write", "add"),
    ]
    return nodes, arrows


def _rnn_nodes(trace: Trace, lt: LayerTrace, t: int, prev: int | None):
    nodes = [
        Node("h_prev", 0.5, 3.8, "h<sub>t−1</sub>", previous_state(lt, "h", prev), _SIGNED),
        Node("a", 4.0, 2.4, "a<sub>t</sub>", lt.preactivations["h"][t], _OP),
        Node("act", 6.6, 2.4, trace.spec.nonlinearity, lt.h[t], _OP),
        Node("h", 9.5, 2.4, "h<sub>t</sub>", lt.h[t], _SIGNED),
    ]
    arrows = [("h_prev", "a"), ("x", "a"), ("a", "act"), ("act", "h")]
    return nodes, arrows


def _pick(values: np.ndarray, unit: int | None) -> float:
    """The value of ``unit``, or the mean (also for a projected h shorter than the unit index)."""
    if unit is None or unit >= len(values):
        return float(np.mean(values))
    return float(values[unit])


def _number(value: float) -> str:
    if np.isnan(value):
        return ""
    if np.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:.3g}".replace("-", "−")


def _node_trace(kind: str, nodes: list[Node], unit: int | None) -> go.Scatter:
    if kind == "input":
        values = [n.values for n in nodes]
        text = [
            f"<b>x<sub>t</sub></b><br>{_number(float(v[0]))}"
            if len(v) == 1
            else f"<b>x<sub>t</sub></b><br>‖·‖={_number(float(np.linalg.norm(v)))}"
            for v in values
        ]
        return go.Scatter(
            x=[n.x for n in nodes],
            y=[n.y for n in nodes],
            mode="markers+text",
            text=text,
            marker={
                "symbol": "square",
                "size": 40,
                "color": "#e8e8e8",
                "line": {"color": "#888", "width": 1},
            },
            hoverinfo="text",
            name="input",
        )
    picked = np.array([_pick(n.values, unit) for n in nodes], dtype=np.float64)
    text = [f"<b>{n.label}</b><br>{_number(v)}" for n, v in zip(nodes, picked, strict=True)]
    if kind == _OP:
        marker = {"symbol": "circle", "size": 34, "color": "#f4f4f4", "line": {"color": "#999", "width": 1}}
        return go.Scatter(
            x=[n.x for n in nodes],
            y=[n.y for n in nodes],
            mode="markers+text",
            text=text,
            marker=marker,
            textfont={"color": "#333"},
            hoverinfo="text",
            name="operations",
            customdata=picked,
        )
    shown = np.nan_to_num(picked, nan=0.0, posinf=1.0, neginf=-1.0)
    if kind == _SIGMOID:
        scale = {"colorscale": "Viridis", "cmin": 0.0, "cmax": 1.0}
        dark = shown < 0.6
    else:
        shown = np.clip(shown, -1.0, 1.0)
        scale = {"colorscale": "RdBu", "cmin": -1.0, "cmax": 1.0, "reversescale": True}
        dark = np.abs(shown) > 0.6
    return go.Scatter(
        x=[n.x for n in nodes],
        y=[n.y for n in nodes],
        mode="markers+text",
        text=text,
        textfont={"color": ["white" if d else "black" for d in dark]},
        marker={
            "symbol": "square",
            "size": 40,
            "color": shown,
            **scale,
            "line": {"color": "#555", "width": 1},
        },
        hoverinfo="text",
        name="gates σ" if kind == _SIGMOID else "tanh and states",
        customdata=picked,
    )


def _arrow(start: Node, end: Node) -> dict:
    return {
        "x": end.x,
        "y": end.y,
        "ax": start.x,
        "ay": start.y,
        "xref": "x",
        "yref": "y",
        "axref": "x",
        "ayref": "y",
        "showarrow": True,
        "arrowhead": 2,
        "arrowsize": 1,
        "arrowwidth": 1.4,
        "arrowcolor": "#666",
        "standoff": 26,
        "startstandoff": 26,
        "text": "",
    }
