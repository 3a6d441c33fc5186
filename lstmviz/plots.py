"""Plotly figures of traces: pure functions, a :class:`~lstmviz.results.Trace` (or Jacobian norms) in,
a ``plotly.graph_objects.Figure`` out. They need no Streamlit and work the same in a notebook::

    fig = lstmviz.plots.gradient_norms({"rnn": rnn_trace, "lstm": lstm_trace})
    fig.show()

Notation follows the shared reference: delta_h_t = dL/dh_t, delta_c_t = dL/dc_t; LSTM gates i, f, g (the
tutorials' C~), o; GRU gates r, z, n; time axes in sequence order. Labels, colours and dash styles
come from the cell registry. Traces are keyed by a name: a registry name ("lstm") is shown as the
cell's title, any other key ("LSTM (loaded)") as itself.

Size: every figure stays under about 1 MB of JSON up to T = 10,000 steps and H = 256 units. Heatmaps
show at most :data:`MAX_UNITS` units and average the time axis over bins so that a figure holds at
most :data:`FIGURE_VALUES` numbers; line plots show every k-th step beyond :data:`MAX_LINE_POINTS`.
Each figure says so in its subtitle. Values that are not finite (an exploding configuration) are
left blank and counted. On log scales, magnitudes are taken in float64 and values at or below the
traced dtype's smallest normal number (an underflow, or an exact zero) are left blank and counted:
nothing drawn is an artefact of the number format.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from .cells import REGISTRY
from .palette import GRADIENT_SCALE, SIGMOID_SCALE, SIGNED_SCALE, gate_colour, gate_pattern
from .results import JacobianNorms, LayerTrace, Trace
from .summaries import gradient_horizon, row_norms, saturation

FIGURE_VALUES = 100_000
"""Most numbers a heatmap or multi-line figure carries (about 0.6 MB of JSON as base64 float32)."""

MAX_UNITS = 64
"""Most units drawn in a heatmap: larger layers show units 0-63 and say so."""

MAX_BAR_UNITS = 16
"""Most units drawn in the gate bars (more would read as a barcode)."""

MAX_LINE_POINTS = 4_000
"""Most points per line: longer sequences show 1 step in k and say so."""

MAX_TICK_LABELS = 60
"""Longest text whose characters label the time axis."""

DIRECTION_LABELS = ("forward", "reverse")
SUBTITLE_PX = 12


# ---------------------------------------------------------------------------------------------
# Shared helpers


def cell_label(trace: Trace) -> str:
    """ "LSTM", "RNN (relu)", "GRU (PyTorch)", "GRU (tutorial)", "minGRU" ..."""
    return trace.cell.title


def series_label(key: str, trace: Trace) -> str:
    return cell_label(trace) if key in REGISTRY else key


def quantity_name(trace: Trace, quantity: str) -> str:
    """A quantity's letter with its meaning, e.g. ``"f: forget gate σ"``."""
    return trace.cell.describe(quantity)


def layer_quantities(trace: Trace) -> tuple[str, ...]:
    """What a layer of this cell holds, in drawing order: its gates, then c (if any) and h."""
    cell = trace.cell
    return cell.gates + (("c",) if cell.cell_state else ()) + ("h",)


def layer_array(lt: LayerTrace, quantity: str) -> np.ndarray:
    """A (T, H) array of a layer by name: a gate, ``h``, ``c``, ``grad_h`` or ``grad_c``."""
    if quantity in lt.gates:
        return lt.gates[quantity]
    value = getattr(lt, quantity, None)
    if value is None:
        raise ValueError(f"this cell has no {quantity}")
    return value


def where_label(trace: Trace, layer: int, direction: int) -> str:
    """ "layer 0" or "layer 1, reverse": only what differs from the simplest stack."""
    parts = [f"layer {layer}"] if trace.spec.num_layers > 1 else []
    if trace.spec.bidirectional:
        parts.append(DIRECTION_LABELS[direction])
    return ", ".join(parts)


