"""minGRU (Feng, Tung, Ahmed, Bengio & Hajimirsadeghi 2024, "Were RNNs All We Needed?"), sequential mode.

    z_t = sigma(W_iz x_t + b_iz)        h~_t = W_ih~ x_t + b_ih~        (rows z, h~ of weight_ih)
    h_t = (1 - z_t) * h_{t-1} + z_t * h~_t

The gates read only x_t: there is no recurrent weight at all. Backward: delta_h_{t-1} gets
delta_h_t * (1 - z_t) and nothing through a matrix, so the gradient is a product of numbers in (0, 1)
per unit: a gated memory with no W_hh. delta_a_z = delta_h (h~ - h_{t-1}) z(1-z); delta_h~ = delta_h z.
Parameters keep torch's names (``weight_ih_l{k}``, ``bias_ih_l{k}``); layers and directions stack as
in nn.GRU. The candidate is keyed ``n`` (as in nn.GRU) and drawn as h~.
"""

from __future__ import annotations

import numpy as np

from .base import (
    INPUT,
    LINEAR,
    NO_CLAMPS,
    OP,
    SIGMOID,
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
    eye_batch,
    input_projection,
    shifted,
    sigmoid,
    split_rows,
    unchanged,
)
from .text import affine, clamped_line, gate_line, input_gradient


