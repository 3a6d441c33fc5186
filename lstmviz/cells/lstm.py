"""The LSTM (Hochreiter & Schmidhuber 1997; forget gate: Gers, Schmidhuber & Cummins 2000), as torch.nn.LSTM.

    i, f, g, o = sigma, sigma, tanh, sigma of (W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), rows i f g o
    c_t = f_t * c_{t-1} + i_t * g_t          h_t = o_t * tanh(c_t)
    with proj_size > 0:  h_t = W_hr (o_t * tanh(c_t))          (https://pytorch.org/docs/stable/generated/torch.nn.LSTM.html)

Backward (delta = dL/d, m_t = o_t * tanh(c_t), W_hr = I without a projection):

    delta_h_t = dl_t/dh_t + W_hh^T delta_a_{t+1}
    delta_m_t = W_hr^T delta_h_t
    delta_c_t = delta_m_t * o_t * (1 - tanh^2 c_t) + delta_c_{t+1} * f_{t+1}
    delta_a_t = [delta_c*g*i(1-i), delta_c*c_{t-1}*f(1-f), delta_c*i*(1-g^2), delta_m*tanh(c)*o(1-o)]
"""

from __future__ import annotations

import numpy as np

from .base import (
    INPUT,
    NO_CLAMPS,
    OP,
    SIGMOID,
    STATE,
    TANH,
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
    rows_times,
    shifted,
    split_rows,
    torch_affine,
    unchanged,
)
from .text import affine, clamped_line, gate_line, input_gradient


