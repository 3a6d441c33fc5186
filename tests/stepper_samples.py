"""Sample payloads (data contract version 1) for the stepper's demo app and tests: the generator of
``tests/fixtures/stepper_*.json``.

Not the library's computation: a small, self-contained float64 torch trace of four cells (vanilla RNN,
LSTM without projection, PyTorch GRU, and a minGRU-like cell with no recurrent weights), run forward,
then backpropagated from the loss ``sum(h)`` at the last processed step with autograd, so the
gradients are exact for these sample weights. Every number is rounded to 6 significant digits (as the
fixtures ship them); ``python tests/stepper_samples.py`` rewrites ``tests/fixtures/stepper_*.json``.

A direction's "previous processed step" is t-1 forward and t+1 for a ``reverse`` cell, which reads the
sequence from the end and is trained on its output at position 0.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

SIG = 6  # significant digits shipped in the fixtures

# Slots that appear as a later factor of a product (negative values then get parentheses). The rule is
# per slot name, so a factor slot shown alone (``= {n}``) is parenthesised too.
FACTOR_SLOTS = ["c_prev", "h_prev", "g", "n", "tanh_c", "htilde"]


def _node(key, x, y, label, sub="", kind="op", clampable=False):
    node = {"key": key, "x": x, "y": y, "label": label, "sub": sub, "kind": kind}
    if clampable:
        node["clampable"] = True
    return node


def _edge(a, b, path=None):
    return {"from": a, "to": b, "path": path}


LAYOUTS = {
    "rnn": {
        "nodes": [
            _node("x", 0.5, 0.3, "x", "t", "input"),
            _node("h_prev", 0.5, 3.8, "h", "t−1", "state"),
            _node("a", 4.0, 2.4, "a", "t", "linear"),
            _node("act", 6.6, 2.4, "tanh", "", "op"),
            _node("h", 9.5, 2.4, "h", "t", "state", clampable=True),
        ],
        "edges": [
            _edge("h_prev", "a", "recurrent"),
            _edge("x", "a"),
            _edge("a", "act", "recurrent"),
            _edge("act", "h", "recurrent"),
        ],
    },
    "lstm": {
        "nodes": [
            _node("x", 0.5, 0.3, "x", "t", "input"),
            _node("c_prev", 0.5, 5.2, "c", "t−1", "state"),
            _node("keep", 3.0, 5.2, "×", "", "op"),
            _node("add", 5.9, 5.2, "+", "", "op"),
            _node("c", 9.5, 5.2, "c", "t", "state", clampable=True),
            _node("h_prev", 0.5, 1.9, "h", "t−1", "state"),
            _node("concat", 1.7, 0.9, "[h,x]", "", "op"),
            _node("f", 3.0, 2.6, "f", "t", "sigmoid", clampable=True),
            _node("i", 4.4, 2.6, "i", "t", "sigmoid", clampable=True),
            _node("g", 5.8, 2.6, "g", "t", "tanh", clampable=True),
            _node("write", 5.9, 3.9, "×", "", "op"),
            _node("o", 7.2, 2.6, "o", "t", "sigmoid", clampable=True),
            _node("tanh_c", 8.6, 3.9, "tanh", "", "op"),
            _node("out", 8.6, 2.6, "×", "", "op"),
            _node("h", 9.5, 1.0, "h", "t", "state", clampable=True),
        ],
        "edges": [
            _edge("c_prev", "keep", "highway"),
            _edge("keep", "add", "highway"),
            _edge("add", "c", "highway"),
            _edge("h_prev", "concat", "gates"),
            _edge("x", "concat"),
            _edge("concat", "f", "gates"),
            _edge("concat", "i", "gates"),
            _edge("concat", "g", "gates"),
            _edge("concat", "o", "gates"),
            _edge("f", "keep"),
            _edge("i", "write"),
            _edge("g", "write"),
            _edge("write", "add"),
            _edge("add", "tanh_c"),
            _edge("tanh_c", "out"),
            _edge("o", "out"),
            _edge("out", "h"),
        ],
    },
    "gru": {
        "nodes": [
            _node("x", 0.5, 0.3, "x", "t", "input"),
            _node("h_prev", 0.5, 5.2, "h", "t−1", "state"),
            _node("keep", 3.4, 5.2, "×z", "", "op"),
            _node("add", 7.7, 5.2, "+", "", "op"),
            _node("h", 9.5, 5.2, "h", "t", "state", clampable=True),
            _node("h_in", 0.5, 1.9, "h", "t−1", "state"),
            _node("concat", 1.7, 0.9, "[h,x]", "", "op"),
            _node("z", 3.4, 3.5, "z", "t", "sigmoid", clampable=True),
            _node("r", 4.9, 1.5, "r", "t", "sigmoid", clampable=True),
            _node("n", 6.3, 2.6, "n", "t", "tanh", clampable=True),
            _node("write", 7.7, 3.9, "×(1−z)", "", "op"),
        ],
        "edges": [
            _edge("h_prev", "keep", "direct"),
            _edge("keep", "add", "direct"),
            _edge("add", "h", "direct"),
            _edge("x", "concat"),
            _edge("h_in", "concat", "gates"),
            _edge("concat", "r", "gates"),
            _edge("concat", "z", "gates"),
            _edge("concat", "n", "gates"),
            _edge("r", "n"),
            _edge("z", "keep"),
            _edge("z", "write"),
            _edge("n", "write"),
            _edge("write", "add"),
        ],
    },
    "mingru": {
        "nodes": [
            _node("x", 0.5, 0.3, "x", "t", "input"),
            _node("h_prev", 0.5, 5.2, "h", "t−1", "state"),
            _node("keep", 3.4, 5.2, "×(1−z)", "", "op"),
            _node("add", 7.7, 5.2, "+", "", "op"),
            _node("h", 9.5, 5.2, "h", "t", "state", clampable=True),
            _node("z", 3.4, 2.8, "z", "t", "sigmoid", clampable=True),
            _node("htilde", 6.0, 2.0, "h̃", "t", "linear", clampable=True),
            _node("write", 7.7, 3.7, "×z", "", "op"),
        ],
        "edges": [
            _edge("h_prev", "keep", "direct"),
            _edge("keep", "add", "direct"),
            _edge("add", "h", "direct"),
            _edge("x", "z"),
            _edge("x", "htilde"),
            _edge("z", "keep"),
            _edge("z", "write"),
            _edge("htilde", "write"),
            _edge("write", "add"),
        ],
    },
}

PATHS = {
    "rnn": [("recurrent", "through W_hh and tanh", r"W_{hh}^{\top}\,(\delta h_{t} \odot (1 - h_{t}^{2}))")],
    "lstm": [
        ("highway", "cell highway", r"\delta c_{t} \odot f_{t}"),
        ("gates", "through h and the gates", r"W_{hh}^{\top}\,\delta a_{t}"),
    ],
    "gru": [
        ("direct", "direct z path", r"\delta h_{t} \odot z_{t}"),
        (
            "gates",
            "through the gates r, z, n",
            r"(\partial h_{t} / \partial h_{t-1})^{\top}_{r,z,n}\,\delta h_{t}",
        ),
    ],
    "mingru": [("direct", "direct path (no recurrent weights)", r"\delta h_{t} \odot (1 - z_{t})")],
}

EQUATIONS = {
    "rnn": {
        "forward": [
            r"a_{{{t}}} = W_{{ih}} x_{{{t}}} + b + W_{{hh}} h_{{{tp}}} = {a}",
            r"h_{{{t}}} = \tanh(a_{{{t}}}) = \tanh({a})",
            r"= {h}",
        ],
        "backward": [
            r"\delta h_{{{t}}} = {dh}",
            r"\delta a_{{{t}}} = \delta h_{{{t}}} \odot (1 - h_{{{t}}}^2) = {dh} \cdot {one_minus_h2}",
            r"= {da}",
            r"\delta h_{{{tp}}} = W_{{hh}}^{{\top}} \delta a_{{{t}}} = {back}",
        ],
    },
    "lstm": {
        "forward": [
            r"f_{{{t}}} = \sigma({a_f}) = {f}",
            r"i_{{{t}}} = \sigma({a_i}) = {i}",
            r"g_{{{t}}} = \tanh({a_g}) = {g}",
            r"o_{{{t}}} = \sigma({a_o}) = {o}",
            r"c_{{{t}}} = f_{{{t}}}\,c_{{{tp}}} + i_{{{t}}}\,g_{{{t}}}",
            r"= {f} \cdot {c_prev} + {i} \cdot {g}",
            r"= {c}",
            r"h_{{{t}}} = o_{{{t}}} \tanh(c_{{{t}}}) = {o} \cdot {tanh_c} = {h}",
        ],
        "backward": [
            r"\delta h_{{{t}}} = {dh}",
            r"\delta c_{{{t}}} = \delta h_{{{t}}}\, o_{{{t}}} (1 - \tanh^2 c_{{{t}}})"
            r" + \delta c_{{{tn}}}\, f_{{{tn}}}",
            r"= {dc}",
            r"\delta c_{{{t}}} \odot f_{{{t}}} = {dc} \cdot {f} = {dc_keep}",
            r"\delta h_{{{tp}}} = W_{{hh}}^{{\top}} \delta a_{{{t}}} = {back}",
        ],
    },
    "gru": {
        "forward": [
            r"r_{{{t}}} = \sigma({a_r}) = {r}",
            r"z_{{{t}}} = \sigma({a_z}) = {z}",
            r"n_{{{t}}} = \tanh({a_n}) = {n}",
            r"h_{{{t}}} = (1 - z_{{{t}}})\, n_{{{t}}} + z_{{{t}}}\, h_{{{tp}}}",
            r"= {one_minus_z} \cdot {n} + {z} \cdot {h_prev}",
            r"= {h}",
        ],
        "backward": [
            r"\delta h_{{{t}}} = {dh}",
            r"\delta h_{{{t}}} \odot z_{{{t}}} = {dh} \cdot {z} = {direct}",
            r"\text{{through the gates}} = {through}",
        ],
    },
    "mingru": {
        "forward": [
            r"z_{{{t}}} = \sigma({a_z}) = {z}",
            r"\tilde h_{{{t}}} = W_{{h}} x_{{{t}}} + b_{{h}} = {htilde}",
            r"h_{{{t}}} = (1 - z_{{{t}}})\, h_{{{tp}}} + z_{{{t}}}\, \tilde h_{{{t}}}",
            r"= {one_minus_z} \cdot {h_prev} + {z} \cdot {htilde}",
            r"= {h}",
        ],
        "backward": [
            r"\delta h_{{{t}}} = {dh}",
            r"\delta h_{{{t}}} \odot (1 - z_{{{t}}}) = {dh} \cdot {one_minus_z} = {direct}",
        ],
    },
}

STYLE = {
    "rnn": ("RNN", "#D55E00", "dash"),
    "lstm": ("LSTM", "#0072B2", "solid"),
    "gru": ("GRU (PyTorch)", "#009E73", "dot"),
    "mingru": ("minGRU-like", "#CC79A7", "dashdot"),
}


def _round(values) -> list:
    """Numbers to SIG significant digits; NaN and ±inf as the strings "NaN", "Infinity", "-Infinity"."""
    out = []
    for v in np.asarray(values, dtype=np.float64).tolist():
        if math.isnan(v):
            out.append("NaN")
        elif math.isinf(v):
            out.append("Infinity" if v > 0 else "-Infinity")
        else:
            out.append(float(f"{v:.{SIG}g}"))
    return out


def _log10(norms) -> list:
    """log10 of non-negative norms, rounded to 4 decimals; None where the norm is 0 or not finite."""
    out = []
    for v in np.asarray(norms, dtype=np.float64).tolist():
        out.append(round(math.log10(v), 4) if math.isfinite(v) and v > 0 else None)
    return out


def _norm(rows) -> np.ndarray:
    """Row norms without underflow: sqrt(sum x^2) of tiny rows is computed on rows scaled by their max."""
    rows = np.asarray(rows, dtype=np.float64)
    scale = np.max(np.abs(rows), axis=1)
    safe = np.where(scale > 0, scale, 1.0)
    return scale * np.linalg.norm(rows / safe[:, None], axis=1)


def _forward_list(values) -> list:
    """Node values: None where not finite (the contract's forward rule)."""
    return [v if isinstance(v, float) else None for v in _round(values)]


def _trace(kind: str, x, hidden: int, seed: int):
    """Run one cell over x (T,) in float64 and backpropagate sum(h_last); everything as numpy (T, H)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    H = hidden

    def rand(*shape, scale=1.0):
        return torch.randn(*shape, generator=gen, dtype=torch.float64) * scale

    def orth(scale):
        q, _ = torch.linalg.qr(rand(H, H))
        return q * scale

    xs = torch.as_tensor(x, dtype=torch.float64)
    T = len(xs)
    rec: dict[str, list] = {}

    def keep(name, tensor, grad=False):
        if grad:
            tensor.retain_grad()
        rec.setdefault(name, []).append(tensor)

    # Leaves, so that what step 0 sends back to the (zero) initial state has a gradient too.
    h = torch.zeros(H, dtype=torch.float64, requires_grad=True)
    c = torch.zeros(H, dtype=torch.float64, requires_grad=True)
    if kind == "rnn":
        w_ih, b, w_hh = rand(H, scale=1.0), rand(H, scale=0.1), orth(0.7)
        for t in range(T):
            keep("h_prev", h)
            a = w_ih * xs[t] + b + w_hh @ h
            keep("a", a, grad=True)
            h = torch.tanh(a)
            keep("h", h, grad=True)
        params = {"w_hh": w_hh}
    elif kind == "lstm":
        w_ih, b, w_hh = rand(4 * H, scale=1.0), rand(4 * H, scale=0.1), orth(0.9).repeat(4, 1) * 0.6
        b[H : 2 * H] += 2.5  # forget bias: the highway stays open
        for t in range(T):
            keep("h_prev", h)
            keep("c_prev", c)
            a = w_ih * xs[t] + b + w_hh @ h
            keep("a", a, grad=True)
            a_i, a_f, a_g, a_o = a.split(H)
            i, f, g, o = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)
            c = f * c + i * g
            keep("c", c, grad=True)
            tanh_c = torch.tanh(c)
            h = o * tanh_c
            keep("h", h, grad=True)
            for name, value in (("a_i", a_i), ("a_f", a_f), ("a_g", a_g), ("a_o", a_o)):
                keep(name, value)
            for name, value in (("i", i), ("f", f), ("g", g), ("o", o), ("tanh_c", tanh_c)):
                keep(name, value)
        params = {"w_hh": w_hh}
    elif kind == "gru":
        w_ih, b_ih, w_hh, b_hh = (
            rand(3 * H),
            rand(3 * H, scale=0.1),
            orth(0.9).repeat(3, 1),
            rand(3 * H, scale=0.1),
        )
        b_ih[H : 2 * H] += 2.0  # z near 1: PyTorch's GRU keeps the old state
        for t in range(T):
            keep("h_prev", h)
            gi = w_ih * xs[t] + b_ih
            gh = w_hh @ h + b_hh
            a_r = gi[:H] + gh[:H]
            a_z = gi[H : 2 * H] + gh[H : 2 * H]
            r, z = torch.sigmoid(a_r), torch.sigmoid(a_z)
            a_n = gi[2 * H :] + r * gh[2 * H :]
            n = torch.tanh(a_n)
            h = (1 - z) * n + z * h
            keep("h", h, grad=True)
            for name, value in (("a_r", a_r), ("a_z", a_z), ("a_n", a_n), ("r", r), ("z", z), ("n", n)):
                keep(name, value)
        params = {}
    elif kind == "mingru":
        w_z, b_z, w_h, b_h = rand(H), rand(H, scale=0.1) - 2.0, rand(H), rand(H, scale=0.1)
        for t in range(T):
            keep("h_prev", h)
            a_z = w_z * xs[t] + b_z
            z = torch.sigmoid(a_z)
            htilde = w_h * xs[t] + b_h
            h = (1 - z) * h + z * htilde
            keep("h", h, grad=True)
            for name, value in (("a_z", a_z), ("z", z), ("htilde", htilde)):
                keep(name, value)
        params = {}
    else:
        raise ValueError(kind)
    return rec, params, h


def cell_payload(kind: str, x, *, hidden=8, seed=0, unit=0, reverse=False, key=None, layer_label="layer 0"):
    """One cell's entry of the payload; ``unit=None`` ships means over units."""
    import torch

    T = len(x)
    xs = np.asarray(x, dtype=np.float64)
    if reverse:
        xs = xs[::-1].copy()
    xs_t = torch.as_tensor(xs, dtype=torch.float64).requires_grad_(False)
    with torch.enable_grad():
        rec, params, h_last = _trace(kind, xs_t, hidden, seed)
        h_last.sum().backward()

    def arr(name):
        return torch.stack([v.detach() for v in rec[name]]).numpy()

    def grad(name):
        return torch.stack([v.grad for v in rec[name]]).detach().numpy()

    def pick(values):  # (T, H) -> (T,)
        return values[:, unit] if unit is not None else values.mean(axis=1)

    H = hidden
    h, dh = arr("h"), grad("h")
    fwd: dict[str, np.ndarray] = {"x": xs}
    slots: dict[str, np.ndarray] = {}
    paths: dict[str, np.ndarray] = {}  # per path: (T, H) what step t sends back to its previous step
    norms = {"h": _norm(dh)}
    grads = {"h": pick(dh)}
    h_prev = arr("h_prev")
    if kind == "rnn":
        a, da = arr("a"), grad("a")
        back = da @ params["w_hh"].detach().numpy()  # W_hh^T da, row-wise
        fwd.update(h_prev=pick(h_prev), a=pick(a), act=pick(h), h=pick(h))
        slots.update(
            a=pick(a), h=pick(h), one_minus_h2=pick(1 - h**2), dh=pick(dh), da=pick(da), back=pick(back)
        )
        paths["recurrent"] = back
    elif kind == "lstm":
        c, dc, c_prev = arr("c"), grad("c"), arr("c_prev")
        f, i, g, o, tanh_c = (arr(k) for k in ("f", "i", "g", "o", "tanh_c"))
        da = grad("a")
        back = da @ params["w_hh"].detach().numpy()
        keep_ = dc * f
        fwd.update(
            c_prev=pick(c_prev),
            keep=pick(f * c_prev),
            add=pick(c),
            c=pick(c),
            h_prev=pick(h_prev),
            concat=np.full(T, np.nan),
            f=pick(f),
            i=pick(i),
            g=pick(g),
            write=pick(i * g),
            o=pick(o),
            tanh_c=pick(tanh_c),
            out=pick(h),
            h=pick(h),
        )
        slots.update({k: pick(arr(k)) for k in ("a_f", "a_i", "a_g", "a_o")})
        slots.update(
            f=pick(f),
            i=pick(i),
            g=pick(g),
            o=pick(o),
            c_prev=pick(c_prev),
            c=pick(c),
            tanh_c=pick(tanh_c),
            h=pick(h),
            dh=pick(dh),
            dc=pick(dc),
            dc_keep=pick(keep_),
            back=pick(back),
        )
        paths["highway"] = keep_
        paths["gates"] = back
        norms["c"] = _norm(dc)
        grads["c"] = pick(dc)
    elif kind == "gru":
        r, z, n = arr("r"), arr("z"), arr("n")
        # What step t sends to h_{t-1}: dh_{t-1} = (dh_t/dh_{t-1})^T dh_t (the loss sits at the last
        # step only), split into the direct share dh_t * z_t and the rest, through r, z and n.
        total_back = grad("h_prev")
        direct = dh * z
        through = total_back - direct
        fwd.update(
            h_prev=pick(h_prev),
            keep=pick(z * h_prev),
            add=pick(h),
            h=pick(h),
            h_in=pick(h_prev),
            concat=np.full(T, np.nan),
            z=pick(z),
            r=pick(r),
            n=pick(n),
            write=pick((1 - z) * n),
        )
        slots.update({k: pick(arr(k)) for k in ("a_r", "a_z", "a_n")})
        slots.update(
            r=pick(r),
            z=pick(z),
            n=pick(n),
            one_minus_z=pick(1 - z),
            h_prev=pick(h_prev),
            h=pick(h),
            dh=pick(dh),
            direct=pick(direct),
            through=pick(through),
        )
        paths["direct"] = direct
        paths["gates"] = through
    elif kind == "mingru":
        z, htilde = arr("z"), arr("htilde")
        direct = dh * (1 - z)
        fwd.update(
            h_prev=pick(h_prev),
            keep=pick((1 - z) * h_prev),
            add=pick(h),
            h=pick(h),
            z=pick(z),
            htilde=pick(htilde),
            write=pick(z * htilde),
        )
        slots.update(
            a_z=pick(arr("a_z")),
            z=pick(z),
            one_minus_z=pick(1 - z),
            htilde=pick(htilde),
            h_prev=pick(h_prev),
            h=pick(h),
            dh=pick(dh),
            direct=pick(direct),
        )
        paths["direct"] = direct

    if reverse:  # back to sequence order
        fwd = {k: v[::-1] for k, v in fwd.items()}
        slots = {k: v[::-1] for k, v in slots.items()}
        paths = {k: v[::-1] for k, v in paths.items()}
        norms = {k: v[::-1] for k, v in norms.items()}
        grads = {k: v[::-1] for k, v in grads.items()}

    label, colour, dash = STYLE[kind]
    direction = "reverse" if reverse else "forward"
    return {
        "key": key or kind,
        "label": label + (" ←" if reverse else ""),
        "colour": colour,
        "dash": dash,
        "subtitle": f"{layer_label} · {direction} · hidden {H}",
        "reverse": reverse,
        "layout": _layout(kind, reverse),
        "forward": {k: _forward_list(v) for k, v in fwd.items()},
        "backward": {
            "grad": {k: _round(v) for k, v in grads.items()},
            "log10_norm": {k: _log10(v) for k, v in norms.items()},
            "paths": [
                {"key": pk, "label": pl, "latex": px, "log10": _log10(_norm(paths[pk]))}
                for pk, pl, px in PATHS[kind]
            ],
        },
        "equations": {
            "forward": list(EQUATIONS[kind]["forward"]),
            "backward": list(EQUATIONS[kind]["backward"]),
            "slots": {k: _round(v) for k, v in slots.items()},
        },
    }


def _layout(kind: str, reverse: bool) -> dict:
    """The cell's layout; a reverse direction's previous processed step is t+1."""
    layout = json.loads(json.dumps(LAYOUTS[kind]))
    if reverse:
        for node in layout["nodes"]:
            if node["sub"] == "t−1":
                node["sub"] = "t+1"
    return layout


def sample_input(T: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(T)
    return np.sin(0.35 * t) * 0.8 + rng.normal(0.0, 0.4, T)


def payload(T: int, kinds=("rnn", "lstm", "gru", "mingru"), *, unit=0, hidden=8, seed=0, extra_reverse=False):
    x = sample_input(T, seed)
    cells = [cell_payload(k, x, hidden=hidden, seed=seed + j, unit=unit) for j, k in enumerate(kinds)]
    if extra_reverse:
        cells.append(
            cell_payload("lstm", x, hidden=hidden, seed=seed + 7, unit=unit, reverse=True, key="lstm_rev")
        )
    return {
        "version": 1,
        "T": T,
        "times": list(range(T)),
        "note": "",
        "step": T - 1,
        "step_token": 0,
        "unit_label": "unit 0" if unit is not None else f"mean over {hidden} units",
        "play_ms": 350,
        "factor_slots": list(FACTOR_SLOTS),
        "cells": cells,
    }


def _inject_nonfinite(p: dict) -> None:
    """Exercise the formatter: NaN, ±inf and a 1e-200 in the minGRU-like cell of the T = 40 sample."""
    cell = next(c for c in p["cells"] if c["key"] == "mingru")
    cell["forward"]["htilde"][20] = None
    cell["forward"]["write"][20] = None
    slots = cell["equations"]["slots"]
    slots["htilde"][20] = "NaN"
    slots["h"][21] = "Infinity"
    slots["h_prev"][22] = "-Infinity"
    slots["dh"][5] = 1.23456e-200
    slots["direct"][5] = float(f"{1.23456e-200 * slots['one_minus_z'][5]:.{SIG}g}")
    cell["backward"]["grad"]["h"][5] = 1.23456e-200
    cell["backward"]["log10_norm"]["h"][5] = -199.5
    cell["backward"]["paths"][0]["log10"][21] = None
    p["note"] = "sample data; the minGRU-like cell's t = 5 and 20–22 carry hand-set 1e-200, NaN and ±∞"


def main() -> None:
    out = Path(__file__).resolve().parent / "fixtures"
    out.mkdir(parents=True, exist_ok=True)
    small = payload(40)
    small["step"] = 39
    _inject_nonfinite(small)
    large = payload(2000, unit=None, extra_reverse=True)
    large["step"] = 1999
    for name, p in (("stepper_t40.json", small), ("stepper_t2000.json", large)):
        text = json.dumps(p, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        (out / name).write_text(text + "\n", encoding="utf-8")
        print(f"{name}: {len(text.encode()):,} bytes")


if __name__ == "__main__":
    main()
