"""Plotly figures of traces: pure functions, a :class:`~lstmviz.results.Trace` (or Jacobian norms) in,
a ``plotly.graph_objects.Figure`` out. They need no Streamlit and work the same in a notebook::

    fig = lstmviz.plots.gradient_norms({"rnn": rnn_trace, "lstm": lstm_trace})
    fig.show()

Notation follows the shared reference: delta_h_t = dL/dh_t, delta_c_t = dL/dc_t; LSTM gates i, f, g (the
tutorials' C~), o; GRU gates r, z, n; time axes in sequence order.

Size: every figure stays under about 1 MB of JSON up to T = 10,000 steps and H = 256 units. Heatmaps
show at most :data:`MAX_UNITS` units and average the time axis over bins so that a figure holds at
most :data:`FIGURE_VALUES` numbers; line plots show every k-th step beyond :data:`MAX_LINE_POINTS`.
Each figure says so in its title. Arrays are sent as float32. Values that are not finite (an exploding
configuration) are left blank and counted in the title; so are exact zeros on a log scale.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from .results import JacobianNorms, LayerTrace, Trace
from .summaries import SIGMOID_GATES, saturation

FIGURE_VALUES = 100_000
"""Most numbers a heatmap or multi-line figure carries (about 0.6 MB of JSON as base64 float32)."""

MAX_UNITS = 64
"""Most units drawn in a heatmap or bar chart: larger layers show units 0-63 and say so."""

MAX_LINE_POINTS = 4_000
"""Most points per line: longer sequences show 1 step in k and say so."""

CELL_LABELS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
CELL_COLOURS = {"rnn": "#d62728", "lstm": "#1f77b4", "gru": "#2ca02c"}
GATE_COLOURS = {
    "i": "#1f77b4",
    "f": "#ff7f0e",
    "g": "#2ca02c",
    "o": "#9467bd",
    "r": "#8c564b",
    "z": "#e377c2",
    "n": "#17becf",
    "h": "#7f7f7f",
}
DIRECTION_LABELS = ("forward", "reverse")

_NAMES = {
    "i": "i: input gate σ",
    "f": "f: forget gate σ",
    "g": "g = C̃: candidate tanh",
    "o": "o: output gate σ",
    "r": "r: reset gate σ",
    "n": "n: candidate tanh",
    "c": "c: cell state",
    "h": "h: hidden state",
}
_Z_MEANING = {"pytorch": "share of the OLD state", "tutorial": "share of the NEW content"}
_SIGMOID_AXIS = {"colorscale": "Viridis", "cmin": 0.0, "cmax": 1.0}
_TANH_AXIS = {"colorscale": "RdBu", "cmin": -1.0, "cmax": 1.0, "reversescale": True}


# ---------------------------------------------------------------------------------------------
# Shared helpers


def cell_label(trace: Trace) -> str:
    """ "LSTM", "RNN", or "GRU (PyTorch)" / "GRU (tutorial)"."""
    label = CELL_LABELS[trace.spec.cell]
    if trace.spec.cell == "gru":
        label += " (PyTorch)" if trace.spec.gru_variant == "pytorch" else " (tutorial)"
    return label


def quantity_name(trace: Trace, quantity: str) -> str:
    """A quantity's letter with its meaning, e.g. ``"f: forget gate σ"``."""
    if quantity == "z":
        return f"z: update gate σ ({_Z_MEANING[trace.spec.gru_variant]})"
    if quantity == "n" and trace.spec.gru_variant == "tutorial":
        return "n = h̃: candidate tanh"
    return _NAMES[quantity]


def layer_quantities(trace: Trace) -> tuple[str, ...]:
    """What a layer of this cell holds, in drawing order: its gates, then c (LSTM) and h."""
    gates = tuple(trace.layers[0][0].gates)
    return gates + (("c",) if trace.spec.cell == "lstm" else ()) + ("h",)


def layer_array(lt: LayerTrace, quantity: str) -> np.ndarray:
    """A (T, H) array of a layer by letter: a gate, ``h``, ``c``, ``grad_h`` or ``grad_c``."""
    if quantity in lt.gates:
        return lt.gates[quantity]
    value = getattr(lt, quantity)
    if value is None:
        raise ValueError(f"this cell has no {quantity}")
    return value


def where_label(trace: Trace, layer: int, direction: int) -> str:
    """ "layer 0" or "layer 1, reverse": only what differs from the simplest stack."""
    parts = [f"layer {layer}"] if trace.spec.num_layers > 1 else []
    if trace.spec.bidirectional:
        parts.append(DIRECTION_LABELS[direction])
    return ", ".join(parts)


