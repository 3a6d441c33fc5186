"""Figures of the What-if lab: pure functions, results in, ``plotly.graph_objects.Figure`` out.

- :func:`intervention_figure`: ‖δh_t‖ (and ‖δc_t‖) of the intervened run against the original, per cell;
- :func:`phase_figure`: the gradient horizon (or log10 ‖∂h_T/∂h_0‖) over recurrent scale × forget bias,
  median over seeds with the spread on hover, the current setting marked and, for the RNN, the Pascanu
  boundary γ·σ_max(W_hh) = 1 (Pascanu, Mikolov & Bengio 2013);
- :func:`spectrum_figure`: the eigenvalues of ∂s_t/∂s_{t−1} in the complex plane against the unit
  circle, one animation frame per shown step (scrubbed in the browser with its slider);
- :func:`connectivity_figure`: log10 ‖∂output_t/∂x_s‖ over (t, s), after Madsen (2019), "Visualizing
  memorization in RNNs", Distill.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .jacobian import spectrum
from .palette import GRADIENT_SCALE
from .plots import finish_layout, series_label, smallest_normal, time_axis, title_block
from .results import Trace
from .summaries import gradient_horizon
from .sweeps import Sweep

MAX_SPECTRUM_FRAMES = 120
MAX_CONNECTIVITY_STEPS = 400


def intervention_figure(intervened: dict[str, Trace], original: dict[str, Trace]) -> go.Figure:
    """‖δh_t‖ of each cell with the interventions (solid) and without (dotted); ‖δc_t‖ dashed."""
    fig = go.Figure()
    for key, trace in intervened.items():
        cell, label = trace.cell, series_label(key, trace)
        for name, tr, dash in ((f"{label} (intervened)", trace, "solid"),
                               (f"{label} (original)", original[key], "dot")):
            norms = np.linalg.norm(tr.layers[0][0].grad_h.astype(np.float64), axis=1)
            norms[norms <= smallest_normal(tr)] = np.nan
            fig.add_trace(go.Scatter(y=norms, mode="lines", name=f"{name}: ‖δh_t‖",
                                     line={"color": cell.colour, "dash": dash,
                                           "width": 2.5 if dash == "solid" else 1.5}))
        if trace.layers[0][0].grad_c is not None:
            norms = np.linalg.norm(trace.layers[0][0].grad_c, axis=1)
            norms[norms <= smallest_normal(trace)] = np.nan
            fig.add_trace(go.Scatter(y=norms, mode="lines", name=f"{label} (intervened): ‖δc_t‖",
                                     line={"color": cell.colour, "dash": "dash", "width": 1.5}))
    for trace in intervened.values():
        for clamp in trace.interventions:
            fig.add_vrect(x0=clamp.steps[0] - 0.5, x1=clamp.steps[1] - 0.5, fillcolor=trace.cell.colour,
                          opacity=0.08, line_width=0)
    first = next(iter(intervened.values()))
    fig.update_yaxes(type="log", title_text="norm (log scale)", exponentformat="power")
    fig.update_xaxes(**time_axis(first.steps))
    notes = ["solid: with the clamps; dotted: without; shaded: clamped steps; layer 0, forward"]
    return finish_layout(fig, title_block("What the clamps do to the gradient", notes), 420)


def horizon_text(trace: Trace) -> str:
    horizon = gradient_horizon(trace)
    return f"{horizon.steps}" if horizon.steps is not None else f"> {horizon.available}"


def phase_figure(result: Sweep, label: str, quantity: str = "horizon",
                 current: tuple[float, float] | None = None,
                 ) -> go.Figure:
    """A heatmap over (recurrent scale, forget bias) of the median over seeds; spread on hover.

    ``quantity``: ``"horizon"`` (steps; more than T−1 drawn at T) or ``"gain"`` (log10 ‖∂h_T/∂h_0‖, the
    boundary between vanishing and exploding is 0). A click on a cell reports (scale, bias) in its
    point's ``customdata``.
    """
    median, (low, high) = result.median(quantity), result.spread(quantity)
    if quantity == "horizon":
        shown = np.where(np.isinf(median), result.steps, median)
        scale = {"colorscale": GRADIENT_SCALE, "zmin": 0, "zmax": result.steps}
        bar = "horizon (steps)"
        text = np.vectorize(lambda m, lo, hi: ("> " + str(result.available) if np.isinf(m) else f"{m:g}")
                            + f" (seeds: {_steps(lo, result)}–{_steps(hi, result)})")(median, low, high)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            shown = np.log10(median)
        span = float(np.nanmax(np.abs(shown[np.isfinite(shown)]))) if np.isfinite(shown).any() else 1.0
        scale = {"colorscale": "RdBu", "reversescale": True, "zmid": 0, "zmin": -span, "zmax": span}
        bar = "log₁₀ ‖∂h_T/∂h_0‖"
        text = np.vectorize(lambda m, lo, hi: f"{m:.2g} (seeds: {lo:.2g}–{hi:.2g})")(median, low, high)
    fig = go.Figure(go.Heatmap(
        z=shown.T, x=result.scales, y=result.forget_biases, text=text.T,
        colorbar={"title": {"text": bar}}, **scale,
        hovertemplate="scale %{x:g}, forget bias %{y:g}<br>%{text}<extra></extra>"))
    grid_x, grid_y = np.meshgrid(result.scales, result.forget_biases)
    fig.add_trace(go.Scatter(x=grid_x.ravel(), y=grid_y.ravel(), mode="markers", name="pick",
                             showlegend=False, marker={"size": 18, "opacity": 0, "symbol": "square"},
                             hoverinfo="none"))
    if current is not None:
        fig.add_trace(go.Scatter(x=[current[0]], y=[current[1]], mode="markers", name="current setting",
                                 marker={"symbol": "star", "size": 16, "color": "white",
                                         "line": {"color": "black", "width": 1.5}}))
    if result.pascanu_scale is not None:
        boundary = float(np.nanmedian(result.pascanu_scale))
        fig.add_vline(x=boundary, line={"color": "black", "dash": "dash"},
                      annotation_text=f"γ·σ_max(W_hh) = 1 at scale {boundary:.2f}", annotation_position="top")
    notes = [f"median over {len(result.seeds)} seeds, spread on hover", f"T = {result.steps - 1}"]
    if not result.scale_applies:
        notes.append("no recurrent weights: the scale changes nothing")
    if not result.forget_bias_applies:
        notes.append("no forget gate: the bias changes nothing")
    fig.update_xaxes(title_text="recurrent scale (× W_hh)")
    fig.update_yaxes(title_text="forget-gate bias")
    what = "gradient horizon" if quantity == "horizon" else "‖∂h_T/∂h_0‖: vanishing (blue) or exploding (red)"
    return finish_layout(fig, title_block(f"{label}: {what}", notes), 380)


def _steps(value: float, result: Sweep) -> str:
    return f"> {result.available}" if np.isinf(value) else f"{value:g}"


def spectrum_figure(trace: Trace, label: str, layer: int = 0, direction: int = 0) -> go.Figure:
    """Eigenvalues of ∂s_t/∂s_{t−1} against the unit circle, with a slider over the shown steps."""
    times = np.unique(np.linspace(0, trace.steps - 1,
                                  min(trace.steps, MAX_SPECTRUM_FRAMES)).round().astype(int))
    eig, sv = spectrum(trace, layer, direction, times)
    angle = np.linspace(0, 2 * np.pi, 181)
    circle = go.Scatter(x=np.cos(angle), y=np.sin(angle), mode="lines", name="unit circle", showlegend=False,
                        line={"color": "#999", "dash": "dot"}, hoverinfo="skip")

    def points(k: int) -> go.Scatter:
        return go.Scatter(x=eig[k].real, y=eig[k].imag, mode="markers", name="eigenvalues", showlegend=False,
                          marker={"color": trace.cell.colour, "size": 8,
                                  "line": {"color": "black", "width": 0.5}},
                          hovertemplate="λ = %{x:.3f} + %{y:.3f}i<extra></extra>")

    def caption(k: int) -> str:
        radius = float(np.nanmax(np.abs(eig[k]))) if np.isfinite(eig[k]).any() else float("nan")
        return f"t = {times[k]}: largest |λ| = {radius:.3g}, σ_max = {float(sv[k][0]):.3g}"

    finite = np.abs(eig[np.isfinite(eig)])
    reach = max(1.1, float(finite.max()) * 1.1) if finite.size else 1.1
    frames = [go.Frame(data=[circle, points(k)], name=str(t),
                       layout={"title": title_block(f"{label}: spectrum of ∂s_t/∂s_t−1", [caption(k)])})
              for k, t in enumerate(times)]
    fig = go.Figure(data=[circle, points(0)], frames=frames)
    fig.update_layout(
        sliders=[{"active": 0, "currentvalue": {"prefix": "t = "}, "pad": {"t": 30},
                  "steps": [{"label": str(t), "method": "animate",
                             "args": [[str(t)], {"mode": "immediate",
                                                 "frame": {"duration": 0, "redraw": True},
                                                 "transition": {"duration": 0}}]} for t in times]}],
    )
    fig.update_xaxes(range=[-reach, reach], title_text="Re λ", zeroline=True)
    fig.update_yaxes(range=[-reach, reach], title_text="Im λ", scaleanchor="x", scaleratio=1)
    notes = [caption(0), "inside the circle every direction shrinks; outside, some grow"]
    return finish_layout(fig, title_block(f"{label}: spectrum of ∂s_t/∂s_t−1", notes), 480)


def connectivity_figure(matrix: np.ndarray, label: str) -> go.Figure:
    """log10 ‖∂output_t/∂x_s‖ over output step t (rows) and input step s (columns)."""
    steps = len(matrix)
    stride = max(1, int(np.ceil(steps / MAX_CONNECTIVITY_STEPS)))
    shown = matrix[::stride, ::stride]
    with np.errstate(divide="ignore"):
        logs = np.log10(np.where(shown > 0, shown, np.nan))
    axis = np.arange(0, steps, stride)
    top = float(np.nanmax(logs)) if np.isfinite(logs).any() else 0.0
    fig = go.Figure(go.Heatmap(
        z=logs.astype(np.float32), x=axis, y=axis, colorscale=GRADIENT_SCALE, zmin=top - 12, zmax=top,
        colorbar={"title": {"text": "log₁₀ ‖∂out_t/∂x_s‖"}},
        hovertemplate="output step t = %{y}, input step s = %{x}<br>log₁₀ ‖∂out_t/∂x_s‖ = "
                      "%{z:.2f}<extra></extra>"))
    fig.update_xaxes(title_text="input step s")
    fig.update_yaxes(title_text="output step t", autorange="reversed")
    notes = ["a row: which inputs output t still depends on", "blank: exactly 0 (the future, one direction)"]
    if stride > 1:
        notes.append(f"1 step in {stride} shown")
    return finish_layout(fig, title_block(f"{label}: connectivity", notes), 420)
