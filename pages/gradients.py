"""Gradients: how far back the loss reaches, per cell, and why (vanishing and exploding)."""

import streamlit as st

from lstmviz import plots
from lstmviz.summaries import gradient_horizon
from ui import page

st.title("Gradients")
st.markdown(
    r"""
With $\delta h_t = \partial L/\partial h_t$ (the total derivative, through every later step), BPTT runs
$\delta h_t = \partial \ell_t/\partial h_t + (\partial h_{t+1}/\partial h_t)^\top \delta h_{t+1}$.
With the loss at the last step only, every $\delta h_t$ for $t<T$ is a product of $T-t$ Jacobians.
In a vanilla RNN each factor is $W_{hh}^\top \operatorname{diag}(1-h^2)$, so the product shrinks
(or grows) geometrically: below $\sigma_{\max}(W_{hh}) < 1/\gamma$ it must vanish (Pascanu et al. 2013).
The LSTM also carries
$\delta c_t = \delta h_t \odot o_t \odot (1-\tanh^2 c_t) + \delta c_{t+1} \odot f_{t+1}$:
an **additive** path scaled only by the forget gate, which barely shrinks while $f \approx 1$.
"""
)


def _horizons(result) -> None:
    st.header("Gradient horizon")
    if next(iter(result.traces.values())).loss_kind != "last":
        st.info(
            "The horizon needs the loss at the last step only: choose *Loss L: last step* in the sidebar."
        )
        return
    st.caption(
        "Steps back from T until ‖δh_t‖ falls below 10⁻³ · ‖δh_T‖ (layer 0, forward direction): "
        "how far back the loss can still teach the cell."
    )
    for column, trace in zip(st.columns(len(result.traces)), result.traces.values(), strict=True):
        horizon = gradient_horizon(trace)
        value = str(horizon.steps) if horizon.steps is not None else f"> {horizon.available}"
        column.metric(f"{plots.cell_label(trace)} horizon", value, help=horizon.describe(), border=True)


def _norms(result, layer: int, direction: int) -> None:
    st.header("‖δh_t‖ for every cell")
    st.caption("One log-scale chart: a straight falling line is geometric vanishing.")
    page.show(plots.gradient_norms(result.traces, "h", layer, direction), key="grad_h")
    if "lstm" in result.traces:
        st.subheader("‖δc_t‖: the LSTM's cell-state path")
        lstm_layer, lstm_direction = page.clamp_layer(result, "lstm", layer, direction)
        page.show(
            plots.gradient_norms({"lstm": result.traces["lstm"]}, "c", lstm_layer, lstm_direction),
            key="grad_c",
        )
    st.subheader("‖∂L/∂x_t‖: which inputs the loss depends on")
    page.show(plots.gradient_norms(result.traces, "x"), key="grad_x")


def _per_unit(result, layer: int, direction: int) -> None:
    st.header("δh_t per unit")
    cell = st.segmented_control(
        "Cell",
        tuple(result.traces),
        format_func=plots.CELL_LABELS.get,
        key="grad_unit_cell",
        required=True,
        default=next(iter(result.traces)),
    )
    cell_layer, cell_direction = page.clamp_layer(result, cell, layer, direction)
    page.show(plots.gradient_heatmap(result.traces[cell], cell_layer, cell_direction), key="grad_heatmap")


def _jacobians(result, layer: int, direction: int) -> None:
    st.header("‖∂s_T/∂s_t‖: how fast the state forgets")
    st.markdown(
        "The norm of the product of step Jacobians from t to T (s = h, or (h, c) for the LSTM), "
        "independent of the loss. Beside it, the RNN's Pascanu bound (γ σ_max(W_hh))^(T−t) with "
        "γ = 1 for tanh, and the LSTM's forget-gate path ∏_{k>t} f_k (mean over units)."
    )
    norms = {
        cell: result.jacobians[cell][min(layer, len(nested) - 1)][min(direction, len(nested[0]) - 1)]
        for cell, nested in result.jacobians.items()
    }
    page.show(plots.jacobian_figure(norms), key="grad_jacobian")
    if result.jacobian_windows:
        cut = ", ".join(f"{plots.CELL_LABELS[c]} {k}" for c, k in result.jacobian_windows.items())
        st.caption(f"Jacobians cost steps × (state size)³: computed for the last steps only ({cut}).")


loaded = page.load()
if loaded is not None:
    _, result = loaded
    _horizons(result)
    layer, direction = page.pick_layer(result, "grad")
    _norms(result, layer, direction)
    _per_unit(result, layer, direction)
    _jacobians(result, layer, direction)
