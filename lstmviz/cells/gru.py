"""The GRU in two conventions with the same parameters (rows r, z, n of torch.nn.GRU).

PyTorch (https://pytorch.org/docs/stable/generated/torch.nn.GRU.html), reset AFTER the product:

    r_t = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)      z_t = sigma(W_iz x_t + ... + b_hz)
    n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}                       z = the share kept of the OLD state

Tutorial (Chung, Gulcehre, Cho & Bengio 2014; Olah, "Understanding LSTM Networks", 2015), reset
BEFORE the product and z the share of the NEW content:

    h~_t = n_t = tanh(W_in x_t + b_in + W_hn (r_t * h_{t-1}) + b_hn)
    h_t = (1 - z_t) * h_{t-1} + z_t * h~_t

Cho et al. (2014), Keras ``GRU(reset_after=False)`` and d2l.ai also put the reset before the product,
but write h_t = z_t * h_{t-1} + (1 - z_t) * h~_t: their z is PyTorch's reading (the share of the old
state); the tutorial's z is 1 minus that.

Backward (delta = dL/d), PyTorch: delta_a_n = delta_h (1-z)(1-n^2); delta_a_z = delta_h (h_{t-1}-n) z(1-z);
delta_a_r = delta_a_n (W_hn h_{t-1} + b_hn) r(1-r); delta_h_{t-1} gets delta_h z + W_hr^T delta_a_r
+ W_hz^T delta_a_z + W_hn^T (delta_a_n r). Tutorial: delta_a_n = delta_h z (1-n^2);
delta_a_z = delta_h (n - h_{t-1}) z(1-z); delta_(r h) = W_hn^T delta_a_n;
delta_a_r = delta_(r h) h_{t-1} r(1-r);
delta_h_{t-1} gets delta_h (1-z) + r delta_(r h) + W_hr^T delta_a_r + W_hz^T delta_a_z.
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
    sigmoid,
    split_rows,
    unchanged,
)
from .text import affine, clamped_line, escape, gate_line, input_gradient

CONVENTIONS = {
    "pytorch": "PyTorch's GRU (nn.GRU): the reset gate r acts after the product, r ⊙ (W_hn·h + b_hn); "
    "z is the share kept of the OLD state hₜ₋₁ (as in Cho et al. 2014 and Keras).",
    "tutorial": "The tutorial GRU (Chung et al. 2014, Olah 2015): the reset gate r acts before the "
    "product, W_hn·(r ⊙ h); z is the share of the NEW content h̃ₜ, the role 1 − z plays in PyTorch and "
    "Cho et al. With nn.GRU's parameters (it has no such mode) this is another cell: the same z values "
    "mix the other way round.",
}


class GRU(Cell):
    name = "gru"
    label = "GRU"
    colour = "#009E73"  # bluish green
    dash = "dash"
    trace_arrays = 18
    rows = ("r", "z", "n")
    gates = ("r", "z", "n")
    variants = ("pytorch", "tutorial")
    torch_class = "GRU"
    sigmoid_gates = frozenset("rz")

    @property
    def tutorial(self) -> bool:
        return self.spec.gru_variant == "tutorial"

    @property
    def title(self) -> str:
        return "GRU (tutorial)" if self.tutorial else "GRU (PyTorch)"

    @property
    def carry_symbol(self) -> str:
        return "1 − z" if self.tutorial else "z"

    @property
    def reference(self) -> str:  # the sources of the convention shown, not of the other one
        if self.tutorial:
            return "Chung et al. (2014); Olah (2015); the parameters of torch.nn.GRU"
        return ("torch.nn.GRU; Cho et al. (2014), whose z also keeps the old state (their reset acts "
                "before W_hn)")

    @property
    def carry_label(self) -> str:
        return "∏ (1 − z_k): the direct path" if self.tutorial else "∏ z_k: the direct path"

    @property
    def paths(self) -> tuple[BackwardPath, ...]:
        keep = r"(1 - z_{t})" if self.tutorial else r"z_{t}"
        rz = r"W_{hr}^{\top} \delta a^r_{t} + W_{hz}^{\top} \delta a^z_{t}"
        # n's recurrent input is multiplied by r (after W_hn in PyTorch's GRU, before it in the tutorial's)
        gates = (r"r_{t} \odot (W_{hn}^{\top} \delta a^n_{t}) + " + rz if self.tutorial
                 else rz + r" + W_{hn}^{\top} (\delta a^n_{t} \odot r_{t})")
        return (
            BackwardPath("direct", "the direct path", r"\delta h_{t} \odot " + keep),
            BackwardPath("gates", "through the gates", gates),
        )

    def convention(self) -> str:
        return CONVENTIONS[self.spec.gru_variant]

    def symbol(self, letter: str) -> str:
        return r"\tilde{h}" if letter == "n" and self.tutorial else letter

    def describe(self, letter: str) -> str:
        share = "share of NEW h̃" if self.tutorial else "share of OLD h"  # short: a narrow panel's title
        names = {
            "r": "r: reset gate σ",
            "z": f"z: update gate σ ({share})",
            "n": "n = h̃: candidate tanh" if self.tutorial else "n: candidate tanh",
        }
        return names.get(letter) or super().describe(letter)

    @property
    def torch_twin(self) -> str | None:
        return None if self.tutorial else "GRU"

    # -- computation ---------------------------------------------------------------------------

    def forward(self, p, xs, h0, c0, clamps: Clamps = NO_CLAMPS) -> CellRun:
        a = input_projection(p, xs)  # (T, 3H), rows r z n; becomes the pre-activations in place
        steps, hidden = len(a), len(h0)
        b_hh = p.get("bias_hh", np.zeros(3 * hidden, dtype=a.dtype))
        a[:, : 2 * hidden] += b_hh[: 2 * hidden]
        b_hn = b_hh[2 * hidden :]
        w_hh_t = np.ascontiguousarray(p["weight_hh"].T)
        w_rz_t = np.ascontiguousarray(w_hh_t[:, : 2 * hidden])
        w_hn_t = np.ascontiguousarray(w_hh_t[:, 2 * hidden :])
        act = np.empty_like(a)
        hn = np.empty((steps, hidden), dtype=a.dtype)  # the recurrent part of n's pre-activation
        h = np.empty((steps, hidden), dtype=a.dtype)
        # Row views made once: a row of a 2-D view is cheaper per step than a 2-D slice.
        a_rz, a_n, act_rz = a[:, : 2 * hidden], a[:, 2 * hidden :], act[:, : 2 * hidden]
        r_all, z_all, n_all = act[:, :hidden], act[:, hidden : 2 * hidden], act[:, 2 * hidden :]
        clamped = clamps.steps() if clamps else np.zeros(steps, dtype=bool)
        tutorial = self.tutorial
        h_prev = h0
        with np.errstate(over="ignore"):
            for t in range(steps):
                r, z, n = r_all[t], z_all[t], n_all[t]
                if tutorial:
                    a_rz[t] += h_prev @ w_rz_t
                    sigmoid(a_rz[t], out=act_rz[t])
                    if clamped[t]:
                        clamps.apply("r", t, r)
                        clamps.apply("z", t, z)
                    np.dot(r * h_prev, w_hn_t, out=hn[t])
                    hn[t] += b_hn
                    a_n[t] += hn[t]
                else:
                    gh = h_prev @ w_hh_t
                    a_rz[t] += gh[: 2 * hidden]
                    sigmoid(a_rz[t], out=act_rz[t])
                    if clamped[t]:
                        clamps.apply("r", t, r)
                        clamps.apply("z", t, z)
                    np.add(gh[2 * hidden :], b_hn, out=hn[t])
                    a_n[t] += r * hn[t]
                np.tanh(a_n[t], out=n)
                if clamped[t]:
                    clamps.apply("n", t, n)
                if tutorial:
                    np.subtract(n, h_prev, out=h[t])  # h = h_prev + z * (n - h_prev)
                else:
                    np.subtract(h_prev, n, out=h[t])  # h = n + z * (h_prev - n)
                h[t] *= z
                h[t] += h_prev if tutorial else n
                if clamped[t]:
                    clamps.apply("h", t, h[t])
                h_prev = h[t]
        gates = split_rows(act, self.rows)
        cache = self._backward_factors(gates, hn, shifted(h, h0), clamps)
        return CellRun(h, None, gates, split_rows(a, self.rows), cache)

    def _backward_factors(self, gates, hn, h_prev, clamps: Clamps) -> dict[str, np.ndarray]:
        """Per-step derivatives of h_t, per unit of delta_h_t; 0 where a clamp cuts the path."""
        r, z, n = gates["r"], gates["z"], gates["n"]
        keep_h = clamps.keep("h", z)
        free_n = clamps.keep("n", n) * keep_h
        if self.tutorial:
            return {
                "keep": (1 - z) * keep_h,
                "a_n": z * (1 - n * n) * free_n,
                "a_z": (n - h_prev) * z * (1 - z) * clamps.keep("z", z) * keep_h,
                "r": r,
                "a_r_by_rh": h_prev * r * (1 - r) * clamps.keep("r", r),
            }
        a_n = (1 - z) * (1 - n * n) * free_n
        return {
            "keep": z * keep_h,
            "a_n": a_n,
            "a_z": (h_prev - n) * z * (1 - z) * clamps.keep("z", z) * keep_h,
            "a_r": a_n * hn * r * (1 - r) * clamps.keep("r", r),
            "hn": a_n * r,  # d(W_hn h + b_hn) per unit of dh
        }

    def backward(self, p, run: CellRun, direct: np.ndarray) -> CellGrads:
        k = run.cache
        steps, hidden = run.h.shape
        w_hh = p["weight_hh"]
        w_rz, w_hn = w_hh[: 2 * hidden], w_hh[2 * hidden :]
        grad_h = np.empty_like(run.h)
        da = np.empty((steps, 3 * hidden), dtype=run.h.dtype)  # [a_r, a_z, a_n]
        carried = np.zeros_like(run.h[0])
        a_z, a_n, keep = k["a_z"], k["a_n"], k["keep"]  # per-step factors, looked up once
        tutorial = self.tutorial
        if tutorial:
            a_r_by_rh, r = k["a_r_by_rh"], k["r"]
        else:
            a_r, d_hn = k["a_r"], k["hn"]
        for t in range(steps - 1, -1, -1):
            dh = np.add(direct[t], carried, out=grad_h[t])
            d_r, d_z, d_n = da[t, :hidden], da[t, hidden : 2 * hidden], da[t, 2 * hidden :]
            np.multiply(dh, a_z[t], out=d_z)
            np.multiply(dh, a_n[t], out=d_n)
            if tutorial:
                d_rh = d_n @ w_hn
                np.multiply(d_rh, a_r_by_rh[t], out=d_r)
                carried = dh * keep[t] + d_rh * r[t] + da[t, : 2 * hidden] @ w_rz
            else:
                np.multiply(dh, a_r[t], out=d_r)
                carried = dh * keep[t] + da[t, : 2 * hidden] @ w_rz + (dh * d_hn[t]) @ w_hn
        return CellGrads(grad_h, None, split_rows(da, self.rows), da @ p["weight_ih"])

    def reference_step(self, p, x, state, hook=unchanged):
        (h,) = state
        hidden = h.shape[-1]
        gx = x @ p["weight_ih"].T + p["bias_ih"] if "bias_ih" in p else x @ p["weight_ih"].T
        gx_r, gx_z, gx_n = gx.chunk(3, dim=-1)
        w_hr, w_hz, w_hn = p["weight_hh"].split(hidden, dim=0)
        b_hr, b_hz, b_hn = p["bias_hh"].chunk(3) if "bias_hh" in p else (0, 0, 0)
        r = hook("r", (gx_r + h @ w_hr.T + b_hr).sigmoid())
        z = hook("z", (gx_z + h @ w_hz.T + b_hz).sigmoid())
        if self.tutorial:
            n = hook("n", (gx_n + (r * h) @ w_hn.T + b_hn).tanh())
            return (hook("h", (1 - z) * h + z * n),)
        n = hook("n", (gx_n + r * (h @ w_hn.T + b_hn)).tanh())
        return (hook("h", (1 - z) * n + z * h),)

    def step_jacobians(self, p, run, steps: slice) -> np.ndarray:
        k = {name: value[steps] for name, value in run.cache.items()}
        w_hr, w_hz, w_hn = np.split(p["weight_hh"], 3, axis=0)
        jac = eye_batch(k["keep"]) + diag_times(k["a_z"], w_hz)
        if self.tutorial:
            through_n = diag_times(k["a_n"], w_hn)  # d h / d (r * h_{t-1})
            jac += through_n * k["r"][:, None, :] + (through_n * k["a_r_by_rh"][:, None, :]) @ w_hr
        else:
            jac += diag_times(k["hn"], w_hn) + diag_times(k["a_r"], w_hr)
        return jac

    def step_input_jacobians(self, p, run, steps: slice) -> np.ndarray:
        k = {name: value[steps] for name, value in run.cache.items()}
        w_ir, w_iz, w_in = np.split(p["weight_ih"], 3, axis=0)
        jac = diag_times(k["a_z"], w_iz) + diag_times(k["a_n"], w_in)
        if self.tutorial:  # d h / d a_r = diag(a_n) W_hn diag(d(r h)/d a_r): r acts before W_hn
            w_hn = np.split(p["weight_hh"], 3, axis=0)[2]
            return jac + (diag_times(k["a_n"], w_hn) * k["a_r_by_rh"][:, None, :]) @ w_ir
        return jac + diag_times(k["a_r"], w_ir)

    def carry(self, run: CellRun) -> np.ndarray:
        return run.cache["keep"]

    def path_flows(self, p, run, grads: CellGrads) -> dict[str, np.ndarray]:
        hidden = run.h.shape[1]
        w_hh = p["weight_hh"]
        da = np.concatenate([grads.preactivations[k] for k in self.rows], axis=1)
        through_rz = da[:, : 2 * hidden] @ w_hh[: 2 * hidden]
        if self.tutorial:
            d_rh = grads.preactivations["n"] @ w_hh[2 * hidden :]
            gates = through_rz + d_rh * run.cache["r"]
        else:
            gates = through_rz + (grads.h * run.cache["hn"]) @ w_hh[2 * hidden :]
        return {"direct": grads.h * run.cache["keep"], "gates": gates}

    def batch_forward(self, p, xs, scale) -> CellRun:
        a = batch_input_projection(p, xs, len(scale))  # (T, G, 3H), rows r z n
        steps, models, hidden = a.shape[0], a.shape[1], a.shape[2] // 3
        b_hh = p.get("bias_hh", np.zeros(3 * hidden))
        a[..., : 2 * hidden] += b_hh[: 2 * hidden]
        b_hn, w_hh_t = b_hh[2 * hidden :], p["weight_hh"].T
        act = np.empty_like(a)
        hn = np.empty((steps, models, hidden))  # the recurrent part of n's pre-activation
        h = np.empty((steps, models, hidden))
        h_prev = np.zeros_like(h[0])
        for t in range(steps):
            if self.tutorial:
                a[t, :, : 2 * hidden] += scale[:, None] * (h_prev @ w_hh_t[:, : 2 * hidden])
                r, z = np.split(sigmoid(a[t, :, : 2 * hidden], out=act[t, :, : 2 * hidden]), 2, axis=-1)
                hn[t] = scale[:, None] * ((r * h_prev) @ w_hh_t[:, 2 * hidden :]) + b_hn
                a[t, :, 2 * hidden :] += hn[t]
            else:
                gh = scale[:, None] * (h_prev @ w_hh_t)
                a[t, :, : 2 * hidden] += gh[:, : 2 * hidden]
                r, z = np.split(sigmoid(a[t, :, : 2 * hidden], out=act[t, :, : 2 * hidden]), 2, axis=-1)
                hn[t] = gh[:, 2 * hidden :] + b_hn
                a[t, :, 2 * hidden :] += r * hn[t]
            n = np.tanh(a[t, :, 2 * hidden :], out=act[t, :, 2 * hidden :])
            h[t] = h_prev + z * (n - h_prev) if self.tutorial else n + z * (h_prev - n)
            h_prev = h[t]
        gates = split_rows(act, self.rows)
        cache = self._backward_factors(gates, hn, shifted(h, np.zeros_like(h[0])), NO_CLAMPS)
        return CellRun(h, None, gates, split_rows(a, self.rows), cache)

    def batch_step_vjp(self, p, run, t, grads, scale) -> tuple:
        k = {name: value[t] for name, value in run.cache.items()}
        (dh,) = grads
        hidden = dh.shape[-1]
        w_hh = p["weight_hh"]
        if self.tutorial:
            d_rh = scale[:, None] * rows_times(dh * k["a_n"], w_hh[2 * hidden :])  # d (r * h_{t-1})
            d_rz = np.concatenate([d_rh * k["a_r_by_rh"], dh * k["a_z"]], axis=-1)
            return (dh * k["keep"] + d_rh * k["r"] + scale[:, None] * rows_times(d_rz, w_hh[: 2 * hidden]),)
        d_rz_hn = np.concatenate([dh * k["a_r"], dh * k["a_z"], dh * k["hn"]], axis=-1)
        return (dh * k["keep"] + scale[:, None] * rows_times(d_rz_hn, w_hh),)

    # -- equations -------------------------------------------------------------------------------

    def equations(self) -> list[str]:
        bias = self.spec.bias
        gates = [rf"r_t = \sigma({affine('r', bias)})", rf"z_t = \sigma({affine('z', bias)})"]
        b_in = " + b_{in}" if bias else ""
        b_hn = " + b_{hn}" if bias else ""
        if self.tutorial:
            return gates + [
                rf"\tilde{{h}}_t = \tanh(W_{{in}} x_t{b_in} + W_{{hn}} (r_t \odot h_{{t-1}}){b_hn})",
                r"h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde{h}_t",
            ]
        return gates + [
            rf"n_t = \tanh(W_{{in}} x_t{b_in} + r_t \odot (W_{{hn}} h_{{t-1}}{b_hn}))",
            r"h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}",
        ]

    def bptt(self, nxt: str = "t+1", prv: str = "t-1") -> list[str]:
        head = r"\delta h_t = \frac{\partial \ell_t}{\partial h_t}"
        if self.tutorial:
            return [
                head + rf" + \delta h_{{{nxt}}} \odot (1 - z_{{{nxt}}})"
                rf" + r_{{{nxt}}} \odot (W_{{hn}}^{{\top}} \delta a^n_{{{nxt}}})"
                rf" + W_{{hr}}^{{\top}} \delta a^r_{{{nxt}}} + W_{{hz}}^{{\top}} \delta a^z_{{{nxt}}}",
                r"\delta a^n_t = \delta h_t \odot z_t \odot (1 - \tilde{h}_t^2)",
                rf"\delta a^z_t = \delta h_t \odot (\tilde{{h}}_t - h_{{{prv}}}) \odot z_t (1 - z_t)",
                rf"\delta a^r_t = (W_{{hn}}^{{\top}} \delta a^n_t) \odot h_{{{prv}}} \odot r_t (1 - r_t)",
                input_gradient(r"\delta a_t", self.spec.bidirectional),
            ]
        b_hn = " + b_{hn}" if self.spec.bias else ""
        return [
            head + rf" + \delta h_{{{nxt}}} \odot z_{{{nxt}}}"
            rf" + W_{{hr}}^{{\top}} \delta a^r_{{{nxt}}} + W_{{hz}}^{{\top}} \delta a^z_{{{nxt}}}"
            rf" + W_{{hn}}^{{\top}} (\delta a^n_{{{nxt}}} \odot r_{{{nxt}}})",
            r"\delta a^n_t = \delta h_t \odot (1 - z_t) \odot (1 - n_t^2)",
            rf"\delta a^z_t = \delta h_t \odot (h_{{{prv}}} - n_t) \odot z_t (1 - z_t)",
            rf"\delta a^r_t = \delta a^n_t \odot (W_{{hn}} h_{{{prv}}}{b_hn}) \odot r_t (1 - r_t)",
            input_gradient(r"\delta a_t", self.spec.bidirectional),
        ]

    def step_templates(self, clamped=frozenset()) -> list[str]:
        lines = [gate_line("r", r"\sigma", "r" in clamped), gate_line("z", r"\sigma", "z" in clamped),
                 gate_line("n", r"\tanh", "n" in clamped, self.symbol("n"))]
        cand = escape(self.symbol("n")) + "_{{{t}}}"
        end = r"= {h}"
        if "h" in clamped:  # the clamped value alone: the update's arithmetic gives another number
            return lines + [clamped_line("h")]
        if self.tutorial:
            return lines + [
                r"h_{{{t}}} = (1 - z_{{{t}}})\,h_{{{tp}}} + z_{{{t}}}\," + cand,
                r"= (1 - {z:p}) \cdot {h_prev:p} + {z} \cdot {n:p}",
                end,
            ]
        return lines + [
            r"h_{{{t}}} = (1 - z_{{{t}}})\," + cand + r" + z_{{{t}}}\,h_{{{tp}}}",
            r"= (1 - {z:p}) \cdot {n:p} + {z} \cdot {h_prev:p}",
            end,
        ]

    def slots(self, q, p) -> dict[str, np.ndarray]:
        values = {k: q[k] for k in self.rows} | {f"a_{k}": q[f"a_{k}"] for k in self.rows}
        return values | {"h_prev": q["h_prev"], "h": q["h"]}

    def backward_templates(self, last=False, clamped=frozenset(), clamped_next=frozenset()) -> list[str]:
        head = r"\delta h_{{{t}}} = \partial \ell_{{{t}}} / \partial h_{{{t}}}"
        keep = r"(1 - z_{{{tn}}})" if self.tutorial else r"z_{{{tn}}}"
        gates = r"(\text{{through the gates of }} {tn})"
        if last:
            first = [head + " = {dh}"]
        elif "h" in clamped_next:  # h_{t+1} is a constant: no direct path from it
            first = [head + " + " + gates + r" \quad \text{{(h clamped at step {tn}: no direct path)}}",
                     r"= {dh_direct} + {from_gates:p} = {dh}"]
        else:
            first = [head + r" + \delta h_{{{tn}}} \, " + keep + " + " + gates,
                     r"= {dh_direct} + {from_direct:p} + {from_gates:p} = {dh}"]
        return first + [
            r"\delta a^r_{{{t}}} = {da_r}, \quad \delta a^z_{{{t}}} = {da_z}, "
            r"\quad \delta a^n_{{{t}}} = {da_n}"
        ]

    def backward_slots(self, q, p) -> dict[str, np.ndarray]:
        values = {"dh": q["dh"], "dh_direct": q["dh_direct"], "from_direct": q["next_direct"],
                  "from_gates": q["next_gates"]}
        return values | {f"da_{k}": q[f"da_{k}"] for k in self.rows}

    # -- diagram -------------------------------------------------------------------------------

    def layout(self) -> Layout:
        tutorial = self.tutorial
        nodes = (
            Node("h_prev", 0.5, 5.2, "h", "t−1", STATE),
            Node("keep", 3.4, 5.2, "×(1−z)" if tutorial else "×z", kind=OP),
            Node("add", 7.7, 5.2, "+", kind=OP),
            Node("h", 9.5, 5.2, "h", "t", STATE, clampable=True),
            Node("h_in", 0.5, 1.7, "h", "t−1", STATE),
            Node("concat", 1.7, 0.9, "[h,x]", kind=OP),
            Node("z", 3.4, 3.4, "z", kind=SIGMOID, clampable=True),
            Node("r", 4.8, 1.5, "r", kind=SIGMOID, clampable=True),
            Node("n", 6.3, 2.6, "h̃" if tutorial else "n", kind=TANH, clampable=True),
            Node("write", 7.7, 3.9, "×z" if tutorial else "×(1−z)", kind=OP),
            Node("x", 0.5, 0.3, "x", "t", INPUT),
        )
        edges = (
            Edge("h_prev", "keep", "direct"),
            Edge("keep", "add", "direct"),
            Edge("add", "h", "direct"),
            Edge("x", "concat"),
            Edge("h_in", "concat", "gates"),
            Edge("concat", "r", "gates"),
            Edge("concat", "z", "gates"),
            Edge("concat", "n", "gates"),
            Edge("r", "n"),
            Edge("z", "keep"),
            Edge("z", "write"),
            Edge("n", "write"),
            Edge("write", "add"),
        )
        return Layout(nodes, edges)

    def node_values(self, q) -> dict[str, np.ndarray]:
        r, z, n, h_prev = q["r"], q["z"], q["n"], q["h_prev"]
        old, new = (1 - z, z) if self.tutorial else (z, 1 - z)
        return {
            "h_prev": h_prev,
            "keep": old * h_prev,
            "add": q["h"],
            "h": q["h"],
            "h_in": h_prev,
            "z": z,
            "r": r,
            "n": n,
            "write": new * n,
        }