def _title(main: str, notes: Iterable[str] = ()) -> dict:
    notes = [n for n in notes if n]
    text = main if not notes else f"{main}<br><sup>{'; '.join(notes)}</sup>"
    return {"text": text, "x": 0.0, "xanchor": "left", "font": {"size": 14}}


def _plottable(values: np.ndarray, *, log: bool = False) -> tuple[np.ndarray, int, int]:
    """A copy with non-finite values (and zeros, for a log scale) as NaN; and their counts.

    float32 on a linear scale; float64 on a log scale, where a norm may pass float32's range.
    """
    out = np.array(values, dtype=np.float64 if log else np.float32)
    bad = ~np.isfinite(out)
    zeros = (out == 0) if log else np.zeros_like(bad)
    out[bad | zeros] = np.nan
    return out, int(bad.sum()), int(zeros.sum())


def _blank_notes(nonfinite: int, zeros: int = 0) -> list[str]:
    notes = []
    if nonfinite:
        notes.append(f"{nonfinite:,} values are inf/NaN (exploded) and left blank")
    if zeros:
        notes.append(f"{zeros:,} exact zeros are not drawn on the log scale")
    return notes


def _unit_window(size: int) -> tuple[int, str]:
    shown = min(size, MAX_UNITS)
    return shown, "" if shown == size else f"units 0–{shown - 1} of {size}"


def _time_bins(steps: int, max_points: int) -> int:
    """Bin width so that ``steps`` fit in at most ``max_points`` bins."""
    return max(1, math.ceil(steps / max(1, max_points)))


def _bin_mean(values: np.ndarray, width: int) -> np.ndarray:
    """Mean over consecutive bins of ``width`` steps along axis 0, ignoring NaN (summed in float64)."""
    if width == 1:
        return values
    steps = len(values)
    padded = np.full((math.ceil(steps / width) * width, *values.shape[1:]), np.nan)
    padded[:steps] = values
    blocks = padded.reshape(-1, width, *values.shape[1:])
    finite = np.isfinite(blocks)
    total = np.where(finite, blocks, 0.0).sum(axis=1)
    count = finite.sum(axis=1)
    return np.divide(total, count, out=np.full_like(total, np.nan), where=count > 0).astype(np.float32)


def _bin_note(width: int) -> str:
    return f"mean over bins of {width} steps" if width > 1 else ""


def _stride(steps: int, max_points: int = MAX_LINE_POINTS) -> int:
    return max(1, math.ceil(steps / max_points))


def _stride_note(stride: int) -> str:
    return f"1 step in {stride} shown" if stride > 1 else ""


def _line(values: np.ndarray, stride: int, **kwargs) -> go.Scatter:
    """A line over t = 0, stride, 2*stride, ... (x as x0/dx, so only y travels as data)."""
    return go.Scatter(y=values[::stride], x0=0, dx=stride, mode="lines", **kwargs)


def _layout(fig: go.Figure, title: dict, height: int, **kwargs) -> go.Figure:
    fig.update_layout(
        title=title,
        height=height,
        margin={"l": 60, "r": 20, "t": 70, "b": 45},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
        **kwargs,
    )
    return fig


# ---------------------------------------------------------------------------------------------
# Gates and states


def _stacked(titles: Sequence[str], x_title: str = "t", y_title: str = "") -> tuple[dict, list[dict]]:
    """Layout of panels stacked on one shared time axis, and the axis pair of each panel.

    Built as plain dicts in one pass (``make_subplots`` and per-row updates cost tens of ms per
    figure, which the step-through view pays on every step).
    """
    rows = len(titles)
    gap = 0.25 / rows if rows > 1 else 0.0
    height = (1.0 - gap * (rows - 1)) / rows
    layout: dict = {"annotations": []}
    axes = []
    for k, title in enumerate(titles):
        suffix = "" if k == 0 else str(k + 1)
        top = 1.0 - k * (height + gap)
        layout[f"xaxis{suffix}"] = {
            "anchor": f"y{suffix}",
            "showticklabels": k == rows - 1,
            **({"matches": "x"} if k else {}),
            **({"title": {"text": x_title}} if k == rows - 1 else {}),
        }
        layout[f"yaxis{suffix}"] = {
            "domain": [max(top - height, 0.0), top],
            "anchor": f"x{suffix}",
            "title": {"text": y_title},
        }
        layout["annotations"].append(
            {
                "text": title,
                "x": 0.5,
                "y": top,
                "xref": "paper",
                "yref": "paper",
                "showarrow": False,
                "xanchor": "center",
                "yanchor": "bottom",
                "font": {"size": 12},
            }
        )
        axes.append({"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"})
    return layout, axes


