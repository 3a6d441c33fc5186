"""Equations: every enabled cell as its code computes it, the GRU's conventions, and the BPTT recursions."""

import streamlit as st

from lstmviz import equations
from lstmviz.cells.gru import CONVENTIONS
from ui import page

st.title("Equations")
loaded = page.load()
if loaded is not None:
    _, view = loaded
    st.markdown(
        "PyTorch's convention (`torch.nn.RNN`, `LSTM`, `GRU`): separate input and recurrent matrices and "
        "two biases; LSTM rows stacked **i, f, g, o** (g is the tutorials' C̃); GRU rows **r, z, n**. The "
        "tutorials' concatenated form W·[h_{t−1}, x_t] + b is the same thing with W = [W_h | W_i] and "
        "b = b_i + b_h for the RNN, the LSTM and the GRU's r and z. Not for the GRU's candidate: the reset "
        "gate scales W_hn h + b_hn (PyTorch) or h (tutorial) alone, so that part keeps its own matrix and "
        "bias. minGRU and minLSTM have no recurrent matrix at all: their gates read x_t only."
    )
    st.caption(equations.NOTATION)
    for cell, tr in view.traces.items():
        st.header(view.labels[cell])
        if tr.cell.convention():
            st.caption(tr.cell.convention())
        left, right = st.columns(2)
        with left:
            st.subheader("Forward")
            page.latex_block(equations.equations(tr.spec))
        with right:
            st.subheader("Backward (BPTT)")
            page.latex_block(equations.bptt(tr.spec))
        st.caption(f"Reference: {tr.cell.reference}.")
    st.header("The three readings of the GRU's z")
    st.markdown(
        f"- {CONVENTIONS['pytorch']}\n- {CONVENTIONS['tutorial']}\n"
        "- Cho et al. (2014), Keras `GRU(reset_after=False)` and d2l.ai put the reset before the product "
        "like the tutorial, but write hₜ = z ⊙ hₜ₋₁ + (1 − z) ⊙ h̃ₜ: their z keeps the old state, like "
        "PyTorch's. Switch the convention on screen in the sidebar."
    )