def title_block(main: str, notes: Iterable[str] = ()) -> dict:
    notes = [n for n in notes if n]
    sub = f"<br><span style='font-size:{SUBTITLE_PX}px'>{'; '.join(notes)}</span>" if notes else ""
    return {"text": main + sub, "x": 0.0, "xanchor": "left", "font": {"size": 15}}


def smallest_normal(trace: Trace) -> float:
    """The smallest normal number of the trace's dtype: below it, values are underflow artefacts."""
    return float(np.finfo(trace.x.dtype).tiny)


def plottable(values: np.ndarray, *, log: bool = False, tiny: float = 0.0) -> tuple[np.ndarray, int, int]:
    """A copy with non-finite values (and, for a log scale, values <= ``tiny``) as NaN; their counts.

    float32 on a linear scale; float64 on a log scale, where a norm may pass float32's range.
    """
    with np.errstate(over="ignore"):  # beyond float32's range: inf, counted below
        out = np.array(values, dtype=np.float64 if log else np.float32)
    bad = ~np.isfinite(out)
    low = (np.abs(out) <= tiny) & ~bad if log else np.zeros_like(bad)
    out[bad | low] = np.nan
    return out, int(bad.sum()), int(low.sum())


def blank_notes(nonfinite: int, low: int = 0, tiny: float = 0.0) -> list[str]:
    notes = []
    if nonfinite:
        notes.append(f"{_values(nonfinite)} inf/NaN (exploded) and left blank")
    if low:
        notes.append(
            f"{_values(low)} 0 or underflow below {tiny:.1e} (the number format's smallest normal "
            "number): not drawn on the log scale"
        )
    return notes


def _values(count: int) -> str:
    return "1 value is" if count == 1 else f"{count:,} values are"


def _unit_window(size: int, most: int = MAX_UNITS) -> tuple[int, str]:
    shown = min(size, most)
    return shown, "" if shown == size else f"units 0–{shown - 1} of {size}"


def _time_bins(steps: int, max_points: int) -> int:
    """Bin width so that ``steps`` fit in at most ``max_points`` bins."""
    return max(1, math.ceil(steps / max(1, max_points)))


def _bin_mean(values: np.ndarray, width: int, dtype=np.float32) -> np.ndarray:
    """Mean over consecutive bins of ``width`` steps along axis 0, ignoring NaN (summed in float64).

    The result is ``dtype``: float32 for what is drawn as it is, float64 for what is then put on a
    log scale (a float32 mean of magnitudes below about 1e-38 is an underflow, not a value).
    """
    if width == 1:
        return values
    steps = len(values)
    padded = np.full((math.ceil(steps / width) * width, *values.shape[1:]), np.nan)
    padded[:steps] = values
    blocks = padded.reshape(-1, width, *values.shape[1:])
    finite = np.isfinite(blocks)
    total = np.where(finite, blocks, 0.0).sum(axis=1)
    count = finite.sum(axis=1)
    return np.divide(total, count, out=np.full_like(total, np.nan), where=count > 0).astype(dtype)


def _bin_note(width: int) -> str:
    return f"mean over bins of {width} steps" if width > 1 else ""


def _stride(steps: int, max_points: int = MAX_LINE_POINTS) -> int:
    return max(1, math.ceil(steps / max_points))


def _stride_note(stride: int) -> str:
    return f"1 step in {stride} shown" if stride > 1 else ""


def _line(values: np.ndarray, stride: int, **kwargs) -> go.Scatter:
    """A line over t = 0, stride, 2*stride, ... (x as x0/dx, so only y travels as data)."""
    return go.Scatter(y=values[::stride], x0=0, dx=stride, mode="lines", **kwargs)


