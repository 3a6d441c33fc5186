"""minLSTM (Feng, Tung, Ahmed, Bengio & Hajimirsadeghi 2024, "Were RNNs All We Needed?"), sequential mode.

    f_t = sigma(W_if x_t + b_if)        i_t = sigma(W_ii x_t + b_ii)        (rows f, i, h~ of weight_ih)
    f'_t = f_t / (f_t + i_t)            i'_t = i_t / (f_t + i_t)            so f' + i' = 1
    h~_t = W_ih~ x_t + b_ih~            h_t = f'_t * h_{t-1} + i'_t * h~_t

No recurrent weight: delta_h_{t-1} gets delta_h_t * f'_t only. With s = f + i,
delta_f' = delta_h h_{t-1}, delta_i' = delta_h h~; delta_f = (delta_f' - delta_i') i / s^2,
delta_i = (delta_i' - delta_f') f / s^2; delta_a_f = delta_f f(1-f), delta_a_i = delta_i i(1-i);
delta_h~ = delta_h i'. Gates are keyed f, i, f' (``"f'"``), i' (``"i'"``) and n (the candidate h~).
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

F_NORM, I_NORM = "f'", "i'"  # the normalised gates


class MinLSTM(Cell):
    name = "minlstm"
    label = "minLSTM"
    colour = "#E69F00"  # orange
    dash = "longdash"
    reference = "Feng et al. (2024), Were RNNs All We Needed?"
    trace_arrays = 24
    rows = ("f", "i", "n")
    gates = ("f", "i", F_NORM, I_NORM, "n")
    recurrent = False
    carry_label = "∏ f′_k: the direct path"
    carry_symbol = "f′"
    forget_row = "f"
    sigmoid_gates = frozenset(("f", "i", F_NORM, I_NORM))
    linear_gates = frozenset("n")
    paths = (BackwardPath("direct", "the direct path", r"\delta h_{t} \odot f'_{t}"),)

    def symbol(self, letter: str) -> str:
        return r"\tilde{h}" if letter == "n" else letter

    def describe(self, letter: str) -> str:
        names = {
            "f": "f: forget gate σ",
            "i": "i: input gate σ",
            F_NORM: "f′ = f/(f+i): share kept of h",
            I_NORM: "i′ = i/(f+i): share of h̃",
            "n": "h̃: candidate (linear in x)",
        }
        return names.get(letter) or super().describe(letter)

    def forward(self, p, xs, h0, c0, clamps: Clamps = NO_CLAMPS) -> CellRun:
        pre = split_rows(input_projection(p, xs), self.rows)
        f = sigmoid(pre["f"], out=np.empty_like(pre["f"]))
        i = sigmoid(pre["i"], out=np.empty_like(pre["i"]))
        n = pre["n"].copy()
        for name, array in (("f", f), ("i", i), ("n", n)):
            clamps.apply_all(name, array)
        total = f + i
        f_norm, i_norm = f / total, i / total
        clamps.apply_all(F_NORM, f_norm)
        clamps.apply_all(I_NORM, i_norm)
        h = np.empty_like(f)
        clamped = clamps.steps() if clamps else np.zeros(len(f), dtype=bool)
        h_prev = h0
        for t in range(len(f)):
            np.multiply(f_norm[t], h_prev, out=h[t])
            h[t] += i_norm[t] * n[t]
            if clamped[t]:
                clamps.apply("h", t, h[t])
            h_prev = h[t]
        keep_h = clamps.keep("h", h)
        free_f, free_i = clamps.keep(F_NORM, f) * keep_h, clamps.keep(I_NORM, i) * keep_h
        h_prev_all = shifted(h, h0)
        cache = {
            "keep": f_norm * keep_h,
            "df_norm": h_prev_all * free_f,  # d h / d f', 0 where f' or h is clamped
            "di_norm": n * free_i,
            "scale": 1.0 / (total * total),
            "f": f,
            "i": i,
            "a_f": f * (1 - f) * clamps.keep("f", f),
            "a_i": i * (1 - i) * clamps.keep("i", i),
            "a_n": i_norm * clamps.keep("n", n) * keep_h,
        }
        gates = {"f": f, "i": i, F_NORM: f_norm, I_NORM: i_norm, "n": n}
        return CellRun(h, None, gates, pre, cache)

    def backward(self, p, run: CellRun, direct: np.ndarray) -> CellGrads:
        k = run.cache
        keep = k["keep"]
        grad_h = np.empty_like(run.h)
        carried = np.zeros_like(run.h[0])
        for t in range(len(grad_h) - 1, -1, -1):
            np.add(direct[t], carried, out=grad_h[t])
            carried = grad_h[t] * keep[t]
        d_f_norm, d_i_norm = grad_h * k["df_norm"], grad_h * k["di_norm"]
        da = {
            "f": (d_f_norm - d_i_norm) * k["i"] * k["scale"] * k["a_f"],
            "i": (d_i_norm - d_f_norm) * k["f"] * k["scale"] * k["a_i"],
            "n": grad_h * k["a_n"],
        }
        inputs = np.concatenate([da[r] for r in self.rows], 1) @ p["weight_ih"]
        return CellGrads(grad_h, None, da, inputs)

    def reference_step(self, p, x, state, hook=unchanged):
        (h,) = state
        a = x @ p["weight_ih"].T
        if "bias_ih" in p:
            a = a + p["bias_ih"]
        a_f, a_i, n = a.chunk(3, dim=-1)
        f, i, n = hook("f", a_f.sigmoid()), hook("i", a_i.sigmoid()), hook("n", n)
        f_norm, i_norm = hook(F_NORM, f / (f + i)), hook(I_NORM, i / (f + i))
        return (hook("h", f_norm * h + i_norm * n),)

    def step_jacobians(self, p, run, steps: slice) -> np.ndarray:
        return eye_batch(run.cache["keep"][steps])

    def step_input_jacobians(self, p, run, steps: slice) -> np.ndarray:
        k = {name: value[steps] for name, value in run.cache.items()}
        w_if, w_ii, w_in = np.split(p["weight_ih"], 3, axis=0)
        by_f_norm = (k["df_norm"] - k["di_norm"]) * k["scale"]  # (d h/d f' - d h/d i') / (f + i)^2
        return (
            diag_times(by_f_norm * k["i"] * k["a_f"], w_if)
            - diag_times(by_f_norm * k["f"] * k["a_i"], w_ii)
            + diag_times(k["a_n"], w_in)
        )

    def carry(self, run: CellRun) -> np.ndarray:
        return run.cache["keep"]

    def path_flows(self, p, run, grads: CellGrads) -> dict[str, np.ndarray]:
        return {"direct": grads.h * run.cache["keep"]}

    def batch_forward(self, p, xs, scale) -> CellRun:
        pre = split_rows(batch_input_projection(p, xs, len(scale)), self.rows)
        f = sigmoid(pre["f"], out=np.empty_like(pre["f"]))
        i = sigmoid(pre["i"], out=np.empty_like(pre["i"]))
        n = pre["n"]
        f_norm, i_norm = f / (f + i), i / (f + i)
        h = np.empty_like(f)
        h_prev = np.zeros_like(f[0])
        for t in range(len(f)):
            h[t] = f_norm[t] * h_prev + i_norm[t] * n[t]
            h_prev = h[t]
        gates = {"f": f, "i": i, F_NORM: f_norm, I_NORM: i_norm, "n": n}
        return CellRun(h, None, gates, pre, {"keep": f_norm})

    def batch_step_vjp(self, p, run, t, grads, scale) -> tuple:
        return (grads[0] * run.cache["keep"][t],)

    def equations(self) -> list[str]:
        bias = self.spec.bias
        return [
            rf"f_t = \sigma({affine('f', bias, recurrent=False)})",
            rf"i_t = \sigma({affine('i', bias, recurrent=False)})",
            r"f'_t = \frac{f_t}{f_t + i_t}, \quad i'_t = \frac{i_t}{f_t + i_t}",
            r"\tilde{h}_t = W_{i\tilde{h}} x_t" + (r" + b_{i\tilde{h}}" if bias else ""),
            r"h_t = f'_t \odot h_{t-1} + i'_t \odot \tilde{h}_t",
        ]

    def bptt(self, nxt: str = "t+1", prv: str = "t-1") -> list[str]:
        return [
            rf"\delta h_t = \frac{{\partial \ell_t}}{{\partial h_t}} + \delta h_{{{nxt}}} \odot f'_{{{nxt}}}",
            rf"\delta f'_t = \delta h_t \odot h_{{{prv}}}, "
            rf"\quad \delta i'_t = \delta h_t \odot \tilde{{h}}_t,"
            r" \quad \delta \tilde{h}_t = \delta h_t \odot i'_t",
            r"\delta a^f_t = (\delta f'_t - \delta i'_t) \odot \frac{i_t}{(f_t + i_t)^2} \odot f_t (1 - f_t)",
            r"\delta a^i_t = (\delta i'_t - \delta f'_t) \odot \frac{f_t}{(f_t + i_t)^2} \odot i_t (1 - i_t)",
            input_gradient(r"[\delta a^f_t; \delta a^i_t; \delta \tilde{h}_t]", self.spec.bidirectional),
        ]

    def step_templates(self, clamped=frozenset()) -> list[str]:
        clamp_note = r" \quad \text{{(clamped)}}"
        norm = [
            r"f'_{{{t}}} = {fp}" + clamp_note if F_NORM in clamped
            else r"f'_{{{t}}} = f_{{{t}}} / (f_{{{t}}} + i_{{{t}}}) = {f} / ({f} + {i:p}) = {fp}",
            r"i'_{{{t}}} = {ip}" + clamp_note if I_NORM in clamped
            else r"i'_{{{t}}} = i_{{{t}}} / (f_{{{t}}} + i_{{{t}}}) = {i} / ({f} + {i:p}) = {ip}",
        ]
        return [
            gate_line("f", r"\sigma", "f" in clamped),
            gate_line("i", r"\sigma", "i" in clamped),
            *norm,
            gate_line("n", "", "n" in clamped, self.symbol("n")),
            # a clamped h: its value alone (the update's arithmetic gives another number)
            *([clamped_line("h")] if "h" in clamped else [
                r"h_{{{t}}} = f'_{{{t}}}\,h_{{{tp}}} + i'_{{{t}}}\,\tilde{{h}}_{{{t}}}",
                r"= {fp} \cdot {h_prev:p} + {ip} \cdot {n:p}",
                r"= {h}",
            ]),
        ]

    def slots(self, q, p) -> dict[str, np.ndarray]:
        return {"a_f": q["a_f"], "f": q["f"], "a_i": q["a_i"], "i": q["i"], "fp": q[F_NORM], "ip": q[I_NORM],
                "n": q["n"], "h_prev": q["h_prev"], "h": q["h"]}

    def backward_templates(self, last=False, clamped=frozenset(), clamped_next=frozenset()) -> list[str]:
        head = r"\delta h_{{{t}}} = \partial \ell_{{{t}}} / \partial h_{{{t}}}"
        if last:
            return [head + " = {dh}"]
        if "h" in clamped_next:  # h_{t+1} is a constant: nothing comes back from it
            return [head + r" = {dh} \quad \text{{(h clamped at step {tn}: no path back)}}"]
        return [head + r" + \delta h_{{{tn}}} \, f'_{{{tn}}}", r"= {dh_direct} + {from_direct:p} = {dh}"]

    def backward_slots(self, q, p) -> dict[str, np.ndarray]:
        return {"dh": q["dh"], "dh_direct": q["dh_direct"], "from_direct": q["next_direct"]}

    def layout(self) -> Layout:
        nodes = (
            Node("h_prev", 0.5, 5.2, "h", "t−1", STATE),
            Node("keep", 3.4, 5.2, "×f′", kind=OP),
            Node("add", 7.7, 5.2, "+", kind=OP),
            Node("h", 9.5, 5.2, "h", "t", STATE, clampable=True),
            Node("f", 2.2, 2.2, "f", kind=SIGMOID, clampable=True),
            Node("i", 4.0, 2.2, "i", kind=SIGMOID, clampable=True),
            Node(F_NORM, 3.4, 3.7, "f′", kind=SIGMOID, clampable=True),
            Node(I_NORM, 5.4, 3.7, "i′", kind=SIGMOID, clampable=True),
            Node("n", 6.8, 2.2, "h̃", kind=LINEAR, clampable=True),
            Node("write", 7.7, 3.9, "×i′", kind=OP),
            Node("x", 0.5, 0.3, "x", "t", INPUT),
        )
        edges = (
            Edge("h_prev", "keep", "direct"),
            Edge("keep", "add", "direct"),
            Edge("add", "h", "direct"),
            Edge("x", "f"),
            Edge("x", "i"),
            Edge("x", "n"),
            Edge("f", F_NORM),
            Edge("i", F_NORM),
            Edge("f", I_NORM),
            Edge("i", I_NORM),
            Edge(F_NORM, "keep"),
            Edge(I_NORM, "write"),
            Edge("n", "write"),
            Edge("write", "add"),
        )
        return Layout(nodes, edges)

    def node_values(self, q) -> dict[str, np.ndarray]:
        h_prev = q["h_prev"]
        return {"h_prev": h_prev, "keep": q[F_NORM] * h_prev, "add": q["h"], "h": q["h"], "f": q["f"],
                "i": q["i"], F_NORM: q[F_NORM], I_NORM: q[I_NORM], "n": q["n"], "write": q[I_NORM] * q["n"]}
