"""Gradients: how far back the loss reaches, per cell, and why (vanishing and exploding)."""

import streamlit as st

from lstmviz import plots
from ui import gradient_view, page

st.title("Gradients")
st.markdown(
    r"""
With $\delta h_t = \partial L/\partial h_t$ (the total derivative, through every later step), every
$\delta h_t$ for $t<T$ is, with the loss at the last step only, a product of $T-t$ step Jacobians.
In a vanilla RNN each factor is $W_{hh}^\top \operatorname{diag}(\phi'(a))$, so the product shrinks
(or grows) geometrically: while $\gamma\,\sigma_{\max}(W_{hh}) < 1$ it must vanish (Pascanu et al. 2013).
The LSTM also carries $\delta c_t = (W_{hr}^\top \delta h_t) \odot o_t \odot (1-\tanh^2 c_t) """
    r"""+ \delta c_{t+1} \odot f_{t+1}$:
an **additive** path scaled only by the forget gate, which barely shrinks while $f \approx 1$.
Here $W_{hr}$ is the LSTM's output projection of `proj_size` (the identity without it), not the
GRU's reset-gate matrix of the same name.
"""
)
loaded = page.load()
if loaded is not None:
    _, view = loaded
    gradient_view.horizons(view)
    layer, direction = page.pick_layer(view)
    gradient_view.norms(view, layer, direction)
    gradient_view.per_unit(view, layer, direction)
    st.header("‖∂s_T/∂s_t‖: how fast the state forgets")
    st.markdown(
        "The norm of the product of step Jacobians from t to T (s = h, or (h, c) for the LSTM), independent "
        "of the loss. Beside it, the RNN's Pascanu bound (γ σ_max(W_hh))^(T−t) with γ = 1, and each gated "
        "cell's direct path: the product of its per-unit keep factor (mean over units)."
    )
    norms = {view.labels[c]: nested[min(layer, len(nested) - 1)][min(direction, len(nested[0]) - 1)]
             for c, nested in view.jacobians.items()}
    page.show("jacobian", plots.jacobian_figure(norms, view.labelled()), key="grad_jacobian")