def time_axis(steps: int, characters: Sequence[str] | None = None) -> dict:
    """An x-axis of whole steps: the characters as tick labels for a short text, integer ticks always."""
    axis: dict = {"title": {"text": "t"}, "tickformat": "d"}
    if characters is not None and len(characters) <= MAX_TICK_LABELS:
        axis |= {"tickmode": "array", "tickvals": list(range(steps)),
                 "ticktext": [f"{t}<br>{c!r}"[:24] for t, c in enumerate(characters)]}
    elif steps <= 20:
        axis |= {"tick0": 0, "dtick": 1}
    return axis


def finish_layout(fig: go.Figure, title: dict, height: int, **kwargs) -> go.Figure:
    fig.update_layout(
        title=title,
        height=height,
        margin={"l": 60, "r": 20, "t": 80, "b": 50},
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "xanchor": "left", "x": 0.0},
        **kwargs,
    )
    return fig


# ---------------------------------------------------------------------------------------------
# Gates and states


def _stacked(titles: Sequence[str], x_axis: dict, y_title: str = "") -> tuple[dict, list[dict]]:
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
        last = k == rows - 1
        layout[f"xaxis{suffix}"] = {
            **{key: v for key, v in x_axis.items() if key != "title"},
            "anchor": f"y{suffix}",
            "showticklabels": last,
            **({"matches": "x"} if k else {}),
            **({"title": x_axis["title"]} if last else {}),
        }
        layout[f"yaxis{suffix}"] = {"domain": [max(top - height, 0.0), top], "anchor": f"x{suffix}",
                                    "title": {"text": y_title}}
        layout["annotations"].append(
            {"text": title, "x": 0.5, "y": top, "xref": "paper", "yref": "paper", "showarrow": False,
             "xanchor": "center", "yanchor": "bottom", "font": {"size": 12}}
        )
        axes.append({"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"})
    return layout, axes


def cursor(t: int) -> dict:
    """A vertical line at step t through every stacked panel."""
    return {"type": "line", "x0": t, "x1": t, "y0": 0, "y1": 1, "xref": "x", "yref": "paper",
            "line": {"color": "black", "width": 2}}


