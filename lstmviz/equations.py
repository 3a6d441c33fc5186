"""The cells' equations as LaTeX, symbolic or with the numbers of one step substituted.

Conventions are PyTorch's (``torch.nn.RNN/LSTM/GRU``: separate input and recurrent matrices, two
biases, LSTM rows i f g o, GRU rows r z n) and, for the GRU, optionally the tutorial form of Cho et al.
(2014) with the same parameters; see :mod:`lstmviz.cells`. Each function returns a list of LaTeX lines
(one equation each) for ``st.latex`` or a notebook's ``Math``.

:func:`substituted` writes the equations of one unit at one step with the trace's numbers, e.g.
``c_{5} = f_{5}\\,c_{4} + i_{5}\\,g_{5} = 0.77 \\cdot 0.1 + 0.53 \\cdot 0.2 = 0.183``. The identities hold
exactly per unit (they are element-wise), up to the 4 significant digits shown. The pre-activations
a^k_t = W_ik x_t + b_ik + W_hk h_{t-1} + b_hk come from the trace.
"""

from __future__ import annotations

import math

import numpy as np

from .diagram import previous_state, previous_step
from .results import Trace

_LSTM = [
    r"i_t = \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi})",
    r"f_t = \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf})",
    r"g_t = \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \quad (g = \tilde{C})",
    r"o_t = \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho})",
    r"c_t = f_t \odot c_{t-1} + i_t \odot g_t",
    r"h_t = o_t \odot \tanh(c_t)",
]
_GRU_GATES = [
    r"r_t = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr})",
    r"z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz})",
]
_GRU = {
    "pytorch": _GRU_GATES
    + [
        r"n_t = \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn}))",
        r"h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}",
    ],
    "tutorial": _GRU_GATES
    + [
        r"\tilde{h}_t = n_t = \tanh(W_{in} x_t + b_{in} + W_{hn} (r_t \odot h_{t-1}) + b_{hn})",
        r"h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde{h}_t",
    ],
}

GRU_CONVENTIONS = {
    "pytorch": "PyTorch (nn.GRU): reset r applied after the product W_hn h; "
    "z is the share of the OLD state h_{t-1}.",
    "tutorial": "Tutorial (Cho et al. 2014): reset r applied before the product, W_hn (r ⊙ h); "
    "z is the share of the NEW content h̃ (the same parameters as nn.GRU, which has no such mode).",
}


def equations(cell: str, gru_variant: str = "pytorch", nonlinearity: str = "tanh") -> list[str]:
    """The cell's equations, symbolic, in PyTorch's convention (GRU: ``gru_variant``)."""
    if cell == "rnn":
        act = r"\tanh" if nonlinearity == "tanh" else r"\operatorname{relu}"
        return [rf"h_t = {act}(W_{{ih}} x_t + b_{{ih}} + W_{{hh}} h_{{t-1}} + b_{{hh}})"]
    if cell == "lstm":
        return list(_LSTM)
    if cell == "gru":
        return list(_GRU[gru_variant])
    raise ValueError(f"unknown cell {cell!r}")


def bptt(cell: str, gru_variant: str = "pytorch") -> list[str]:
    """The backward recursions for delta_h_t = dL/dh_t (and delta_c_t for the LSTM)."""
    common = [
        r"\delta h_t = \frac{\partial \ell_t}{\partial h_t}"
        r" + \Big(\frac{\partial h_{t+1}}{\partial h_t}\Big)^{\!\top} \delta h_{t+1}",
        r"\frac{\partial L}{\partial x_t} = W_{ih}^{\top}\, \delta a_t"
        r" \quad (\delta a_t = \partial L / \partial \text{pre-activations at } t)",
    ]
    if cell == "rnn":
        return common + [
            r"\frac{\partial h_{t+1}}{\partial h_t} = \operatorname{diag}(1 - h_{t+1}^2)\, W_{hh}",
            r"\Big\|\frac{\partial h_T}{\partial h_t}\Big\| \le \prod_{k=t+1}^{T}"
            r" \|\operatorname{diag}(1 - h_k^2)\|\,\|W_{hh}\| \le (\gamma\, \sigma_{\max}(W_{hh}))^{T-t}",
        ]
    if cell == "lstm":
        return common + [
            r"\delta c_t = \delta h_t \odot o_t \odot (1 - \tanh^2(c_t)) + \delta c_{t+1} \odot f_{t+1}",
            r"\frac{\partial c_T}{\partial c_t}\Big|_{\text{cell path}}"
            r" = \prod_{k=t+1}^{T} \operatorname{diag}(f_k)",
        ]
    keep = r"z_t" if gru_variant == "pytorch" else r"(1 - z_t)"
    return common + [
        rf"\delta h_{{t-1}} \mathrel{{+}}= \delta h_t \odot {keep}"
        r" \quad \text{(the direct path; more through } r_t, z_t, n_t \text{)}",
    ]


