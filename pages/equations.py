"""Equations: every cell in PyTorch's convention, the tutorial GRU beside it, and the BPTT recursions."""

import streamlit as st

from lstmviz import equations
from ui import page

st.title("Equations")
config = page.config()
st.markdown(
    "PyTorch's convention (`torch.nn.RNN`, `LSTM`, `GRU`): separate input and recurrent matrices and two "
    "biases; LSTM rows stacked **i, f, g, o** (g is the tutorials' C̃); GRU rows **r, z, n**. The "
    "tutorials' concatenated form W·[h_{t−1}, x_t] + b is the same thing with W = [W_h | W_i] and "
    "b = b_i + b_h. σ is the logistic sigmoid, ⊙ the element-wise product."
)

st.header("Vanilla RNN")
page.latex_block(equations.equations("rnn"))

st.header("LSTM")
page.latex_block(equations.equations("lstm"))
st.caption("With proj_size > 0, h_t = W_hr (o_t ⊙ tanh(c_t)).")

st.header("GRU: two conventions")
current = config.gru_variant
left, right = st.columns(2)
for column, variant, title in (
    (left, "pytorch", "PyTorch (nn.GRU)"),
    (right, "tutorial", "Tutorial (Cho et al. 2014)"),
):
    with column:
        st.subheader(title + (" · on screen" if variant == current else ""))
        page.latex_block(equations.equations("gru", variant))
        st.caption(equations.GRU_CONVENTIONS[variant])
st.info(
    "Same parameters, different meaning of z: in PyTorch z_t is the share of the OLD state h_{t−1}; in "
    "the tutorial it is the share of the NEW content h̃_t. Reading a tutorial's z against PyTorch's "
    "means reading 1 − z. The reset gate also moves: after the product W_hn h (PyTorch) or before it "
    "(tutorial). Switch the convention on screen in the sidebar."
)

st.header("Backpropagation through time")
st.markdown(
    "δh_t = ∂L/∂h_t and δc_t = ∂L/∂c_t are total derivatives, through every later step; the loss "
    "splits into the loss at step t (ℓ_t) and the loss after it. With *Loss L: last step*, "
    "∂ℓ_t/∂h_t is 1 at t = T (top layer) and 0 elsewhere."
)
for cell, title in (("rnn", "RNN"), ("lstm", "LSTM"), ("gru", f"GRU ({current})")):
    st.subheader(title)
    page.latex_block(equations.bptt(cell, current))
