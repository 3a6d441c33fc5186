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
    "pytorch": "PyTorch (nn.GRU): the reset gate r acts after the product, r ⊙ (W_hn·h + b_hn); "
    "z is the share of the OLD state hₜ₋₁.",
    "tutorial": "Tutorial (Cho et al. 2014): the reset gate r acts before the product, W_hn·(r ⊙ h); "
    "z is the share of the NEW content h̃ₜ (same parameters as nn.GRU, which has no such mode).",
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
    """The equations of ``unit`` at step ``t`` with the trace's numbers.

    A gate reads ``f_5 = σ(2.063) = 0.8872``: the activation of its pre-activation
    a^f_5 = W_if x_5 + b_if + W_hf h_4 + b_hf (GRU's n: W_in x + b_in + r ⊙ (W_hn h + b_hn)).

    A line that starts with ``=`` continues the equation above it (for an ``aligned`` block).
    """
    step = _Step(trace, t, layer, direction, unit)
    if trace.spec.cell == "rnn":
        act = r"\tanh" if trace.spec.nonlinearity == "tanh" else r"\operatorname{relu}"
        a = step.v(step.lt.preactivations["h"][t])
        return [rf"h_{{{t}}} = {act}({a}) = {step.v(step.lt.h[t])}"]
    return _lstm_lines(step) if trace.spec.cell == "lstm" else _gru_lines(step)


class _Step:
    """One unit of one layer and direction at step t: its numbers as LaTeX."""

    def __init__(self, trace: Trace, t: int, layer: int, direction: int, unit: int) -> None:
        self.trace, self.t, self.unit = trace, t, unit
        self.lt = trace.layers[layer][direction]
        self.prev = previous_step(trace, direction, t)
        self.p = str(t + 1 if direction else t - 1)  # the step processed before t

    def v(self, values: np.ndarray) -> str:
        return _num(float(values[self.unit]))

    def factor(self, values: np.ndarray) -> str:
        return _par(float(values[self.unit]))

    def before(self, name: str) -> np.ndarray:
        return previous_state(self.lt, name, self.prev)

    def gate(self, letter: str) -> str:
        """``f_5 = σ(2.063) = 0.8872``: the activation of the pre-activation a^f_5."""
        act = r"\sigma" if letter in "ifozr" else r"\tanh"
        pre, value = self.v(self.lt.preactivations[letter][self.t]), self.v(self.lt.gates[letter][self.t])
        return rf"{letter}_{{{self.t}}} = {act}({pre}) = {value}"


def _lstm_lines(step: _Step) -> list[str]:
    s, p, lt = step.t, step.p, step.lt
    i, f, g, o = (lt.gates[k][s] for k in "ifgo")
    lines = [step.gate(k) for k in "ifgo"] + [
        rf"c_{{{s}}} = f_{{{s}}}\,c_{{{p}}} + i_{{{s}}}\,g_{{{s}}}",
        rf"= {step.v(f)} \cdot {step.factor(step.before('c'))} + {step.v(i)} \cdot {step.factor(g)}",
        rf"= {step.v(lt.c[s])}",
    ]
    if step.trace.spec.proj_size:
        return lines + [
            rf"h_{{{s}}} = W_{{hr}}\,(o_{{{s}}} \odot \tanh(c_{{{s}}})) \quad \text{{(projection)}}"
        ]
    return lines + [
        rf"h_{{{s}}} = o_{{{s}}} \tanh(c_{{{s}}}) = {step.v(o)} \cdot \tanh({step.v(lt.c[s])})",
        rf"= {step.v(lt.h[s])}",
    ]


def _gru_lines(step: _Step) -> list[str]:
    s, p, lt = step.t, step.p, step.lt
    z, n, h_prev = lt.gates["z"][s], lt.gates["n"][s], step.before("h")
    lines = [step.gate(k) for k in "rzn"]
    if step.trace.spec.gru_variant == "pytorch":
        return lines + [
            rf"h_{{{s}}} = (1 - z_{{{s}}})\,n_{{{s}}} + z_{{{s}}}\,h_{{{p}}}",
            rf"= (1 - {step.v(z)}) \cdot {step.factor(n)} + {step.v(z)} \cdot {step.factor(h_prev)}",
            rf"= {step.v(lt.h[s])}",
        ]
    return lines + [
        rf"h_{{{s}}} = (1 - z_{{{s}}})\,h_{{{p}}} + z_{{{s}}}\,\tilde{{h}}_{{{s}}}",
        rf"= (1 - {step.v(z)}) \cdot {step.factor(h_prev)} + {step.v(z)} \cdot {step.factor(n)}",
        rf"= {step.v(lt.h[s])}",
    ]


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
