"""Figures of a :class:`~lstmviz.training.TrainingResult`: pure functions, result in, ``go.Figure`` out.

- :func:`curves_figure`: loss and accuracy per cell, per training batch (thin, smoothed) and on the
  fixed evaluation batch at every snapshot (markers);
- :func:`gradient_horizon_figure`: one heatmap per cell of log10 ||dL/dh_t|| over
  (snapshot step x timestep) on the probe sequence, so the gradient horizon can be watched as it
  moves (or does not) during training. By default each row is relative to its own largest value
  (how far back the gradient reaches, whatever its overall size); ``normalise=False`` puts every
  cell on one absolute colour scale;
- :func:`snapshot_profile_figure`: the same norms at one snapshot, one line per cell;
- :func:`grad_norm_figure`: the total gradient norm of every training step, before clipping.

Log axes leave out what is not a number on them: zeros and underflow below the smallest normal
number of the format the value was computed in (float32 for training, float64 for the probe), and
inf/NaN. Each figure counts what it leaves out in its title.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .cells import REGISTRY
from .palette import GRADIENT_SCALE
from .plots import blank_notes, plottable
from .training import REGRESSION_TOLERANCE, CellResult, TrainingResult

LOG_SPAN = 12.0
"""Decades shown below the largest gradient norm; smaller norms get the lowest colour."""

TRAINING_TINY = float(np.finfo(np.float32).tiny)
"""Training runs in float32: a loss or gradient norm at or below this is zero or underflow."""
PROBE_TINY = float(np.finfo(np.float64).tiny)
"""The probe is traced in float64."""

_MARGIN = {"l": 60, "r": 20, "t": 60, "b": 50}
DECADES = {"type": "log", "exponentformat": "power", "dtick": 1, "minor": {"showgrid": False}}
"""A log axis with one labelled tick per decade (no cluttered minor labels)."""


def _label(cell: str) -> str:
    return REGISTRY[cell].label


def _style(cell: str) -> dict:
    return {"color": REGISTRY[cell].colour, "dash": REGISTRY[cell].dash}


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average that ignores NaN (steps after a divergence stay NaN)."""
    values = np.asarray(values, dtype=np.float64)
    if window <= 1 or values.size == 0:
        return values
    finite = np.isfinite(values)
    sums = np.cumsum(np.where(finite, values, 0.0))
    counts = np.cumsum(finite)
    sums[window:] = sums[window:] - sums[:-window]
    counts[window:] = counts[window:] - counts[:-window]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = sums / counts
    out[~finite] = np.nan
    return out


