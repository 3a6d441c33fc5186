"""Fast forward pass and hand-written backpropagation through time for one cell over one sequence.

The forward pass keeps every gate and state; the backward pass runs the BPTT recursions our users
derive, for the total derivatives delta_h_t = dL/dh_t and delta_c_t = dL/dc_t:

    delta_h_t = dl_t/dh_t + (dh_{t+1}/dh_t)^T delta_h_{t+1}        (the loss at t, and after t)
    LSTM:  delta_m_t = W_hr^T delta_h_t  (identity without proj_size),  m_t = o_t * tanh(c_t)
           delta_c_t = delta_m_t * o_t * (1 - tanh^2 c_t) + delta_c_{t+1} * f_{t+1}
           delta_a   = [delta_c*g*i(1-i), delta_c*c_{t-1}*f(1-f), delta_c*i*(1-g^2), delta_m*tanh(c)*o(1-o)]
           (dh_{t+1}/dh_t)^T delta_h_{t+1} = W_hh^T delta_a_{t+1}
    GRU:   delta_a_n = delta_h*(1-z)*(1-n^2);  delta_a_r = delta_a_n*(W_hn h+b_hn)*r(1-r);
           delta_a_z = delta_h*(h_{t-1}-n)*z(1-z)
           delta_h_{t-1} gets delta_h*z + W_hh^T [delta_a_r, delta_a_z, delta_a_n*r]
    GRU, tutorial form: delta_a_n = delta_h*z*(1-n^2);  delta_rh = W_hn^T delta_a_n;
           delta_a_r = delta_rh*h_{t-1}*r(1-r);  delta_a_z = delta_h*(n-h_{t-1})*z(1-z)
           delta_h_{t-1} gets delta_h*(1-z) + delta_rh*r + W_h[rz]^T [delta_a_r, delta_a_z]
    RNN:   delta_a_t = delta_h_t * phi'(a_t);  delta_h_{t-1} gets W_hh^T delta_a_t
    Every cell: dL/dx_t = W_ih^T delta_a_t (one matrix product over all t after the loop).

Speed: everything that does not depend on the recursion (input projections, activation derivatives)
is one vectorised NumPy operation over all T; the Python loops keep only a matrix-vector product and a
few in-place element-wise operations per step. Sequences run in processing order; the caller flips them
for the reverse direction. Parameters are arrays of the working dtype without the layer suffix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Params = dict[str, np.ndarray]


@dataclass(frozen=True)
class CellRun:
    """One cell's pass over one sequence (processing order): what the trace shows, and the backward cache."""

    h: np.ndarray  # (T, H_out)
    c: np.ndarray | None  # (T, H)
    gates: dict[str, np.ndarray]  # letter -> (T, H)
    preactivations: dict[str, np.ndarray]  # letter -> (T, H)
    cache: dict[str, np.ndarray]


