"""Gates and states: every gate, c and h over time, the enabled cells side by side."""

import streamlit as st

from lstmviz import plots
from ui import gates_view, page

st.title("Gates and states")
st.markdown(
    "Heatmaps show units (rows) against time (columns), the cells side by side on the same time axis. "
    "A forget gate near 1 keeps the cell state (the conveyor belt c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t); a "
    "GRU update gate near 1 keeps h_{t−1} in PyTorch's convention but takes the new content in the "
    "tutorial's."
)
loaded = page.load()
if loaded is not None:
    _, view = loaded
    layer, direction = page.pick_layer(view)
    gates_view.side_by_side(view, layer, direction)
    gates_view.chosen_units(view, layer, direction)
    st.header("Saturation")
    st.markdown(
        "Where a σ gate sits below 0.1 or above 0.9 (a tanh below −0.9 or above 0.9), its slope is nearly 0 "
        "and little gradient passes through it: a saturated forget gate near 1 is what keeps the LSTM's "
        "memory, a saturated RNN tanh is what kills the RNN's gradient."
    )
    page.show("saturation", plots.saturation_bars(view.labelled()), key="gates_saturation")
    st.dataframe(gates_view.saturation_rows(view), hide_index=True, width="stretch")
