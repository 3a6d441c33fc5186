"""The vanilla (Elman) RNN, as torch.nn.RNN.

Forward: h_t = phi(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), phi = tanh or relu.

Backward: delta_a_t = delta_h_t * phi'(a_t) (1 - h_t^2 for tanh, 1[a_t > 0] for relu) and
delta_h_{t-1} gets W_hh^T delta_a_t. Each step back multiplies by diag(phi'(a_t)) W_hh, whose norm is
at most gamma * sigma_max(W_hh) with gamma = 1 for tanh and relu: below 1 the gradient must vanish
geometrically (Pascanu, Mikolov & Bengio 2013, "On the difficulty of training recurrent neural networks").
Reference: https://pytorch.org/docs/stable/generated/torch.nn.RNN.html
"""

from __future__ import annotations

import numpy as np

from .base import (
    INPUT,
    NO_CLAMPS,
    OP,
    STATE,
    BackwardPath,
    Cell,
    CellGrads,
    CellRun,
    Clamps,
    Edge,
    Layout,
    Node,
    batch_input_projection,
    diag_times,
    input_projection,
    rows_times,
    torch_affine,
    unchanged,
)
from .text import affine, input_gradient


class RNN(Cell):
    name = "rnn"
    label = "RNN"
    colour = "#D55E00"  # vermillion
    dash = "dot"
    reference = "Elman (1990); Pascanu, Mikolov & Bengio (2013); torch.nn.RNN"
    trace_arrays = 7
    rows = ("h",)
    gates = ()
    nonlinearities = ("tanh", "relu")
    torch_class = "RNN"
    pascanu_gamma = 1.0  # |tanh'| <= 1 and relu' <= 1
    paths = (BackwardPath("gates", "through W_hh", r"W_{hh}^{\top} \delta a_{t}"),)

    @property
    def relu(self) -> bool:
        return self.spec.nonlinearity == "relu"

    @property
    def title(self) -> str:
        return "RNN (relu)" if self.relu else "RNN"

    def _phi(self) -> str:
        return r"\operatorname{relu}" if self.relu else r"\tanh"

    def forward(self, p, xs, h0, c0, clamps: Clamps = NO_CLAMPS) -> CellRun:
        a = input_projection(p, xs)
        if "bias_hh" in p:
            a += p["bias_hh"]
        w_hh_t = np.ascontiguousarray(p["weight_hh"].T)
        h = np.empty_like(a)
        clamped = clamps.steps() if clamps else np.zeros(len(a), dtype=bool)
        h_prev = h0
        for t in range(len(a)):
            a[t] += h_prev @ w_hh_t
            if self.relu:
                np.maximum(a[t], 0.0, out=h[t])
            else:
                np.tanh(a[t], out=h[t])
            if clamped[t]:
                clamps.apply("h", t, h[t])
            h_prev = h[t]
        # phi'(a); where h is clamped the slope is 0 (the clamped value is a constant)
        slope = (a > 0).astype(a.dtype) if self.relu else 1.0 - h * h
        slope *= clamps.keep("h", h)
        return CellRun(h, None, {}, {"h": a}, {"slope": slope})

    def backward(self, p, run: CellRun, direct: np.ndarray) -> CellGrads:
        slope, w_hh = run.cache["slope"], p["weight_hh"]
        grad_h = np.empty_like(run.h)
        da = np.empty_like(run.h)
        carried = np.zeros_like(run.h[0])
        for t in range(len(grad_h) - 1, -1, -1):
            np.add(direct[t], carried, out=grad_h[t])
            np.multiply(grad_h[t], slope[t], out=da[t])
            carried = da[t] @ w_hh
        return CellGrads(grad_h, None, {"h": da}, da @ p["weight_ih"])

    def reference_step(self, p, x, state, hook=unchanged):
        gx, gh = torch_affine(p, x, state[0])
        a = gx + gh
        return (hook("h", a.relu() if self.relu else a.tanh()),)

    def step_jacobians(self, p, run, steps: slice) -> np.ndarray:
        return diag_times(run.cache["slope"][steps], p["weight_hh"])

    def step_input_jacobians(self, p, run, steps: slice) -> np.ndarray:
        return diag_times(run.cache["slope"][steps], p["weight_ih"])

    def path_flows(self, p, run, grads: CellGrads) -> dict[str, np.ndarray]:
        return {"gates": grads.preactivations["h"] @ p["weight_hh"]}

    def batch_forward(self, p, xs, scale) -> CellRun:
        a = batch_input_projection(p, xs, len(scale))
        if "bias_hh" in p:
            a += p["bias_hh"]
        w_hh_t = p["weight_hh"].T
        h = np.empty_like(a)
        h_prev = np.zeros_like(a[0])
        for t in range(len(a)):
            a[t] += scale[:, None] * (h_prev @ w_hh_t)
            h[t] = np.maximum(a[t], 0.0) if self.relu else np.tanh(a[t])
            h_prev = h[t]
        slope = (a > 0).astype(a.dtype) if self.relu else 1.0 - h * h
        return CellRun(h, None, {}, {"h": a}, {"slope": slope})

    def batch_step_vjp(self, p, run, t, grads, scale) -> tuple:
        delta_a = grads[0] * run.cache["slope"][t]
        return (scale[:, None] * rows_times(delta_a, p["weight_hh"]),)

    def equations(self) -> list[str]:
        return [rf"h_t = {self._phi()}({affine('h', self.spec.bias)})"]

    def bptt(self, nxt: str = "t+1", prv: str = "t-1") -> list[str]:
        slope = r"\mathbb{1}[a_t > 0]" if self.relu else r"1 - h_t^2"
        end, span, power = (("T", r"\prod_{k=t+1}^{T}", "T-t") if nxt == "t+1"
                            else ("0", r"\prod_{k=0}^{t-1}", "t"))
        return [
            rf"\delta h_t = \frac{{\partial \ell_t}}{{\partial h_t}} "
            rf"+ W_{{hh}}^{{\top}}\, \delta a_{{{nxt}}}",
            rf"\delta a_t = \delta h_t \odot \phi'(a_t), \quad \phi'(a_t) = {slope}",
            rf"\frac{{\partial h_{{{nxt}}}}}{{\partial h_t}} = "
            rf"\operatorname{{diag}}(\phi'(a_{{{nxt}}}))\, W_{{hh}}",
            rf"\Big\|\frac{{\partial h_{end}}}{{\partial h_t}}\Big\| \le {span}"
            rf" \|\operatorname{{diag}}(\phi'(a_k))\|\,\|W_{{hh}}\|"
            rf" \le (\gamma\, \sigma_{{\max}}(W_{{hh}}))^{{{power}}}, \quad \gamma = 1",
            input_gradient(r"\delta a_t", self.spec.bidirectional),
        ]

    def step_templates(self, clamped=frozenset()) -> list[str]:
        act = r"\operatorname{{relu}}" if self.relu else r"\tanh"
        if "h" in clamped:
            return [r"h_{{{t}}} = {h} \quad \text{{(clamped)}}"]
        return [r"h_{{{t}}} = " + act + r"({a_h}) = {h}"]

    def slots(self, q, p) -> dict[str, np.ndarray]:
        return {"a_h": q["a_h"], "h": q["h"]}

    def backward_templates(self, last=False, clamped=frozenset(), clamped_next=frozenset()) -> list[str]:
        slope = r"\mathbb{{1}}[a_{{{t}}} > 0]" if self.relu else r"(1 - h_{{{t}}}^2)"
        head = r"\delta h_{{{t}}} = \partial \ell_{{{t}}} / \partial h_{{{t}}}"
        first = [head + " = {dh}"] if last else [
            head + r" + W_{{hh}}^{{\top}} \delta a_{{{tn}}}",
            r"= {dh_direct} + {from_gates:p} = {dh}",
        ]
        if "h" in clamped:  # h_t is a constant: nothing reaches a_t
            return first + [r"\delta a_{{{t}}} = {da} \quad \text{{(h clamped: a constant)}}"]
        return first + [r"\delta a_{{{t}}} = \delta h_{{{t}}} \, " + slope
                        + r" = {dh} \cdot {slope:p} = {da}"]

    def backward_slots(self, q, p) -> dict[str, np.ndarray]:
        slope = (q["a_h"] > 0).astype(float) if self.relu else 1 - np.tanh(q["a_h"]) ** 2
        return {"dh": q["dh"], "dh_direct": q["dh_direct"], "from_gates": q["next_gates"],
                "slope": slope, "da": q["da_h"]}

    def layout(self) -> Layout:
        nodes = (
            Node("h_prev", 0.5, 3.8, "h", "t−1", STATE),
            Node("a", 4.0, 2.4, "a", "t", OP),
            Node("act", 6.6, 2.4, "relu" if self.relu else "tanh", kind=OP),
            Node("h", 9.5, 2.4, "h", "t", STATE, clampable=True),
            Node("x", 0.5, 0.3, "x", "t", INPUT),
        )
        edges = (
            Edge("h_prev", "a", "gates"),
            Edge("x", "a"),
            Edge("a", "act", "gates"),
            Edge("act", "h", "gates"),
        )
        return Layout(nodes, edges)

    def node_values(self, q) -> dict[str, np.ndarray]:
        return {"h_prev": q["h_prev"], "a": q["a_h"], "act": q["h"], "h": q["h"]}