def _cursor(t: int) -> dict:
    """A vertical line at step t through every stacked panel."""
    return {
        "type": "line",
        "x0": t,
        "x1": t,
        "y0": 0,
        "y1": 1,
        "xref": "x",
        "yref": "paper",
        "line": {"color": "black", "width": 2},
    }


def state_heatmaps(
    trace: Trace,
    layer: int = 0,
    direction: int = 0,
    *,
    t: int | None = None,
    quantities: Sequence[str] | None = None,
    panel_height: int = 130,
) -> go.Figure:
    """Heatmaps (units × time) of each gate, c and h of one layer and direction; a cursor at ``t``."""
    lt = trace.layers[layer][direction]
    quantities = tuple(quantities or layer_quantities(trace))
    shown, unit_note = _unit_window(lt.h.shape[1])
    width = _time_bins(trace.steps, FIGURE_VALUES // (len(quantities) * shown))
    layout, axes = _stacked([quantity_name(trace, q) for q in quantities], y_title="unit")
    times = np.arange(0, trace.steps, width, dtype=np.float32) + (width - 1) / 2
    heatmaps, blank = [], 0
    for quantity, axis in zip(quantities, axes, strict=True):
        values, nonfinite, _ = _plottable(layer_array(lt, quantity)[:, :shown])
        blank += nonfinite
        heatmaps.append(
            go.Heatmap(
                z=_bin_mean(values, width).T,
                x=times,
                coloraxis=_coloraxis_for(quantity),
                name=quantity,
                hovertemplate=f"{quantity}<br>t=%{{x}}<br>unit %{{y}}<br>value %{{z:.4g}}<extra></extra>",
                **axis,
            )
        )
    layout.update(_coloraxes(lt, shown, quantities))
    if t is not None:
        layout["shapes"] = [_cursor(t)]
    title = f"{cell_label(trace)}: gates and states over time"
    notes = [where_label(trace, layer, direction), unit_note, _bin_note(width), *_blank_notes(blank)]
    fig = go.Figure(heatmaps, layout)
    return _layout(fig, _title(title, notes), max(280, 90 + panel_height * len(quantities)))


def _coloraxis_for(quantity: str) -> str:
    if quantity in SIGMOID_GATES:
        return "coloraxis"
    return "coloraxis3" if quantity == "c" else "coloraxis2"


def _coloraxes(lt: LayerTrace, shown: int, quantities: Sequence[str]) -> dict:
    """The colour axes the panels use, their colour bars stacked down the right-hand side."""
    axes = {
        "coloraxis": (_SIGMOID_AXIS, "σ gates"),
        "coloraxis2": (_TANH_AXIS, "tanh, h"),
        "coloraxis3": (_state_axis(lt, shown) if "c" in quantities else {}, "c"),
    }
    used = [name for name in axes if name in {_coloraxis_for(q) for q in quantities}]
    share = 1.0 / len(used)
    return {
        name: {
            **axes[name][0],
            "colorbar": {
                "title": {"text": axes[name][1]},
                "len": 0.9 * share,
                "y": 1.0 - (k + 0.5) * share,
                "x": 1.02,
                "thickness": 12,
            },
        }
        for k, name in enumerate(used)
    }


def _state_axis(lt: LayerTrace, shown: int) -> dict:
    finite = np.abs(lt.c[:, :shown][np.isfinite(lt.c[:, :shown])])
    top = max(float(finite.max()) if finite.size else 1.0, 1e-6)
    return {"colorscale": "RdBu", "reversescale": True, "cmin": -top, "cmax": top}


def gate_bars(trace: Trace, t: int, layer: int = 0, direction: int = 0) -> go.Figure:
    """Each gate's value per unit at step ``t`` (the RNN, which has no gates, shows h_t)."""
    lt = trace.layers[layer][direction]
    shown, unit_note = _unit_window(lt.h.shape[1])
    values = lt.gates or {"h": lt.h}
    fig = go.Figure()
    blank = 0
    for gate, series in values.items():
        bar, nonfinite, _ = _plottable(series[t, :shown])
        blank += nonfinite
        fig.add_trace(go.Bar(x=np.arange(shown), y=bar, name=gate, marker_color=GATE_COLOURS[gate]))
    title = f"{cell_label(trace)}: {'gates' if lt.gates else 'h'} at t = {t}"
    notes = [where_label(trace, layer, direction), unit_note, *_blank_notes(blank)]
    fig.update_yaxes(range=[-1.05, 1.05], title_text="value")
    fig.update_xaxes(title_text="unit")
    return _layout(fig, _title(title, notes), 300, barmode="group", bargap=0.15)


def unit_lines(
    trace: Trace,
    units: Sequence[int],
    layer: int = 0,
    direction: int = 0,
    quantities: Sequence[str] | None = None,
) -> go.Figure:
    """Each quantity (gates, c, h) over time for the chosen units: one panel per quantity."""
    lt = trace.layers[layer][direction]
    quantities = tuple(quantities or layer_quantities(trace))
    units = [u for u in units if 0 <= u < lt.h.shape[1]][:8]
    stride = _stride(trace.steps, min(MAX_LINE_POINTS, FIGURE_VALUES // max(1, len(quantities) * len(units))))
    layout, axes = _stacked([quantity_name(trace, q) for q in quantities])
    palette = list(GATE_COLOURS.values())
    lines, blank = [], 0
    for row, (quantity, axis) in enumerate(zip(quantities, axes, strict=True)):
        array = layer_array(lt, quantity)
        for k, unit in enumerate(units):
            values, nonfinite, _ = _plottable(array[:, unit])
            blank += nonfinite
            lines.append(
                _line(
                    values,
                    stride,
                    name=f"unit {unit}",
                    legendgroup=f"unit {unit}",
                    showlegend=row == 0,
                    line={"color": palette[k % len(palette)]},
                    **axis,
                )
            )
    notes = [where_label(trace, layer, direction), _stride_note(stride), *_blank_notes(blank)]
    title = f"{cell_label(trace)}: chosen units over time"
    return _layout(go.Figure(lines, layout), _title(title, notes), max(280, 90 + 120 * len(quantities)))


def saturation_bars(traces: Mapping[str, Trace]) -> go.Figure:
    """Share of each gate's values in its flat tails, per cell, layer and direction (stacked bars)."""
    labels, low, high, hover = [], [], [], []
    for trace in traces.values():
        for row in saturation(trace):
            where = where_label(trace, row.layer, row.direction)
            labels.append(f"{CELL_LABELS[row.cell]} {row.gate}" + (f" ({where})" if where else ""))
            low.append(row.low)
            high.append(row.high)
            hover.append(f"low: {row.low_label}, high: {row.high_label}")
    fig = go.Figure(
        [
            go.Bar(
                x=labels,
                y=low,
                name="low tail",
                marker_color="#4c78a8",
                customdata=hover,
                hovertemplate="%{x}<br>%{y:.1%} in the low tail<br>%{customdata}<extra></extra>",
            ),
            go.Bar(
                x=labels,
                y=high,
                name="high tail",
                marker_color="#f58518",
                customdata=hover,
                hovertemplate="%{x}<br>%{y:.1%} in the high tail<br>%{customdata}<extra></extra>",
            ),
        ]
    )
    fig.update_yaxes(range=[0, 1], tickformat=".0%", title_text="share of values")
    notes = ["σ gates: below 0.1 / above 0.9; tanh (g, n, the RNN's h): below −0.9 / above 0.9"]
    return _layout(fig, _title("Saturation: where σ′ or tanh′ ≈ 0", notes), 360, barmode="stack")


# ---------------------------------------------------------------------------------------------
# Gradients


_GRADIENT_NAMES = {
    "h": "‖δh_t‖ = ‖∂L/∂h_t‖",
    "c": "‖δc_t‖ = ‖∂L/∂c_t‖ (LSTM)",
    "x": "‖∂L/∂x_t‖: what the loss depends on",
}


def gradient_norms(
    traces: Mapping[str, Trace], quantity: str = "h", layer: int = 0, direction: int = 0
) -> go.Figure:
    """``||dL/dh_t||`` (or ``c``: ``||dL/dc_t||``, LSTM only; ``x``: ``||dL/dx_t||``) over t, log scale.

    One line per trace; the traces are keyed by cell name ("rnn", "lstm", "gru").
    """
    if quantity not in _GRADIENT_NAMES:
        raise ValueError(f"quantity must be one of {tuple(_GRADIENT_NAMES)}, got {quantity!r}")
    fig = go.Figure()
    blank = zeros = steps = 0
    for cell, trace in traces.items():
        array = _gradient_array(trace, quantity, layer, direction)
        if array is None:
            continue
        with np.errstate(over="ignore", invalid="ignore"):
            norms = np.linalg.norm(array.astype(np.float64), axis=1)
        values, nonfinite, zero = _plottable(norms, log=True)
        blank, zeros, steps = blank + nonfinite, zeros + zero, max(steps, len(values))
        fig.add_trace(
            _line(values, _stride(len(values)), name=cell_label(trace), line={"color": CELL_COLOURS[cell]})
        )
    fig.update_yaxes(type="log", title_text="norm (log scale)", exponentformat="power")
    fig.update_xaxes(title_text="t")
    first = next(iter(traces.values()), None)
    where = where_label(first, layer, direction) if first is not None and quantity != "x" else ""
    loss = f"loss: {'last step' if first is None or first.loss_kind == 'last' else 'all steps'}"
    notes = [loss, where, _stride_note(_stride(steps)), *_blank_notes(blank, zeros)]
    return _layout(fig, _title(_GRADIENT_NAMES[quantity], notes), 380)


def _gradient_array(trace: Trace, quantity: str, layer: int, direction: int) -> np.ndarray | None:
    if quantity == "x":
        return trace.grad_x
    lt = trace.layers[layer][direction]
    return lt.grad_h if quantity == "h" else lt.grad_c


def gradient_heatmap(trace: Trace, layer: int = 0, direction: int = 0) -> go.Figure:
    """|dL/dh_t| per unit and step, colour on a log10 scale."""
    lt = trace.layers[layer][direction]
    shown, unit_note = _unit_window(lt.grad_h.shape[1])
    width = _time_bins(trace.steps, FIGURE_VALUES // shown)
    magnitude, nonfinite, zeros = _plottable(np.abs(lt.grad_h[:, :shown]), log=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(_bin_mean(magnitude, width))
    times = np.arange(0, trace.steps, width, dtype=np.float32) + (width - 1) / 2
    fig = go.Figure(
        go.Heatmap(
            z=logs.T,
            x=times,
            colorscale="Magma",
            colorbar={"title": {"text": "log₁₀ |δh|"}, "thickness": 12},
            hovertemplate="t=%{x}<br>unit %{y}<br>log₁₀|δh| = %{z:.2f}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="t")
    fig.update_yaxes(title_text="unit")
    notes = [
        where_label(trace, layer, direction),
        unit_note,
        _bin_note(width),
        *_blank_notes(nonfinite, zeros),
    ]
    return _layout(fig, _title(f"{cell_label(trace)}: |δh_t| per unit", notes), 340)


def jacobian_figure(norms: Mapping[str, JacobianNorms]) -> go.Figure:
    """``||ds_T/ds_t||`` per cell on a log scale, with the RNN's Pascanu bound and the LSTM's prod f.

    ``norms`` maps a cell name to the :class:`JacobianNorms` of one layer and direction. The LSTM's
    forget-gate path prod_{k>t} f_k is drawn as its mean over units.
    """
    fig = go.Figure()
    blank = zeros = steps = 0
    window = None
    for cell, jn in norms.items():
        label, colour = CELL_LABELS[cell], CELL_COLOURS[cell]
        lines = [(f"{label}: ‖∂s_T/∂s_t‖", jn.to_last, "solid")]
        if jn.pascanu_bound is not None:
            lines.append((f"{label}: Pascanu bound (γ σ_max(W_hh))^(T−t)", jn.pascanu_bound, "dash"))
        if jn.forget_path is not None:
            lines.append((f"{label}: ∏_(k>t) f_k (mean over units)", jn.forget_path.mean(axis=1), "dot"))
        computed = np.flatnonzero(np.isfinite(jn.to_last))
        if len(computed) and len(computed) < len(jn.to_last):
            window = len(computed)
        for name, series, dash in lines:
            values, nonfinite, zero = _plottable(series, log=True)
            uncomputed = int(np.isnan(series).sum()) if series is jn.to_last else 0
            blank, zeros = blank + nonfinite - uncomputed, zeros + zero
            steps = max(steps, len(values))
            fig.add_trace(
                _line(values, _stride(len(values)), name=name, line={"color": colour, "dash": dash})
            )
    fig.update_yaxes(type="log", title_text="norm (log scale)", exponentformat="power")
    fig.update_xaxes(title_text="t")
    notes = ["s = h (RNN, GRU) or (h, c) (LSTM)", _stride_note(_stride(steps))]
    if window:
        notes.append(f"Jacobians computed for the last {window} steps only (cost grows as steps × size³)")
    notes += _blank_notes(blank, zeros)
    return _layout(fig, _title("How fast the state forgets: ‖∂s_T/∂s_t‖", notes), 420)