def curves_figure(result: TrainingResult, selected_step: int | None = None) -> go.Figure:
    """Loss (log scale) and accuracy against the training step, one colour per cell."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(_loss_title(result), _accuracy_title(result)),
        horizontal_spacing=0.1,
    )
    window = max(1, result.steps_done // 50)
    steps = np.arange(1, result.steps_done + 1)
    blank = low = 0
    for cell, run in result.cells.items():
        colour, label = REGISTRY[cell].colour, _label(cell)
        snap_steps = [snap.step for snap in run.snapshots]
        train_loss, bad_train, low_train = _per_step(run, run.train_loss)
        eval_loss, bad_eval, low_eval = plottable([snap.loss for snap in run.snapshots], log=True,
                                                   tiny=TRAINING_TINY)
        blank, low = blank + bad_train + bad_eval, low + low_train + low_eval
        for col, batch, evaluated in (
            (1, train_loss, eval_loss),
            (2, run.train_accuracy, [snap.accuracy for snap in run.snapshots]),
        ):
            fig.add_trace(
                go.Scatter(
                    x=steps,
                    y=smooth(batch, window),
                    mode="lines",
                    line={"color": colour, "width": 1},
                    opacity=0.45,
                    name=f"{label} training batches",
                    legendgroup=cell,
                    showlegend=False,
                    hovertemplate=f"{label} step %{{x}}: %{{y:.4g}} (training, mean of {window})"
                    "<extra></extra>",
                ),
                row=1,
                col=col,
            )
            fig.add_trace(
                go.Scatter(
                    x=snap_steps,
                    y=evaluated,
                    mode="lines+markers",
                    line={**_style(cell), "width": 2},
                    marker={"size": 5},
                    name=label,
                    legendgroup=cell,
                    showlegend=col == 1,
                    hovertemplate=f"{label} step %{{x}}: %{{y:.4g}} (evaluation)<extra></extra>",
                ),
                row=1,
                col=col,
            )
        if run.diverged_at is not None:
            fig.add_vline(x=run.diverged_at, line={"color": colour, "dash": "dot"})
    if selected_step is not None:
        for col in (1, 2):
            fig.add_vline(x=selected_step, line={"color": "grey", "dash": "dash"}, row=1, col=col)
    fig.update_yaxes(**DECADES, row=1, col=1, title_text="loss")
    fig.update_yaxes(range=[-0.02, 1.02], row=1, col=2, title_text="accuracy")
    fig.update_xaxes(title_text="training step")
    fig.update_layout(
        height=360,
        margin=_MARGIN,
        legend={"orientation": "h", "y": -0.2},
        title=_title(f"{result.task.label}, length {result.task.length}: lines = evaluation batch at each "
                     "snapshot, faint = training batches", blank_notes(blank, low, TRAINING_TINY)),
    )
    return fig


def _title(main: str, notes: list[str]) -> dict:
    sub = "".join(f"<br><span style='font-size:12px'>{note}</span>" for note in notes)
    return {"text": main + sub, "font": {"size": 14}}


def _loss_title(result: TrainingResult) -> str:
    return "loss (MSE)" if result.task.kind == "regression" else "loss (cross-entropy)"


def _accuracy_title(result: TrainingResult) -> str:
    if result.task.kind == "regression":
        return f"accuracy (|error| < {REGRESSION_TOLERANCE:g})"
    return "accuracy (correct class)"


def gradient_horizon_figure(result: TrainingResult, selected_step: int | None = None,
                            normalise: bool = True) -> go.Figure:
    """log10 ||dL/dh_t|| per cell: rows are snapshots (training step), columns are timesteps.

    ``normalise``: each row relative to its largest value (0 = the largest, -3 = a thousandth of it);
    otherwise one absolute scale shared by all cells.
    """
    cells = list(result.cells)
    maps = {cell: result.cells[cell].grad_heatmap() for cell in cells}
    drawable = {cell: plottable(values, log=True, tiny=PROBE_TINY) for cell, values in maps.items()}
    logs = {cell: np.log10(values) for cell, (values, _, _) in drawable.items()}
    if normalise:
        logs = {cell: values - _row_max(values) for cell, values in logs.items()}
    finite = np.concatenate([v[np.isfinite(v)] for v in logs.values()] or [np.zeros(0)])
    top = float(finite.max()) if finite.size else 0.0
    bottom = max(float(finite.min()), top - LOG_SPAN) if finite.size else top - 1.0
    if bottom >= top:
        bottom = top - 1.0
    fig = make_subplots(
        rows=1,
        cols=len(cells),
        shared_yaxes=True,
        subplot_titles=[_label(c) for c in cells],
        horizontal_spacing=0.04,
    )
    steps = list(result.snapshot_steps)
    timesteps = np.arange(result.probe_x.shape[0])
    for col, cell in enumerate(cells, start=1):
        fig.add_trace(
            go.Heatmap(
                z=np.clip(logs[cell], bottom, top),
                x=timesteps,
                y=steps,
                coloraxis="coloraxis",
                customdata=maps[cell],
                hovertemplate=f"{_label(cell)}: training step %{{y}}, t = %{{x}}<br>"
                "‖∂L/∂h_t‖ = %{customdata:.3e}<extra></extra>",
            ),
            row=1,
            col=col,
        )
        if selected_step is not None:
            fig.add_hline(y=selected_step, line={"color": "white", "dash": "dash"}, row=1, col=col)
    fig.update_xaxes(title_text="timestep t of the probe sequence")
    fig.update_yaxes(title_text="training step", row=1, col=1)
    scale = "log10 (‖∂L/∂h_t‖ / row max)" if normalise else "log10 ‖∂L/∂h_t‖"
    notes = (["each row relative to its largest value"] if normalise else []) + blank_notes(
        sum(bad for _, bad, _ in drawable.values()), sum(low for _, _, low in drawable.values()), PROBE_TINY)
    fig.update_layout(
        height=380,
        margin=_MARGIN,
        coloraxis={"colorscale": GRADIENT_SCALE, "cmin": bottom, "cmax": top,
                   "colorbar": {"title": {"text": scale}}},
        title=_title("Gradient horizon: how far back ∂L/∂h_t reaches, at each snapshot "
                     f"(L = Σ h_T of the top layer on the probe sequence; {LOG_SPAN:g} decades shown)",
                     notes),
    )
    return fig


def _row_max(values: np.ndarray) -> np.ndarray:
    finite = np.where(np.isfinite(values), values, -np.inf)
    top = finite.max(axis=1, keepdims=True)
    return np.where(np.isfinite(top), top, 0.0)


def snapshot_profile_figure(result: TrainingResult, index: int) -> go.Figure:
    """||dL/dh_t|| against t at snapshot ``index`` (log scale), one line per cell."""
    fig = go.Figure()
    step = result.snapshot_steps[index]
    timesteps = np.arange(result.probe_x.shape[0])
    blank = low = 0
    for cell, run in result.cells.items():
        values, bad, under = plottable(run.snapshots[index].grad_norms, log=True, tiny=PROBE_TINY)
        blank, low = blank + bad, low + under
        fig.add_trace(
            go.Scatter(
                x=timesteps,
                y=values,
                mode="lines",
                name=_label(cell),
                line={**_style(cell), "width": 2},
                hovertemplate=f"{_label(cell)} t = %{{x}}: %{{y:.3e}}<extra></extra>",
            )
        )
    fig.update_yaxes(**DECADES, title_text="‖∂L/∂h_t‖")
    fig.update_xaxes(title_text="timestep t of the probe sequence")
    fig.update_layout(
        height=300,
        margin=_MARGIN,
        legend={"orientation": "h", "y": -0.25},
        title=_title(f"At training step {step}: gradient reaching each timestep",
                     blank_notes(blank, low, PROBE_TINY)),
    )
    return fig


def grad_norm_figure(result: TrainingResult) -> go.Figure:
    """The total gradient norm of every training step before clipping (log scale)."""
    fig = go.Figure()
    window = max(1, result.steps_done // 100)
    steps = np.arange(1, result.steps_done + 1)
    blank = low = 0
    for cell, run in result.cells.items():
        norms, bad, under = _per_step(run, run.grad_norm)
        blank, low = blank + bad, low + under
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=smooth(norms, window),
                mode="lines",
                name=_label(cell),
                line={**_style(cell), "width": 1.5},
                hovertemplate=f"{_label(cell)} step %{{x}}: %{{y:.3g}}<extra></extra>",
            )
        )
    clip = result.config.clip_norm
    note = "no clipping" if clip is None else f"dashed: clipped to {clip:g}"
    if clip is not None:
        fig.add_hline(y=clip, line={"color": "grey", "dash": "dash"})
    fig.update_yaxes(**DECADES, title_text="‖∇θ L‖ before clipping")
    fig.update_xaxes(title_text="training step")
    fig.update_layout(
        height=280,
        margin=_MARGIN,
        legend={"orientation": "h", "y": -0.3},
        title=_title(f"Total gradient norm per step ({note})", blank_notes(blank, low, TRAINING_TINY)),
    )
    return fig


def _per_step(run: CellResult, values: np.ndarray) -> tuple[np.ndarray, int, int]:
    """A per-step series ready for a log axis, with the counts of what it leaves out; the NaN after
    a divergence (steps never taken) are not counted."""
    out, bad, low = plottable(values, log=True, tiny=TRAINING_TINY)
    if run.diverged_at is not None:
        bad = int((~np.isfinite(np.asarray(values[: run.diverged_at], dtype=np.float64))).sum())
    return out, bad, low