def state_heatmaps(
    trace: Trace,
    layer: int = 0,
    direction: int = 0,
    *,
    t: int | None = None,
    quantities: Sequence[str] | None = None,
    panel_height: int = 130,
    characters: Sequence[str] | None = None,
    clickable: bool = False,
) -> go.Figure:
    """Heatmaps (units × time) of each gate, c and h of one layer and direction; a cursor at ``t``.

    ``clickable`` adds an invisible grid of markers over every panel (named "pick", at most
    :data:`MAX_PICK_COLUMNS` × :data:`MAX_PICK_ROWS`) so that a click there reports a step and a unit:
    Plotly reports clicks on markers, not on heatmap cells.
    """
    lt = trace.layers[layer][direction]
    quantities = tuple(quantities or layer_quantities(trace))
    shown, unit_note = _unit_window(lt.h.shape[1])
    width = _time_bins(trace.steps, FIGURE_VALUES // (len(quantities) * shown))
    layout, axes = _stacked([quantity_name(trace, q) for q in quantities], time_axis(trace.steps, characters),
                            y_title="unit")
    times = np.arange(0, trace.steps, width, dtype=np.float32) + (width - 1) / 2
    heatmaps, blank = [], 0
    for quantity, axis in zip(quantities, axes, strict=True):
        values, nonfinite, _ = plottable(layer_array(lt, quantity)[:, :shown])
        blank += nonfinite
        heatmaps.append(
            go.Heatmap(
                z=_bin_mean(values, width).T,
                x=times,
                coloraxis=_coloraxis_for(trace, quantity),
                name=quantity,
                hovertemplate=f"{quantity}<br>t=%{{x}}<br>unit %{{y}}<br>value %{{z:.4g}}<extra></extra>",
                **axis,
            )
        )
    if clickable:
        heatmaps += [_pick_layer(trace.steps, shown, axis) for axis in axes]
    layout.update(_coloraxes(trace, lt, shown, quantities))
    if t is not None:
        layout["shapes"] = [cursor(t)]
    title = f"{cell_label(trace)}: gates and states"  # over t (the x axis); short for a narrow column
    notes = [where_label(trace, layer, direction), unit_note, _bin_note(width), *blank_notes(blank)]
    fig = go.Figure(heatmaps, layout)
    return finish_layout(fig, title_block(title, notes), max(280, 100 + panel_height * len(quantities)))


MAX_PICK_COLUMNS = 120
MAX_PICK_ROWS = 16


def _pick_layer(steps: int, units: int, axis: dict) -> go.Scatter:
    """Invisible markers on a grid of (step, unit) positions: what a click on a heatmap selects."""
    columns = np.unique(np.linspace(0, steps - 1, min(steps, MAX_PICK_COLUMNS)).round().astype(int))
    rows = np.unique(np.linspace(0, units - 1, min(units, MAX_PICK_ROWS)).round().astype(int))
    x, y = np.meshgrid(columns, rows)
    return go.Scatter(x=x.ravel(), y=y.ravel(), mode="markers", name="pick", showlegend=False,
                      marker={"size": 14, "opacity": 0, "symbol": "square"}, hoverinfo="none", **axis)


def _coloraxis_for(trace: Trace, quantity: str) -> str:
    cell = trace.cell
    if quantity in cell.sigmoid_gates:
        return "coloraxis"
    if quantity == "c" or quantity in cell.linear_gates or (quantity == "h" and _unbounded_h(trace)):
        return "coloraxis3"
    return "coloraxis2"


def _unbounded_h(trace: Trace) -> bool:
    """h is not in -1..1 for a relu RNN, the min cells (a mix of linear candidates) or a projected
    LSTM (h = W_hr m: any size)."""
    cell = trace.cell
    return getattr(cell, "relu", False) or bool(cell.linear_gates) or trace.spec.proj_size > 0


def _coloraxes(trace: Trace, lt: LayerTrace, shown: int, quantities: Sequence[str]) -> dict:
    """The colour axes the panels use, their colour bars stacked down the right-hand side."""
    unbounded = [layer_array(lt, q)[:, :shown] for q in quantities
                 if _coloraxis_for(trace, q) == "coloraxis3"]
    axes = {
        "coloraxis": ({"colorscale": SIGMOID_SCALE, "cmin": 0.0, "cmax": 1.0}, "σ gates"),
        "coloraxis2": ({"colorscale": SIGNED_SCALE, "cmin": -1.0, "cmax": 1.0}, "tanh, h"),
        "coloraxis3": (_symmetric_axis(unbounded), "c, linear"),
    }
    used = [name for name in axes if name in {_coloraxis_for(trace, q) for q in quantities}]
    share = 1.0 / len(used)
    return {
        name: {
            **axes[name][0],
            "colorbar": {"title": {"text": axes[name][1]}, "len": 0.9 * share, "y": 1.0 - (k + 0.5) * share,
                         "x": 1.02, "thickness": 12},
        }
        for k, name in enumerate(used)
    }


def _symmetric_axis(arrays: list[np.ndarray]) -> dict:
    finite = [np.abs(a[np.isfinite(a)]) for a in arrays]
    top = max([float(f.max()) for f in finite if f.size] or [1.0])
    top = max(top, 1e-6)
    return {"colorscale": SIGNED_SCALE, "cmin": -top, "cmax": top}


def gate_bars(trace: Trace, t: int, layer: int = 0, direction: int = 0) -> go.Figure:
    """Each gate's value per unit at step ``t`` (the RNN, which has no gates, shows h_t)."""
    lt = trace.layers[layer][direction]
    shown, unit_note = _unit_window(lt.h.shape[1], MAX_BAR_UNITS)
    values = lt.gates or {"h": lt.h}
    fig = go.Figure()
    blank = 0
    for gate, series in values.items():
        bar, nonfinite, _ = plottable(series[t, :shown])
        blank += nonfinite
        fig.add_trace(go.Bar(x=np.arange(shown), y=bar, name=gate,
                             marker={"color": gate_colour(gate), "pattern": {"shape": gate_pattern(gate)}}))
    title = f"{cell_label(trace)}: {'gates' if lt.gates else 'h'} at t = {t}"
    notes = [where_label(trace, layer, direction), unit_note, *blank_notes(blank)]
    bounded = all(np.all(np.abs(v[t, :shown][np.isfinite(v[t, :shown])]) <= 1) for v in values.values())
    fig.update_yaxes(range=[-1.05, 1.05] if bounded else None, title_text="value")
    fig.update_xaxes(title_text="unit", tickformat="d", dtick=1 if shown <= 16 else None)
    return finish_layout(fig, title_block(title, notes), 320, barmode="group", bargap=0.15)


def unit_lines(
    trace: Trace,
    units: Sequence[int],
    layer: int = 0,
    direction: int = 0,
    quantities: Sequence[str] | None = None,
    characters: Sequence[str] | None = None,
) -> go.Figure:
    """Each quantity (gates, c, h) over time for the chosen units: one panel per quantity."""
    lt = trace.layers[layer][direction]
    quantities = tuple(quantities or layer_quantities(trace))
    units = [u for u in units if 0 <= u < lt.h.shape[1]][:8]
    stride = _stride(trace.steps, min(MAX_LINE_POINTS, FIGURE_VALUES // max(1, len(quantities) * len(units))))
    layout, axes = _stacked([quantity_name(trace, q) for q in quantities], time_axis(trace.steps, characters))
    palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442"]
    dashes = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot", "solid", "dash"]
    lines, blank = [], 0
    for row, (quantity, axis) in enumerate(zip(quantities, axes, strict=True)):
        array = layer_array(lt, quantity)
        for k, unit in enumerate(units):
            values, nonfinite, _ = plottable(array[:, unit] if unit < array.shape[1]
                                             else np.full(len(array), np.nan))
            blank += nonfinite
            lines.append(_line(values, stride, name=f"unit {unit}", legendgroup=f"unit {unit}",
                               showlegend=row == 0, line={"color": palette[k], "dash": dashes[k]}, **axis))
    notes = [where_label(trace, layer, direction), _stride_note(stride), *blank_notes(blank)]
    title = f"{cell_label(trace)}: chosen units over time"
    return finish_layout(go.Figure(lines, layout), title_block(title, notes),
                         max(300, 110 + 120 * len(quantities)))


def saturation_bars(traces: Mapping[str, Trace]) -> go.Figure:
    """Share of each gate's values in its flat tails, per cell, layer and direction (stacked bars)."""
    labels, low, high, hover = [], [], [], []
    for key, trace in traces.items():
        for row in saturation(trace):
            where = where_label(trace, row.layer, row.direction)
            labels.append(f"{series_label(key, trace)} {row.gate}" + (f" ({where})" if where else ""))
            low.append(row.low)
            high.append(row.high)
            hover.append(f"low: {row.low_label}, high: {row.high_label}")
    fig = go.Figure(
        [
            go.Bar(x=labels, y=low, name="low tail", marker={"color": "#0072B2"}, customdata=hover,
                   hovertemplate="%{x}<br>%{y:.1%} in the low tail<br>%{customdata}<extra></extra>"),
            go.Bar(x=labels, y=high, name="high tail", marker={"color": "#E69F00", "pattern": {"shape": "/"}},
                   customdata=hover,
                   hovertemplate="%{x}<br>%{y:.1%} in the high tail<br>%{customdata}<extra></extra>"),
        ]
    )
    fig.update_yaxes(range=[0, 1], tickformat=".0%", title_text="share of values")
    notes = ["σ gates: below 0.1 / above 0.9; tanh (g, n, the RNN's h): below −0.9 / above 0.9"]
    return finish_layout(fig, title_block("Saturation: where σ′ or tanh′ ≈ 0", notes), 380, barmode="stack")


# ---------------------------------------------------------------------------------------------
# Gradients


_GRADIENT_NAMES = {
    "h": "‖δh_t‖ = ‖∂L/∂h_t‖",
    "c": "‖δc_t‖ = ‖∂L/∂c_t‖ (cell state)",
    "x": "‖∂L/∂x_t‖: what the loss depends on",
}


def gradient_norms(
    traces: Mapping[str, Trace],
    quantity: str = "h",
    layer: int = 0,
    direction: int = 0,
    *,
    t: int | None = None,
    characters: Sequence[str] | None = None,
    mark_horizons: bool = False,
    height: int = 400,
) -> go.Figure:
    """``||dL/dh_t||`` (or ``c``: ``||dL/dc_t||``; ``x``: ``||dL/dx_t||``) over t, log scale, one line each.

    ``mark_horizons``: a marker where each cell's gradient first falls below 10^-3 of its value at T
    (its gradient horizon, :func:`lstmviz.summaries.gradient_horizon`).
    """
    if quantity not in _GRADIENT_NAMES:
        raise ValueError(f"quantity must be one of {tuple(_GRADIENT_NAMES)}, got {quantity!r}")
    fig = go.Figure()
    blank = low = steps = 0
    tiny = 0.0
    positions = iter(("top left", "bottom right", "top right", "bottom left", "middle left"))
    for key, trace in traces.items():
        array = gradient_array(trace, quantity, layer, direction)
        if array is None:
            continue
        tiny = max(tiny, smallest_normal(trace))
        norms = row_norms(array)
        values, nonfinite, under = plottable(norms, log=True, tiny=smallest_normal(trace))
        blank, low, steps = blank + nonfinite, low + under, max(steps, len(values))
        cell = trace.cell
        fig.add_trace(_line(values, _stride(len(values)), name=series_label(key, trace),
                            line={"color": cell.colour, "dash": cell.dash, "width": 2.5}))
        horizon = gradient_horizon(trace, layer, direction) if mark_horizons and quantity == "h" else None
        if horizon is not None and horizon.steps is not None:
            at = len(norms) - 1 - horizon.steps
            fig.add_trace(go.Scatter(
                x=[at], y=[norms[at]], mode="markers+text",
                text=[f"{series_label(key, trace)}: {horizon.steps}"],
                textposition=next(positions, "top left"), textfont={"color": cell.colour, "size": 12},
                marker={"color": cell.colour, "size": 11, "symbol": "x"}, showlegend=False,
                hovertemplate=f"{series_label(key, trace)} horizon: ‖δh‖ below 10⁻³ of its value at T, "
                f"{horizon.steps} steps back<extra></extra>"))
    fig.update_yaxes(type="log", title_text="norm (log scale)", exponentformat="power",
                     minor={"showgrid": False})
    fig.update_xaxes(**time_axis(steps, characters))
    if t is not None:
        fig.add_shape(cursor(t))
    first = next(iter(traces.values()), None)
    where = where_label(first, layer, direction) if first is not None and quantity != "x" else ""
    loss = f"loss: {'last step' if first is None or first.loss_kind == 'last' else 'all steps'}"
    notes = [loss, where, _stride_note(_stride(steps)), *blank_notes(blank, low, tiny)]
    if mark_horizons:
        notes.append("× = gradient horizon: ‖δh_t‖ first below 10⁻³ of its value at T")
    return finish_layout(fig, title_block(_GRADIENT_NAMES[quantity], notes), height)


def gradient_array(trace: Trace, quantity: str, layer: int, direction: int) -> np.ndarray | None:
    if quantity == "x":
        return trace.grad_x
    lt = trace.layers[layer][direction]
    return lt.grad_h if quantity == "h" else lt.grad_c


def gradient_heatmap(trace: Trace, layer: int = 0, direction: int = 0,
                     characters: Sequence[str] | None = None) -> go.Figure:
    """|dL/dh_t| per unit and step, colour on a log10 scale (dark: vanished)."""
    lt = trace.layers[layer][direction]
    shown, unit_note = _unit_window(lt.grad_h.shape[1])
    width = _time_bins(trace.steps, FIGURE_VALUES // shown)
    tiny = smallest_normal(trace)
    magnitude, nonfinite, low = plottable(np.abs(lt.grad_h[:, :shown]), log=True, tiny=tiny)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(_bin_mean(magnitude, width, np.float64))
    times = np.arange(0, trace.steps, width, dtype=np.float32) + (width - 1) / 2
    fig = go.Figure(
        go.Heatmap(
            z=logs.T.astype(np.float32),
            x=times,
            colorscale=GRADIENT_SCALE,
            colorbar={"title": {"text": "log₁₀ |δh|"}, "thickness": 12},
            hovertemplate="t=%{x}<br>unit %{y}<br>log₁₀|δh| = %{z:.2f}<extra></extra>",
        )
    )
    fig.update_xaxes(**time_axis(trace.steps, characters))
    fig.update_yaxes(title_text="unit")
    notes = [where_label(trace, layer, direction), unit_note, _bin_note(width),
             *blank_notes(nonfinite, low, tiny)]
    return finish_layout(fig, title_block(f"{cell_label(trace)}: |δh_t| per unit", notes), 360)


def jacobian_figure(norms: Mapping[str, JacobianNorms], cells: Mapping[str, Trace]) -> go.Figure:
    """``||ds_T/ds_t||`` per cell on a log scale, with the RNN's Pascanu bound and each carry path.

    ``norms`` maps a key to the :class:`JacobianNorms` of one layer and direction, ``cells`` the same
    key to its trace (for labels and colours). A carry path is drawn as its mean over units.
    """
    fig = go.Figure()
    blank = low = steps = 0
    windows = []
    tiny = float(np.finfo(np.float64).tiny)  # Jacobian norms are always computed in float64
    for key, jn in norms.items():
        trace = cells[key]
        cell, label = trace.cell, series_label(key, trace)
        lines = [(f"{label}: ‖∂s_T/∂s_t‖", jn.to_last, cell.dash, 2.5)]
        if jn.pascanu_bound is not None:
            lines.append((f"{label}: Pascanu bound (γ σ_max(W_hh))^(T−t)", jn.pascanu_bound, "dot", 1.2))
        if jn.carry_path is not None:
            with np.errstate(invalid="ignore"):
                lines.append((f"{label}: {cell.carry_label} (mean over units)", jn.carry_path.mean(axis=1),
                              "dashdot", 1.2))
        if not jn.computed.all():
            windows.append(f"{label} {int(jn.computed.sum()):,}")
        for name, series, dash, width in lines:
            values, nonfinite, under = plottable(series, log=True, tiny=tiny)
            skipped = int((~jn.computed).sum()) if series is jn.to_last else 0
            blank, low, steps = blank + nonfinite - skipped, low + under, max(steps, len(values))
            fig.add_trace(_line(values, _stride(len(values)), name=name,
                                line={"color": cell.colour, "dash": dash, "width": width}))
    fig.update_yaxes(type="log", title_text="norm (log scale)", exponentformat="power")
    fig.update_xaxes(**time_axis(steps))
    notes = ["s = h, or (h, c) for the LSTM", _stride_note(_stride(steps))]
    if windows:
        notes.append(f"computed for the last steps only (cost grows as steps × size³): {', '.join(windows)}")
    notes += blank_notes(blank, low, tiny)
    return finish_layout(fig, title_block("How fast the state forgets: ‖∂s_T/∂s_t‖", notes), 460)