def substituted(trace: Trace, t: int, layer: int = 0, direction: int = 0, unit: int = 0) -> list[str]:
    """The equations of ``unit`` at step ``t`` with the trace's numbers (pre-activation a^k_t)."""
    lt = trace.layers[layer][direction]
    prev = previous_step(trace, direction, t)
    p = str(t + 1 if direction else t - 1)  # the step processed before t
    s = str(t)

    def v(array: np.ndarray) -> str:
        return _num(float(array[unit]))

    def gate(letter: str, act: str) -> str:
        pre = lt.preactivations[letter][t]
        return (
            rf"{letter}_{{{s}}} = {act}(a^{{{letter}}}_{{{s}}}) = {act}({v(pre)}) = {v(lt.gates[letter][t])}"
        )

    h_prev = previous_state(lt, "h", prev)
    if trace.spec.cell == "rnn":
        act = r"\tanh" if trace.spec.nonlinearity == "tanh" else r"\operatorname{relu}"
        return [rf"h_{{{s}}} = {act}(a_{{{s}}}) = {act}({v(lt.preactivations['h'][t])}) = {v(lt.h[t])}"]
    if trace.spec.cell == "lstm":
        i, f, g, o = (lt.gates[k][t] for k in "ifgo")
        c_prev = previous_state(lt, "c", prev)
        lines = [gate("i", r"\sigma"), gate("f", r"\sigma"), gate("g", r"\tanh"), gate("o", r"\sigma")]
        lines.append(
            rf"c_{{{s}}} = f_{{{s}}}\,c_{{{p}}} + i_{{{s}}}\,g_{{{s}}} = {v(f)} \cdot {_par(c_prev[unit])}"
            rf" + {v(i)} \cdot {_par(g[unit])} = {v(lt.c[t])}"
        )
        if trace.spec.proj_size:
            lines.append(
                rf"h_{{{s}}} = W_{{hr}}\,(o_{{{s}}} \odot \tanh(c_{{{s}}})) \quad \text{{(projection)}}"
            )
        else:
            lines.append(
                rf"h_{{{s}}} = o_{{{s}}} \tanh(c_{{{s}}}) = {v(o)} \cdot \tanh({v(lt.c[t])}) = {v(lt.h[t])}"
            )
        return lines
    z = lt.gates["z"][t]
    n = lt.gates["n"][t]
    lines = [gate("r", r"\sigma"), gate("z", r"\sigma"), gate("n", r"\tanh")]
    if trace.spec.gru_variant == "pytorch":
        mix = (
            rf"h_{{{s}}} = (1 - z_{{{s}}})\,n_{{{s}}} + z_{{{s}}}\,h_{{{p}}}"
            rf" = (1 - {v(z)}) \cdot {_par(n[unit])} + {v(z)} \cdot {_par(h_prev[unit])} = {v(lt.h[t])}"
        )
    else:
        mix = (
            rf"h_{{{s}}} = (1 - z_{{{s}}})\,h_{{{p}}} + z_{{{s}}}\,\tilde{{h}}_{{{s}}} = (1 - {v(z)}) \cdot "
            rf"{_par(h_prev[unit])} + {v(z)} \cdot {_par(n[unit])} = {v(lt.h[t])}"
        )
    return lines + [mix]


def _num(value: float) -> str:
    if math.isnan(value):
        return r"\text{NaN}"
    if math.isinf(value):
        return r"\infty" if value > 0 else r"-\infty"
    text = f"{value:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


def _par(value: float) -> str:
    """A number as a factor: negative numbers in parentheses."""
    text = _num(float(value))
    return f"({text})" if text.startswith("-") else text