def sigmoid(a: np.ndarray, out: np.ndarray) -> np.ndarray:
    np.negative(a, out=out)
    np.exp(out, out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


def _input_projection(p: Params, xs: np.ndarray) -> np.ndarray:
    gx = xs @ p["weight_ih"].T
    if "bias_ih" in p:
        gx += p["bias_ih"]
    return gx


def _shifted(states: np.ndarray, initial: np.ndarray) -> np.ndarray:
    """The states at t-1 for every t: (T, n) with ``initial`` first."""
    return np.concatenate([initial[None], states[:-1]], axis=0)


class RNNEngine:
    def __init__(self, relu: bool) -> None:
        self.relu = relu

    def forward(self, p: Params, xs: np.ndarray, h0: np.ndarray, c0: None) -> CellRun:
        a = _input_projection(p, xs)
        if "bias_hh" in p:
            a += p["bias_hh"]
        w_hh_t = np.ascontiguousarray(p["weight_hh"].T)
        h = np.empty_like(a)
        h_prev = h0
        for t in range(len(a)):
            a[t] += h_prev @ w_hh_t
            if self.relu:
                np.maximum(a[t], 0.0, out=h[t])
            else:
                np.tanh(a[t], out=h[t])
            h_prev = h[t]
        slope = (a > 0).astype(a.dtype) if self.relu else 1.0 - h * h
        return CellRun(h, None, {}, {"h": a}, {"slope": slope})

    def backward(self, p: Params, run: CellRun, direct: np.ndarray):
        slope, w_hh = run.cache["slope"], p["weight_hh"]
        grad_h = np.empty_like(run.h)
        da = np.empty_like(run.h)
        carried = np.zeros_like(run.h[0])
        for t in range(len(grad_h) - 1, -1, -1):
            np.add(direct[t], carried, out=grad_h[t])
            np.multiply(grad_h[t], slope[t], out=da[t])
            carried = da[t] @ w_hh
        return grad_h, None, da @ p["weight_ih"]


class LSTMEngine:
    def forward(self, p: Params, xs: np.ndarray, h0: np.ndarray, c0: np.ndarray) -> CellRun:
        a = _input_projection(p, xs)  # (T, 4H), rows i f g o
        if "bias_hh" in p:
            a += p["bias_hh"]
        steps, hidden = len(a), a.shape[1] // 4
        # sigma(a) = 0.5 * tanh(a / 2) + 0.5, so all four gates are act = s * tanh(s * a) + shift with
        # s = 1/2 for i, f, o and 1 for g: one tanh per step. Scaling by powers of 2 is exact.
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
        h_prev, c_prev = h0, c0
        for t in range(steps):
            a[t] += h_prev @ w_hh_t
            np.tanh(a[t], out=act[t])
            act[t] *= s
            act[t] += shift
            i, f, g, o = gate_rows[t]
            np.multiply(f, c_prev, out=c[t])
            np.multiply(i, g, out=ig)
            c[t] += ig
            np.tanh(c[t], out=tanh_c[t])
            if w_hr_t is None:
                np.multiply(o, tanh_c[t], out=h[t])
            else:
                np.dot(o * tanh_c[t], w_hr_t, out=h[t])
            h_prev, c_prev = h[t], c[t]
        a /= s
        gates = dict(zip("ifgo", np.split(act, 4, axis=1), strict=True))
        preacts = dict(zip("ifgo", np.split(a, 4, axis=1), strict=True))
        i, f, g, o = (gates[k] for k in "ifgo")
        c_prev_all = _shifted(c, c0)
        # delta_a = [dc*g*i', dc*c_{t-1}*f', dc*i*g', dm*tanh(c)*o']: the factors multiplying dc and dm.
        by_dc = np.stack([g * i * (1 - i), c_prev_all * f * (1 - f), i * (1 - g * g)], axis=1)
        by_dm = tanh_c * o * (1 - o)
        cache = {"by_dc": by_dc, "by_dm": by_dm, "dc_by_dm": o * (1 - tanh_c * tanh_c), "f": f}
        return CellRun(h, c, gates, preacts, cache)

    def backward(self, p: Params, run: CellRun, direct: np.ndarray):
        by_dc, by_dm, dc_by_dm, f = (run.cache[k] for k in ("by_dc", "by_dm", "dc_by_dm", "f"))
        w_hh, w_hr = p["weight_hh"], p.get("weight_hr")
        steps, hidden = run.c.shape
        grad_h = np.empty_like(run.h)
        grad_c = np.empty_like(run.c)
        da = np.empty((steps, 4 * hidden), dtype=run.c.dtype)
        carried_h = np.zeros_like(run.h[0])
        carried_c = np.zeros_like(run.c[0])
        for t in range(steps - 1, -1, -1):
            np.add(direct[t], carried_h, out=grad_h[t])
            dm = grad_h[t] if w_hr is None else grad_h[t] @ w_hr
            np.multiply(dm, dc_by_dm[t], out=grad_c[t])
            grad_c[t] += carried_c
            np.multiply(grad_c[t], by_dc[t], out=da[t, : 3 * hidden].reshape(3, hidden))
            np.multiply(dm, by_dm[t], out=da[t, 3 * hidden :])
            carried_h = da[t] @ w_hh
            carried_c = grad_c[t] * f[t]
        return grad_h, grad_c, da @ p["weight_ih"]


class GRUEngine:
    """PyTorch's GRU, or with ``tutorial=True`` the Cho et al. (2014) form (see :mod:`lstmviz.cells`)."""

    def __init__(self, tutorial: bool) -> None:
        self.tutorial = tutorial

    def forward(self, p: Params, xs: np.ndarray, h0: np.ndarray, c0: None) -> CellRun:
        gx = _input_projection(p, xs)  # (T, 3H), rows r z n
        steps, hidden = len(gx), len(h0)
        b_hh = p.get("bias_hh", np.zeros(3 * hidden, dtype=gx.dtype))
        gx[:, : 2 * hidden] += b_hh[: 2 * hidden]
        b_hn = b_hh[2 * hidden :]
        w_hh_t = np.ascontiguousarray(p["weight_hh"].T)
        w_rz_t = np.ascontiguousarray(w_hh_t[:, : 2 * hidden])
        w_hn_t = np.ascontiguousarray(w_hh_t[:, 2 * hidden :])
        a = gx  # becomes the pre-activations, in place
        act = np.empty_like(a)
        hn = np.empty((steps, hidden), dtype=a.dtype)  # the recurrent part of n's pre-activation
        h = np.empty((steps, hidden), dtype=a.dtype)
        h_prev = h0
        with np.errstate(over="ignore"):
            for t in range(steps):
                r, z, n = act[t, :hidden], act[t, hidden : 2 * hidden], act[t, 2 * hidden :]
                if self.tutorial:
                    a[t, : 2 * hidden] += h_prev @ w_rz_t
                    sigmoid(a[t, : 2 * hidden], out=act[t, : 2 * hidden])
                    np.dot(r * h_prev, w_hn_t, out=hn[t])
                    hn[t] += b_hn
                    a[t, 2 * hidden :] += hn[t]
                    np.tanh(a[t, 2 * hidden :], out=n)
                    np.subtract(n, h_prev, out=h[t])  # h = h_prev + z * (n - h_prev)
                else:
                    gh = h_prev @ w_hh_t
                    a[t, : 2 * hidden] += gh[: 2 * hidden]
                    sigmoid(a[t, : 2 * hidden], out=act[t, : 2 * hidden])
                    np.add(gh[2 * hidden :], b_hn, out=hn[t])
                    a[t, 2 * hidden :] += r * hn[t]
                    np.tanh(a[t, 2 * hidden :], out=n)
                    np.subtract(h_prev, n, out=h[t])  # h = n + z * (h_prev - n)
                h[t] *= z
                h[t] += h_prev if self.tutorial else n
                h_prev = h[t]
        gates = dict(zip("rzn", np.split(act, 3, axis=1), strict=True))
        preacts = dict(zip("rzn", np.split(a, 3, axis=1), strict=True))
        cache = self._backward_factors(gates, hn, _shifted(h, h0))
        return CellRun(h, None, gates, preacts, cache)

    def _backward_factors(self, gates, hn, h_prev) -> dict[str, np.ndarray]:
        r, z, n = gates["r"], gates["z"], gates["n"]
        if self.tutorial:
            # delta_a_n = dh*z*(1-n^2); delta_(r*h) = W_hn^T delta_a_n; delta_a_r = delta_(r*h)*h_prev*r(1-r)
            return {
                "keep": 1 - z,
                "a_n": z * (1 - n * n),
                "a_z": (n - h_prev) * z * (1 - z),
                "r": r,
                "a_r_by_rh": h_prev * r * (1 - r),
            }
        a_n = (1 - z) * (1 - n * n)
        return {
            "keep": z,
            "a_n": a_n,
            "a_z": (h_prev - n) * z * (1 - z),
            "a_r": a_n * hn * r * (1 - r),
            "hn": a_n * r,  # d(W_hn h + b_hn) per unit of dh
        }

    def backward(self, p: Params, run: CellRun, direct: np.ndarray):
        k = run.cache
        steps, hidden = run.h.shape
        w_hh = p["weight_hh"]
        w_rz, w_hn = w_hh[: 2 * hidden], w_hh[2 * hidden :]
        grad_h = np.empty_like(run.h)
        da = np.empty((steps, 3 * hidden), dtype=run.h.dtype)  # input-side [a_r, a_z, a_n]
        carried = np.zeros_like(run.h[0])
        a_z, a_n, keep = k["a_z"], k["a_n"], k["keep"]  # per-step factors, looked up once
        if self.tutorial:
            a_r_by_rh, r = k["a_r_by_rh"], k["r"]
        else:
            a_r, d_hn = k["a_r"], k["hn"]
        for t in range(steps - 1, -1, -1):
            dh = np.add(direct[t], carried, out=grad_h[t])
            d_r, d_z, d_n = da[t, :hidden], da[t, hidden : 2 * hidden], da[t, 2 * hidden :]
            np.multiply(dh, a_z[t], out=d_z)
            np.multiply(dh, a_n[t], out=d_n)
            if self.tutorial:
                d_rh = d_n @ w_hn
                np.multiply(d_rh, a_r_by_rh[t], out=d_r)
                carried = dh * keep[t] + d_rh * r[t] + da[t, : 2 * hidden] @ w_rz
            else:
                np.multiply(dh, a_r[t], out=d_r)
                carried = dh * keep[t] + da[t, : 2 * hidden] @ w_rz + (dh * d_hn[t]) @ w_hn
        return grad_h, None, da @ p["weight_ih"]


def engine_for(cell: str, nonlinearity: str = "tanh", gru_variant: str = "pytorch"):
    if cell == "rnn":
        return RNNEngine(relu=nonlinearity == "relu")
    if cell == "lstm":
        return LSTMEngine()
    return GRUEngine(tutorial=gru_variant == "tutorial")
