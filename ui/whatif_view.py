"""The What-if lab's parts: clamps (from a form, a diagram click or a drag on a heatmap), the phase
diagram, the spectrum and the connectivity."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import streamlit as st

import lstmviz
from lstmviz import plots, whatif_plots
from lstmviz.interventions import quantity_sizes
from lstmviz.summaries import gradient_horizon

from . import page
from .compute import View, compute
from .config import MAX_CLAMPS, AppConfig
from .safe_text import plain
from .sidebar import hand_over

REQUEST = "whatif_request"  # a clamp asked for by a click or a drag: {"cell", "name", "steps", "units"}
HISTORY = "whatif_history"  # earlier clamp sets, for Undo
SCALES = tuple(np.round(np.linspace(0.25, 3.0, 12), 2))
FORGET_BIASES = (-2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 6.0)
SEEDS = (0, 1, 2, 3)
MAX_SWEEP_STEPS = 200


def request(cell: str, name: str, steps: tuple[int, int], units: tuple[int, ...] | None = None) -> None:
    """Prefill the clamp form (a click on a gate of the stepper's diagram, a drag on a heatmap)."""
    st.session_state[REQUEST] = {"cell": cell, "name": name, "steps": steps, "units": units}


def _set_clamps(config: AppConfig, interventions: tuple) -> None:
    st.session_state.setdefault(HISTORY, []).append(config.interventions)
    hand_over(replace(config, interventions=interventions))


def _undo(config: AppConfig) -> None:
    history = st.session_state.get(HISTORY, [])
    if history:
        hand_over(replace(config, interventions=history.pop()))


def describe(cell_label: str, clamp: lstmviz.Clamp, steps: int) -> str:
    where = f"{'all units' if clamp.units is None else 'units ' + ', '.join(map(str, clamp.units))}"
    stack = (f", layer {clamp.layer}" if clamp.layer else "") + (", reverse" if clamp.direction else "")
    last = min(clamp.steps[1], steps) - 1
    return f"{cell_label}: {clamp.name} = {clamp.value:g} on steps {clamp.steps[0]}–{last}, {where}{stack}"


def clamps_section(config: AppConfig, view: View) -> None:
    st.header("Clamp a gate or a state")
    st.caption("A clamped value replaces the computed one on those steps and units; everything after it uses "
               "the new value, and no gradient passes to what computed it. Every page shows the clamped run.")
    for index, (cell, clamp) in enumerate(config.interventions):
        left, right = st.columns([5, 1])
        label = view.labels.get(cell, cell)
        left.markdown(plain(describe(label, clamp, view.steps)))
        right.button("Remove", key=f"whatif_remove_{index}", on_click=_set_clamps,
                     args=(config, config.interventions[:index] + config.interventions[index + 1 :]))
    left, middle, _ = st.columns([1, 1, 3])
    left.button("Clear all", disabled=not config.interventions, on_click=_set_clamps, args=(config, ()),
                key="whatif_clear")
    middle.button("Undo", disabled=not st.session_state.get(HISTORY), on_click=_undo, args=(config,),
                  key="whatif_undo")
    clamp_form(config, view)


def _cancel() -> None:
    st.session_state.pop(REQUEST, None)


def clamp_form(config: AppConfig, view: View, cancel: bool = False) -> None:
    """The form that adds a clamp, prefilled by a click on a diagram or a drag over a heatmap."""
    wanted = st.session_state.get(REQUEST) or {}
    cells = list(view.traces)
    with st.container(border=True):
        st.markdown("**Add a clamp**" + (" (from your click or drag)" if wanted else ""))
        if cancel:
            st.button("Cancel", on_click=_cancel, key="whatif_cancel")
        a, b, c = st.columns(3)
        cell = a.selectbox("Cell", cells,
                           index=cells.index(wanted["cell"]) if wanted.get("cell") in cells else 0,
                           format_func=view.labels.get, key="whatif_cell")
        sizes = quantity_sizes(view.traces[cell].cell)
        names = list(sizes)
        name = b.selectbox("Gate or state", names,
                           index=names.index(wanted["name"]) if wanted.get("name") in names else 0,
                           help="A gate letter of this cell, or its state h (and c for the LSTM).",
                           key="whatif_name")
        value = c.number_input("Value", -10.0, 10.0, value=1.0, step=0.1, key="whatif_value")
        start, stop = wanted.get("steps", (0, view.steps))
        steps = st.slider("Steps (the clamp holds from the first to the last)", 0, view.steps - 1,
                          value=(min(start, view.steps - 1), min(stop, view.steps) - 1), key="whatif_steps")
        units = st.multiselect("Units (none chosen: all)", range(sizes[name]),
                               default=[u for u in wanted.get("units") or () if u < sizes[name]],
                               key="whatif_units")
        if st.button("Apply", type="primary", key="whatif_apply"):
            if len(config.interventions) >= MAX_CLAMPS:
                st.error(f"At most {MAX_CLAMPS} clamps: remove one first.")
                return
            clamp = lstmviz.Clamp(name, float(value), (steps[0], steps[1] + 1), tuple(units) or None)
            st.session_state.pop(REQUEST, None)
            _set_clamps(config, config.interventions + ((cell, clamp),))
            st.rerun()


def comparison(config: AppConfig, view: View, models) -> None:
    """The clamped run against the original, with both horizons and one line reading them."""
    if not config.interventions:
        st.info("No clamps yet. Try the LSTM with f = 1 and i = 0 on steps 5–19: the cell state holds and δc "
                "is carried through unchanged. Click a gate on the Step-through diagram, drag over a heatmap "
                "below, or use the form above.")
        return
    original = compute(replace(config, interventions=()), models)
    if not isinstance(original, View):
        return
    page.show("intervention", whatif_plots.intervention_figure(view.labelled(), original.labelled()),
              key="whatif_comparison")
    parts = [reading(view.labels[cell], view.traces[cell], original.traces[cell])
             for cell in sorted({cell for cell, _ in config.interventions if cell in view.traces})]
    if parts:
        st.markdown(plain(" ".join(parts)))


def reading(label: str, clamped, original) -> str:
    """One sentence: how much of the gradient at T reaches t = 0, with and without the clamps."""
    def share(values):
        norms = np.linalg.norm(values, axis=1)
        return float(norms[0] / norms[-1]) if norms[-1] else float("nan")

    text = (f"{label}: ‖δh_0‖ is {share(clamped.layers[0][0].grad_h):.2g} of ‖δh_T‖ with the clamps, "
            f"{share(original.layers[0][0].grad_h):.2g} without (horizon "
            f"{_steps(gradient_horizon(original))} → {_steps(gradient_horizon(clamped))} steps)")
    if clamped.layers[0][0].grad_c is not None:
        text += (f"; ‖δc_0‖ is {share(clamped.layers[0][0].grad_c):.2g} of ‖δc_T‖ with the clamps, "
                 f"{share(original.layers[0][0].grad_c):.2g} without")
    return text + "."


def _steps(horizon) -> str:
    return str(horizon.steps) if horizon.steps is not None else f"> {horizon.available}"


def _dragged(key: str, cell: str, quantities: tuple[str, ...]) -> None:
    event = st.session_state.get(key)
    selection = getattr(event, "selection", None) or (event or {}).get("selection", {})
    points = getattr(selection, "points", None) or (selection.get("points", []) if isinstance(selection, dict)
                                                    else [])
    picked = [p for p in points if p.get("curve_number", -1) >= len(quantities)]
    if not picked:
        return
    name = quantities[picked[0]["curve_number"] - len(quantities)]
    steps = [round(float(p["x"])) for p in picked]
    units = tuple(sorted({round(float(p["y"])) for p in picked}))
    request(cell, name, (min(steps), max(steps) + 1), units)


def drag_heatmap(view: View) -> None:
    st.subheader("Drag over a span of a heatmap to clamp it")
    cell = st.segmented_control("Cell", tuple(view.traces), format_func=view.labels.get, required=True,
                                default=next(iter(view.traces)), key="whatif_drag_cell")
    trace = view.traces[cell]
    quantities = plots.layer_quantities(trace)
    key = f"whatif_drag_{cell}"
    page.show("state_heatmaps", plots.state_heatmaps(trace, clickable=True, panel_height=90,
                                                     characters=view.characters),
              key=key, on_select=lambda: _dragged(key, cell, quantities), selection_mode=("box", "points"))


@st.cache_data(max_entries=16, show_spinner="Sweeping recurrent scale × forget bias over 4 seeds…")
def _sweep(cell: str, x: np.ndarray, settings: lstmviz.ModelSettings) -> lstmviz.Sweep:
    flat = replace(settings, num_layers=1, bidirectional=False)
    return lstmviz.sweep(cell, x[:MAX_SWEEP_STEPS], scales=SCALES, forget_biases=FORGET_BIASES, seeds=SEEDS,
                         settings=flat)


def _apply_point(key: str, config: AppConfig) -> None:
    event = st.session_state.get(key)
    selection = getattr(event, "selection", None) or (event or {}).get("selection", {})
    points = getattr(selection, "points", None) or (selection.get("points", []) if isinstance(selection, dict)
                                                    else [])
    if points:
        scale, bias = float(points[0]["x"]), float(points[0]["y"])
        hand_over(replace(config, model=replace(config.model, recurrent_scale=scale, forget_bias=bias)))


def phase_section(config: AppConfig, view: View) -> None:
    st.header("Vanishing or exploding: recurrent scale × forget bias")
    st.caption(f"Each cell freshly built at every grid point ({len(SCALES)} scales × {len(FORGET_BIASES)} "
               f"forget biases × {len(SEEDS)} seeds), one layer, on the sidebar's sequence (its first "
               f"{MAX_SWEEP_STEPS} steps at most). Click a point to apply that setting in the sidebar.")
    quantity = st.segmented_control("Show", ("horizon", "gain"), required=True, default="horizon",
                                    format_func={"horizon": "gradient horizon", "gain": "‖∂h_T/∂h_0‖"}.get,
                                    key="whatif_phase_quantity")
    current = (config.model.recurrent_scale, config.model.forget_bias)
    for start in range(0, len(view.traces), 2):
        row = list(view.traces)[start : start + 2]
        for column, cell in zip(st.columns(len(row)), row, strict=True):
            with column:
                try:
                    result = _sweep(cell, view.x, config.model)
                except ValueError as error:
                    st.error(plain(str(error)))
                    continue
                key = f"whatif_phase_{cell}"
                page.show("phase", whatif_plots.phase_figure(result, view.labels[cell], quantity, current),
                          key=key, on_select=lambda key=key: _apply_point(key, config),
                          selection_mode="points")


def spectrum_section(view: View) -> None:
    st.header("The spectrum of the step Jacobian ∂sₜ/∂sₜ₋₁")
    st.caption("Move the slider under the chart to scrub through the steps (in the browser, no rerun).")
    cell = st.segmented_control("Cell", tuple(view.traces), format_func=view.labels.get, required=True,
                                default=next(iter(view.traces)), key="whatif_spectrum_cell")
    page.show("spectrum", whatif_plots.spectrum_figure(view.traces[cell], view.labels[cell]),
              key="whatif_spectrum")
    result = st.session_state.get("tl_result")
    if result is not None and cell in result.cells:
        steps = result.snapshot_steps
        step = st.select_slider("…or at a training snapshot (the Training lab's run, on its probe sequence)",
                                steps, value=steps[-1], key="whatif_snapshot")
        model = result.cells[cell].snapshots[steps.index(step)].model
        trace = lstmviz.trace(model, result.probe_x, dtype="float64")
        page.show("spectrum",
                  whatif_plots.spectrum_figure(trace, f"{view.labels[cell]} at training step {step}"),
                  key="whatif_spectrum_snapshot")


@st.cache_data(max_entries=8, show_spinner="Computing ∂output_t/∂x_s for every pair of steps…")
def _connectivity(config: AppConfig, cell: str, _models) -> np.ndarray:
    view = compute(config, _models)
    clamps = [clamp for c, clamp in config.interventions if c == cell]
    return lstmviz.connectivity(view.traces[cell].model, view.x, interventions=clamps)


def connectivity_section(config: AppConfig, view: View, models) -> None:
    st.header("Connectivity: which inputs each output still depends on")
    for start in range(0, len(view.traces), 2):
        row = list(view.traces)[start : start + 2]
        for column, cell in zip(st.columns(len(row)), row, strict=True):
            with column:
                try:
                    matrix = _connectivity(config, cell, models)
                except ValueError as error:
                    st.error(plain(f"{view.labels[cell]}: {error}"))
                    continue
                page.show("connectivity", whatif_plots.connectivity_figure(matrix, view.labels[cell]),
                          key=f"whatif_connectivity_{cell}")