class LSTM(Cell):
    name = "lstm"
    label = "LSTM"
    colour = "#0072B2"  # blue
    dash = "solid"
    reference = "Hochreiter & Schmidhuber (1997); Gers et al. (2000); torch.nn.LSTM"
    trace_arrays = 26
    rows = ("i", "f", "g", "o")
    gates = ("i", "f", "g", "o")
    cell_state = True
    projection = True
    forget_row = "f"
    carry_label = "∏ f_k: the cell path"
    carry_symbol = "f"
    torch_class = "LSTM"
    sigmoid_gates = frozenset("ifo")
    paths = (
        BackwardPath("highway", "the cell highway", r"\delta c_{t} \odot f_{t}"),
        BackwardPath("gates", "through h and the gates", r"W_{hh}^{\top} \delta a_{t}"),
    )

    _NAMES = {
        "i": "i: input gate σ",
        "f": "f: forget gate σ",
        "g": "g = C̃: candidate tanh",
        "o": "o: output gate σ",
    }

    def describe(self, letter: str) -> str:
        return self._NAMES.get(letter) or super().describe(letter)

    # -- computation ---------------------------------------------------------------------------

    def forward(self, p, xs, h0, c0, clamps: Clamps = NO_CLAMPS) -> CellRun:
        a = input_projection(p, xs)  # (T, 4H), rows i f g o
        if "bias_hh" in p:
            a += p["bias_hh"]
        steps, hidden = len(a), a.shape[1] // 4
        # sigma(a) = tanh(a/2)/2 + 1/2, so every gate is s * tanh(s * a) + shift with s = 1/2 for
        # i, f, o and s = 1 for g: one tanh per step. Scaling by powers of 2 is exact.
        s = np.repeat(np.array([0.5, 0.5, 1.0, 0.5], dtype=a.dtype), hidden)
        shift = np.repeat(np.array([0.5, 0.5, 0.0, 0.5], dtype=a.dtype), hidden)
        a *= s
        w_hh_t = np.ascontiguousarray(p["weight_hh"].T * s)
        w_hr_t = np.ascontiguousarray(p["weight_hr"].T) if "weight_hr" in p else None
        act = np.empty_like(a)
        gate_rows = act.reshape(steps, 4, hidden)
        c = np.empty((steps, hidden), dtype=a.dtype)
        tanh_c = np.empty_like(c)
        h = np.empty((steps, len(h0)), dtype=a.dtype)
        ig = np.empty(hidden, dtype=a.dtype)
        clamped = clamps.steps() if clamps else np.zeros(steps, dtype=bool)
        h_prev, c_prev = h0, c0
        for t in range(steps):
            a[t] += h_prev @ w_hh_t
            np.tanh(a[t], out=act[t])
            act[t] *= s
            act[t] += shift
            i, f, g, o = gate_rows[t]
            if clamped[t]:
                for letter, values in zip(self.rows, gate_rows[t], strict=True):
                    clamps.apply(letter, t, values)
            np.multiply(f, c_prev, out=c[t])
            np.multiply(i, g, out=ig)
            c[t] += ig
            if clamped[t]:
                clamps.apply("c", t, c[t])
            np.tanh(c[t], out=tanh_c[t])
            if w_hr_t is None:
                np.multiply(o, tanh_c[t], out=h[t])
            else:
                np.dot(o * tanh_c[t], w_hr_t, out=h[t])
            if clamped[t]:
                clamps.apply("h", t, h[t])
            h_prev, c_prev = h[t], c[t]
        a /= s
        gates = split_rows(act, self.rows)
        i, f, g, o = (gates[k] for k in self.rows)
        c_prev_all = shifted(c, c0)
        keep_c = clamps.keep("c", c)
        # delta_a = [dc*g*i', dc*c_{t-1}*f', dc*i*g', dm*tanh(c)*o']: the factors multiplying dc and dm.
        # A clamped gate or c passes no gradient to what computed it: its factor is 0 there.
        by_dc = np.stack(
            [
                g * i * (1 - i) * clamps.keep("i", i),
                c_prev_all * f * (1 - f) * clamps.keep("f", f),
                i * (1 - g * g) * clamps.keep("g", g),
            ],
            axis=1,
        )
        if "c" in clamps.masks:
            by_dc *= keep_c[:, None, :]
        cache = {
            "by_dc": by_dc,
            "by_dm": tanh_c * o * (1 - o) * clamps.keep("o", o),
            "dc_by_dm": o * (1 - tanh_c * tanh_c),
            "carry": f * keep_c,
            "keep_h": clamps.keep("h", h) if "h" in clamps.masks else None,
            "tanh_c": tanh_c,
            "c_prev": c_prev_all,
        }
        return CellRun(h, c, gates, split_rows(a, self.rows), cache)

    def backward(self, p, run: CellRun, direct: np.ndarray) -> CellGrads:
        k = run.cache
        by_dc, by_dm, dc_by_dm, carry, keep_h = k["by_dc"], k["by_dm"], k["dc_by_dm"], k["carry"], k["keep_h"]
        w_hh, w_hr = p["weight_hh"], p.get("weight_hr")
        steps, hidden = run.c.shape
        grad_h = np.empty_like(run.h)
        grad_c = np.empty_like(run.c)
        da = np.empty((steps, 4 * hidden), dtype=run.c.dtype)
        carried_h = np.zeros_like(run.h[0])
        carried_c = np.zeros_like(run.c[0])
        for t in range(steps - 1, -1, -1):
            np.add(direct[t], carried_h, out=grad_h[t])
            dh = grad_h[t] if keep_h is None else grad_h[t] * keep_h[t]
            dm = dh if w_hr is None else dh @ w_hr
            np.multiply(dm, dc_by_dm[t], out=grad_c[t])
            grad_c[t] += carried_c
            np.multiply(grad_c[t], by_dc[t], out=da[t, : 3 * hidden].reshape(3, hidden))
            np.multiply(dm, by_dm[t], out=da[t, 3 * hidden :])
            carried_h = da[t] @ w_hh
            carried_c = grad_c[t] * carry[t]
        return CellGrads(grad_h, grad_c, split_rows(da, self.rows), da @ p["weight_ih"])

    def reference_step(self, p, x, state, hook=unchanged):
        h, c = state
        gx, gh = torch_affine(p, x, h)
        a_i, a_f, a_g, a_o = (gx + gh).chunk(4, dim=-1)
        i, f, g, o = (hook(k, v) for k, v in zip(self.rows,
                                                 (a_i.sigmoid(), a_f.sigmoid(), a_g.tanh(), a_o.sigmoid()),
                                                 strict=True))
        c = hook("c", f * c + i * g)
        h = o * c.tanh()
        if "weight_hr" in p:
            h = h @ p["weight_hr"].T
        return hook("h", h), c

    def step_jacobians(self, p, run, steps: slice) -> np.ndarray:
        k = run.cache
        w_i, w_f, w_g, w_o = np.split(p["weight_hh"], 4, axis=0)  # (H, P) each
        # The clamp-aware factors of the backward pass are exactly the diagonal derivatives.
        by_dc = k["by_dc"][steps]  # (K, 3, H): d c / d a_i, a_f, a_g
        dc_dh = diag_times(by_dc[:, 0], w_i) + diag_times(by_dc[:, 1], w_f) + diag_times(by_dc[:, 2], w_g)
        dc_dc = eye_batch(k["carry"][steps])
        dm_dh = diag_times(k["by_dm"][steps], w_o) + k["dc_by_dm"][steps][:, :, None] * dc_dh
        dm_dc = k["dc_by_dm"][steps][:, :, None] * dc_dc
        if "weight_hr" in p:
            dh_dh, dh_dc = p["weight_hr"] @ dm_dh, p["weight_hr"] @ dm_dc
        else:
            dh_dh, dh_dc = dm_dh, dm_dc
        if k["keep_h"] is not None:
            keep = k["keep_h"][steps][:, :, None]
            dh_dh, dh_dc = dh_dh * keep, dh_dc * keep
        return np.concatenate([np.concatenate([dh_dh, dh_dc], 2), np.concatenate([dc_dh, dc_dc], 2)], 1)

    def step_input_jacobians(self, p, run, steps: slice) -> np.ndarray:
        k = run.cache
        w_i, w_f, w_g, w_o = np.split(p["weight_ih"], 4, axis=0)  # (H, D) each
        by_dc = k["by_dc"][steps]
        dc_dx = diag_times(by_dc[:, 0], w_i) + diag_times(by_dc[:, 1], w_f) + diag_times(by_dc[:, 2], w_g)
        dm_dx = diag_times(k["by_dm"][steps], w_o) + k["dc_by_dm"][steps][:, :, None] * dc_dx
        dh_dx = p["weight_hr"] @ dm_dx if "weight_hr" in p else dm_dx
        if k["keep_h"] is not None:
            dh_dx = dh_dx * k["keep_h"][steps][:, :, None]
        return np.concatenate([dh_dx, dc_dx], 1)

    def carry(self, run: CellRun) -> np.ndarray:
        return run.cache["carry"]

    def path_flows(self, p, run, grads: CellGrads) -> dict[str, np.ndarray]:
        da = np.concatenate([grads.preactivations[k] for k in self.rows], axis=1)
        return {"highway": grads.c * run.cache["carry"], "gates": da @ p["weight_hh"]}

    def batch_forward(self, p, xs, scale) -> CellRun:
        a = batch_input_projection(p, xs, len(scale))  # (T, G, 4H), rows i f g o
        if "bias_hh" in p:
            a += p["bias_hh"]
        steps, models, hidden = a.shape[0], a.shape[1], a.shape[2] // 4
        s = np.repeat(np.array([0.5, 0.5, 1.0, 0.5]), hidden)  # one tanh per gate, as in forward
        shift = np.repeat(np.array([0.5, 0.5, 0.0, 0.5]), hidden)
        w_hh_t, w_hr = p["weight_hh"].T, p.get("weight_hr")
        act = np.empty_like(a)
        i, f, g, o = (act[..., k * hidden : (k + 1) * hidden] for k in range(4))
        c, tanh_c = np.empty((steps, models, hidden)), np.empty((steps, models, hidden))
        h = np.empty((steps, models, hidden if w_hr is None else len(w_hr)))
        h_prev, c_prev = np.zeros_like(h[0]), np.zeros_like(c[0])
        for t in range(steps):
            a[t] += scale[:, None] * (h_prev @ w_hh_t)
            np.tanh(a[t] * s, out=act[t])
            act[t] *= s
            act[t] += shift
            c[t] = f[t] * c_prev + i[t] * g[t]
            np.tanh(c[t], out=tanh_c[t])
            h[t] = o[t] * tanh_c[t] if w_hr is None else (o[t] * tanh_c[t]) @ w_hr.T
            h_prev, c_prev = h[t], c[t]
        c_prev = shifted(c, np.zeros_like(c[0]))
        cache = {  # the factors of the backward pass, as in forward without clamps; by_dc is (T, G, 3, H)
            "by_dc": np.stack([g * i * (1 - i), c_prev * f * (1 - f), i * (1 - g * g)], axis=-2),
            "by_dm": tanh_c * o * (1 - o),
            "dc_by_dm": o * (1 - tanh_c * tanh_c),
            "carry": f,
        }
        return CellRun(h, c, split_rows(act, self.rows), split_rows(a, self.rows), cache)

    def batch_step_vjp(self, p, run, t, grads, scale) -> tuple:
        k = run.cache
        grad_h, grad_c = grads
        dm = rows_times(grad_h, p["weight_hr"]) if "weight_hr" in p else grad_h
        dc = dm * k["dc_by_dm"][t]
        dc += grad_c
        delta_a = np.empty((*dc.shape[:-1], 4, dc.shape[-1]))  # rows i f g o
        np.multiply(dc[..., None, :], k["by_dc"][t], out=delta_a[..., :3, :])
        np.multiply(dm, k["by_dm"][t], out=delta_a[..., 3, :])
        grad_h_prev = rows_times(delta_a.reshape(*dc.shape[:-1], -1), p["weight_hh"])
        grad_h_prev *= scale[:, None]
        return grad_h_prev, dc * k["carry"][t]

    # -- equations -------------------------------------------------------------------------------

    def equations(self) -> list[str]:
        bias = self.spec.bias
        lines = [
            rf"i_t = \sigma({affine('i', bias)})",
            rf"f_t = \sigma({affine('f', bias)})",
            rf"g_t = \tanh({affine('g', bias)}) \quad (g_t = \tilde{{C}}_t)",
            rf"o_t = \sigma({affine('o', bias)})",
            r"c_t = f_t \odot c_{t-1} + i_t \odot g_t",
        ]
        if self.spec.proj_size:
            return lines + [r"h_t = W_{hr}\,(o_t \odot \tanh(c_t))"]
        return lines + [r"h_t = o_t \odot \tanh(c_t)"]

    def bptt(self, nxt: str = "t+1", prv: str = "t-1") -> list[str]:
        proj = bool(self.spec.proj_size)
        dm = r"(W_{hr}^{\top} \delta h_t)" if proj else r"\delta h_t"
        return [
            rf"\delta h_t = \frac{{\partial \ell_t}}{{\partial h_t}} "
            rf"+ W_{{hh}}^{{\top}}\, \delta a_{{{nxt}}}",
            rf"\delta c_t = {dm} \odot o_t \odot (1 - \tanh^2 c_t) + \delta c_{{{nxt}}} \odot f_{{{nxt}}}",
            r"\delta a^i_t = \delta c_t \odot g_t \odot i_t (1 - i_t)",
            rf"\delta a^f_t = \delta c_t \odot c_{{{prv}}} \odot f_t (1 - f_t)",
            r"\delta a^g_t = \delta c_t \odot i_t \odot (1 - g_t^2)",
            rf"\delta a^o_t = {dm} \odot \tanh(c_t) \odot o_t (1 - o_t)",
            input_gradient(r"\delta a_t", self.spec.bidirectional) + r", \quad"
            r" \delta a_t = [\delta a^i_t; \delta a^f_t; \delta a^g_t; \delta a^o_t]",
        ]

    def step_templates(self, clamped=frozenset()) -> list[str]:
        lines = [gate_line(k, r"\sigma" if k in self.sigmoid_gates else r"\tanh", k in clamped)
                 for k in self.rows]
        # A clamped state shows its value alone: the update's arithmetic gives another number.
        lines += [clamped_line("c")] if "c" in clamped else [
            r"c_{{{t}}} = f_{{{t}}}\,c_{{{tp}}} + i_{{{t}}}\,g_{{{t}}}",
            r"= {f} \cdot {c_prev:p} + {i} \cdot {g:p}",
            r"= {c}",
        ]
        if self.spec.proj_size:
            then = ", then clamped where set" if "h" in clamped else ""
            return lines + [
                r"m_{{{t}}} = o_{{{t}}} \tanh(c_{{{t}}}) = {o} \cdot \tanh({c}) = {m}",
                r"h_{{{t}}} = W_{{hr}}\, m_{{{t}}} \quad \text{{(projection to {proj} units" + then + ")}}",
            ]
        return lines + ([clamped_line("h")] if "h" in clamped else [
            r"h_{{{t}}} = o_{{{t}}} \tanh(c_{{{t}}}) = {o} \cdot \tanh({c})",
            r"= {h}",
        ])

    def slots(self, q, p) -> dict[str, np.ndarray]:
        values = {k: q[k] for k in self.rows} | {f"a_{k}": q[f"a_{k}"] for k in self.rows}
        values |= {"c_prev": q["c_prev"], "c": q["c"], "m": q["o"] * np.tanh(q["c"])}
        if not self.spec.proj_size:
            values["h"] = q["h"]
        return values

    def backward_templates(self, last=False, clamped=frozenset(), clamped_next=frozenset()) -> list[str]:
        # A clamped h_t passes nothing back (its clamped units are masked out of dh); a clamped
        # c_{t+1} cuts the highway from t+1.
        dh = r"\delta h_{{{t}}}"
        if "h" in clamped:
            dh = r"(\delta h_{{{t}}} \odot \mathbb{{1}}_{{\text{{free}}}})"
        dm = r"(W_{{hr}}^{{\top}} " + dh + ")" if self.spec.proj_size else dh
        dc_line = r"\delta c_{{{t}}} = " + dm + r" \, o_{{{t}}} (1 - \tanh^2 c_{{{t}}})"
        highway = not last and "c" not in clamped_next
        notes = ["h clamped: its clamped units pass nothing"] if "h" in clamped else []
        if not last and not highway:
            notes.append("c clamped at step {tn}: no path back")
        note = r" \quad \text{{(" + "; ".join(notes) + ")}}" if notes else ""
        head = r"\delta h_{{{t}}} = \partial \ell_{{{t}}} / \partial h_{{{t}}}"
        first = [head + " = {dh}"] if last else [
            head + r" + W_{{hh}}^{{\top}} \delta a_{{{tn}}}",
            r"= {dh_direct} + {from_gates:p} = {dh}",
        ]
        if highway:
            return first + [
                dc_line + r" + \delta c_{{{tn}}} \, f_{{{tn}}}" + note,
                r"= {dm} \cdot {o:p} \cdot (1 - \tanh^2({c})) + {from_highway:p} = {dc}",
            ]
        return first + [dc_line + note, r"= {dm} \cdot {o:p} \cdot (1 - \tanh^2({c})) = {dc}"]

    def backward_slots(self, q, p) -> dict[str, np.ndarray]:
        dh = q["dh"] * q["keep_h"] if "keep_h" in q else q["dh"]
        return {
            "dh": q["dh"],
            "dh_direct": q["dh_direct"],
            "from_gates": q["next_gates"],
            "dm": dh @ p["weight_hr"] if self.spec.proj_size else dh,
            "o": q["o"],
            "c": q["c"],
            "from_highway": q["next_highway"],
            "dc": q["dc"],
        }

    # -- diagram -------------------------------------------------------------------------------

    def layout(self) -> Layout:
        nodes = (
            Node("c_prev", 0.5, 5.2, "c", "t−1", STATE),
            Node("keep", 3.0, 5.2, "×", kind=OP),
            Node("add", 5.9, 5.2, "+", kind=OP),
            Node("c", 9.5, 5.2, "c", "t", STATE, clampable=True),
            Node("h_prev", 0.5, 1.7, "h", "t−1", STATE),
            Node("concat", 1.7, 0.9, "[h,x]", kind=OP),
            Node("f", 3.0, 2.5, "f", kind=SIGMOID, clampable=True),
            Node("i", 4.4, 2.5, "i", kind=SIGMOID, clampable=True),
            Node("g", 5.8, 2.5, "g", kind=TANH, clampable=True),
            Node("write", 5.1, 3.85, "×", kind=OP),
            Node("o", 7.2, 2.5, "o", kind=SIGMOID, clampable=True),
            Node("tanh_c", 8.5, 3.85, "tanh", kind=OP),
            Node("out", 8.5, 2.5, "×", kind=OP),
            Node("h", 9.5, 1.1, "h", "t", STATE, clampable=True),
            Node("x", 0.5, 0.3, "x", "t", INPUT),
        )
        if self.spec.proj_size:  # h = W_hr (o ⊙ tanh c): a matrix mixing all units, so no per-unit value
            nodes += (Node("proj", 7.9, 1.1, "W", "hr", kind=OP),)
        highway, gates = "highway", "gates"
        edges = (
            Edge("c_prev", "keep", highway),
            Edge("keep", "add", highway),
            Edge("add", "c", highway),
            Edge("h_prev", "concat", gates),
            Edge("x", "concat"),
            Edge("concat", "f", gates),
            Edge("concat", "i", gates),
            Edge("concat", "g", gates),
            Edge("concat", "o", gates),
            Edge("f", "keep"),
            Edge("i", "write"),
            Edge("g", "write"),
            Edge("write", "add"),
            Edge("add", "tanh_c"),
            Edge("tanh_c", "out"),
            Edge("o", "out"),
            *((Edge("out", "proj"), Edge("proj", "h")) if self.spec.proj_size else (Edge("out", "h"),)),
        )
        return Layout(nodes, edges)

    def node_values(self, q) -> dict[str, np.ndarray]:
        i, f, g, o, c = q["i"], q["f"], q["g"], q["o"], q["c"]
        tanh_c = np.tanh(c)
        return {
            "c_prev": q["c_prev"],
            "keep": f * q["c_prev"],
            "add": c,
            "c": c,
            "h_prev": q["h_prev"],
            "f": f,
            "i": i,
            "g": g,
            "write": i * g,
            "o": o,
            "tanh_c": tanh_c,
            "out": o * tanh_c,
            "h": q["h"],
        }