class MinGRU(Cell):
    name = "mingru"
    label = "minGRU"
    colour = "#CC79A7"  # reddish purple
    dash = "dashdot"
    reference = "Feng et al. (2024), Were RNNs All We Needed?"
    trace_arrays = 13
    rows = ("z", "n")
    gates = ("z", "n")
    recurrent = False
    carry_label = "∏ (1 − z_k): the direct path"
    carry_symbol = "1 − z"
    sigmoid_gates = frozenset("z")
    linear_gates = frozenset("n")
    paths = (BackwardPath("direct", "the direct path", r"\delta h_{t} \odot (1 - z_{t})"),)

    def symbol(self, letter: str) -> str:
        return r"\tilde{h}" if letter == "n" else letter

    def describe(self, letter: str) -> str:
        names = {"z": "z: update gate σ (share of NEW h̃)", "n": "h̃: candidate (linear in x)"}
        return names.get(letter) or super().describe(letter)

    def forward(self, p, xs, h0, c0, clamps: Clamps = NO_CLAMPS) -> CellRun:
        a = input_projection(p, xs)
        pre = split_rows(a, self.rows)
        z = sigmoid(pre["z"], out=np.empty_like(pre["z"]))
        n = pre["n"].copy()
        clamps.apply_all("z", z)
        clamps.apply_all("n", n)
        h = np.empty_like(z)
        clamped = clamps.steps() if clamps else np.zeros(len(z), dtype=bool)
        h_prev = h0
        for t in range(len(z)):
            np.subtract(n[t], h_prev, out=h[t])  # h = h_prev + z * (h~ - h_prev)
            h[t] *= z[t]
            h[t] += h_prev
            if clamped[t]:
                clamps.apply("h", t, h[t])
            h_prev = h[t]
        keep_h = clamps.keep("h", h)
        cache = {
            "keep": (1 - z) * keep_h,
            "a_z": (n - shifted(h, h0)) * z * (1 - z) * clamps.keep("z", z) * keep_h,
            "a_n": z * clamps.keep("n", n) * keep_h,
        }
        return CellRun(h, None, {"z": z, "n": n}, pre, cache)

    def backward(self, p, run: CellRun, direct: np.ndarray) -> CellGrads:
        keep = run.cache["keep"]
        grad_h = np.empty_like(run.h)
        carried = np.zeros_like(run.h[0])
        for t in range(len(grad_h) - 1, -1, -1):
            np.add(direct[t], carried, out=grad_h[t])
            carried = grad_h[t] * keep[t]
        da = {"z": grad_h * run.cache["a_z"], "n": grad_h * run.cache["a_n"]}
        return CellGrads(grad_h, None, da, np.concatenate([da["z"], da["n"]], 1) @ p["weight_ih"])

    def reference_step(self, p, x, state, hook=unchanged):
        (h,) = state
        a = x @ p["weight_ih"].T
        if "bias_ih" in p:
            a = a + p["bias_ih"]
        a_z, n = a.chunk(2, dim=-1)
        z, n = hook("z", a_z.sigmoid()), hook("n", n)
        return (hook("h", (1 - z) * h + z * n),)

    def step_jacobians(self, p, run, steps: slice) -> np.ndarray:
        return eye_batch(run.cache["keep"][steps])

    def step_input_jacobians(self, p, run, steps: slice) -> np.ndarray:
        w_iz, w_in = np.split(p["weight_ih"], 2, axis=0)
        return diag_times(run.cache["a_z"][steps], w_iz) + diag_times(run.cache["a_n"][steps], w_in)

    def carry(self, run: CellRun) -> np.ndarray:
        return run.cache["keep"]

    def path_flows(self, p, run, grads: CellGrads) -> dict[str, np.ndarray]:
        return {"direct": grads.h * run.cache["keep"]}

    def batch_forward(self, p, xs, scale) -> CellRun:
        pre = split_rows(batch_input_projection(p, xs, len(scale)), self.rows)
        z, n = sigmoid(pre["z"], out=np.empty_like(pre["z"])), pre["n"]
        h = np.empty_like(z)
        h_prev = np.zeros_like(z[0])
        for t in range(len(z)):
            h[t] = h_prev + z[t] * (n[t] - h_prev)
            h_prev = h[t]
        return CellRun(h, None, {"z": z, "n": n}, pre, {"keep": 1 - z})

    def batch_step_vjp(self, p, run, t, grads, scale) -> tuple:
        return (grads[0] * run.cache["keep"][t],)

    def equations(self) -> list[str]:
        bias = self.spec.bias
        return [
            rf"z_t = \sigma({affine('z', bias, recurrent=False)})",
            r"\tilde{h}_t = W_{i\tilde{h}} x_t" + (r" + b_{i\tilde{h}}" if bias else ""),
            r"h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde{h}_t",
        ]

    def bptt(self, nxt: str = "t+1", prv: str = "t-1") -> list[str]:
        return [
            rf"\delta h_t = \frac{{\partial \ell_t}}{{\partial h_t}} + \delta h_{{{nxt}}} \odot "
            rf"(1 - z_{{{nxt}}})",
            rf"\delta a^z_t = \delta h_t \odot (\tilde{{h}}_t - h_{{{prv}}}) \odot z_t (1 - z_t),"
            r" \quad \delta \tilde{h}_t = \delta h_t \odot z_t",
            input_gradient(r"[\delta a^z_t; \delta \tilde{h}_t]", self.spec.bidirectional),
        ]

    def step_templates(self, clamped=frozenset()) -> list[str]:
        gates = [gate_line("z", r"\sigma", "z" in clamped),
                 gate_line("n", "", "n" in clamped, self.symbol("n"))]
        if "h" in clamped:  # the clamped value alone: the update's arithmetic gives another number
            return gates + [clamped_line("h")]
        return gates + [
            r"h_{{{t}}} = (1 - z_{{{t}}})\,h_{{{tp}}} + z_{{{t}}}\,\tilde{{h}}_{{{t}}}",
            r"= (1 - {z:p}) \cdot {h_prev:p} + {z} \cdot {n:p}",
            r"= {h}",
        ]

    def slots(self, q, p) -> dict[str, np.ndarray]:
        return {"a_z": q["a_z"], "z": q["z"], "n": q["n"], "h_prev": q["h_prev"], "h": q["h"]}

    def backward_templates(self, last=False, clamped=frozenset(), clamped_next=frozenset()) -> list[str]:
        head = r"\delta h_{{{t}}} = \partial \ell_{{{t}}} / \partial h_{{{t}}}"
        if last:
            return [head + " = {dh}"]
        if "h" in clamped_next:  # h_{t+1} is a constant: nothing comes back from it
            return [head + r" = {dh} \quad \text{{(h clamped at step {tn}: no path back)}}"]
        return [
            head + r" + \delta h_{{{tn}}} \, (1 - z_{{{tn}}})",
            r"= {dh_direct} + {from_direct:p} = {dh}",
        ]

    def backward_slots(self, q, p) -> dict[str, np.ndarray]:
        return {"dh": q["dh"], "dh_direct": q["dh_direct"], "from_direct": q["next_direct"]}

    def layout(self) -> Layout:
        nodes = (
            Node("h_prev", 0.5, 5.2, "h", "t−1", STATE),
            Node("keep", 3.4, 5.2, "×(1−z)", kind=OP),
            Node("add", 7.7, 5.2, "+", kind=OP),
            Node("h", 9.5, 5.2, "h", "t", STATE, clampable=True),
            Node("z", 3.4, 2.6, "z", kind=SIGMOID, clampable=True),
            Node("n", 6.3, 2.6, "h̃", kind=LINEAR, clampable=True),
            Node("write", 7.7, 3.9, "×z", kind=OP),
            Node("x", 0.5, 0.3, "x", "t", INPUT),
        )
        edges = (
            Edge("h_prev", "keep", "direct"),
            Edge("keep", "add", "direct"),
            Edge("add", "h", "direct"),
            Edge("x", "z"),
            Edge("x", "n"),
            Edge("z", "keep"),
            Edge("z", "write"),
            Edge("n", "write"),
            Edge("write", "add"),
        )
        return Layout(nodes, edges)

    def node_values(self, q) -> dict[str, np.ndarray]:
        z, n, h_prev = q["z"], q["n"], q["h_prev"]
        return {"h_prev": h_prev, "keep": (1 - z) * h_prev, "add": q["h"], "h": q["h"], "z": z,
                "n": n, "write": z * n}
