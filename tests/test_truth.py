"""Truth on screen (issue 7): every equation, name and number the app shows is the one the code computes.

1. Every line the app shows (forward equations, the BPTT recursions of :func:`lstmviz.equations.bptt`,
   the backward paths of the cell diagram, the carry path's name) is written out again here, as
   expected LaTeX, next to a function implementing exactly that line. The test asserts the screen
   shows exactly these lines, then evaluates both sides of each with a float64 trace's arrays and
   compares them with autograd through an independent torch implementation
   (:func:`truth_support.torch_reference`). A change to a line, or to the code, without the other
   fails here.
2. The substituted equations (:func:`lstmviz.steps.substituted`, :func:`~lstmviz.steps.substituted_backward`)
   are read back: every number must be the trace's own value (4 significant digits) and every chain
   of numbers ``= a + b = c`` must be true to the precision shown.
3. Log-scale charts never draw a float-format artefact (subnormal or underflow zero) and say in words
   how many values they leave out.

Interventions (:class:`lstmviz.Clamp`): a clamped value is a constant, so it passes no gradient to
what computed it (the rule stated in :mod:`lstmviz.interventions`). The evaluators below apply that
rule with ``keep`` masks (0 where clamped); without clamps every mask is 1.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from truth_support import (
    clamped_at,
    expected_line,
    false_arithmetic,
    keep_masks,
    read_numbers,
    rollout,
    shown_matches,
    torch_reference,
)

import lstmviz
from lstmviz import equations, plots, steps
from lstmviz.cells import REGISTRY, cell_for

T, INPUTS, HIDDEN, PROJ = 6, 3, 4, 2

VARIANTS = {
    "rnn": {"cell": "rnn"},
    "rnn-relu": {"cell": "rnn", "nonlinearity": "relu"},
    "lstm": {"cell": "lstm"},
    "lstm-proj": {"cell": "lstm", "proj_size": PROJ},
    "gru": {"cell": "gru"},
    "gru-tutorial": {"cell": "gru", "gru_variant": "tutorial"},
    "mingru": {"cell": "mingru"},
    "minlstm": {"cell": "minlstm"},
}


def test_the_variants_cover_every_registered_cell_and_option():
    for name, kind in REGISTRY.items():
        chosen = [v for v in VARIANTS.values() if v["cell"] == name]
        assert {v.get("nonlinearity", "tanh") for v in chosen} == set(kind.nonlinearities)
        assert {v.get("gru_variant", "pytorch") for v in chosen} == set(kind.variants)
        assert {bool(v.get("proj_size")) for v in chosen} == ({False, True} if kind.projection else {False})


def build(variant: str, layers: int = 1, bidirectional: bool = False, bias: bool = True, seed: int = 0):
    options = {k: v for k, v in VARIANTS[variant].items() if k != "cell"}
    scale = 1.3 if variant == "rnn-relu" else 1.0  # some live units, some dead ones
    settings = lstmviz.ModelSettings(
        hidden_size=HIDDEN,
        num_layers=layers,
        bidirectional=bidirectional,
        bias=bias,
        seed=seed,
        recurrent_scale=scale,
        **options,
    )
    return settings.build(VARIANTS[variant]["cell"], INPUTS)


CLAMP_VALUES = {"h": 0.4, "c": -0.6, "g": 0.3, "n": 0.5, "f'": 0.7, "i'": 0.35}


def clamps_for(model) -> list[lstmviz.Clamp]:
    """One clamp on every quantity the cell has, spread over layers, directions, steps and units."""
    spec, cell = model.spec, cell_for(model.spec)
    names = [*cell.gates, "h", *(["c"] if cell.cell_state else [])]
    out = []
    for k, name in enumerate(names):
        size = spec.output_size if name == "h" else spec.hidden_size
        units = None if k % 3 == 2 else tuple(sorted({k % size, (k + 2) % size}))
        out.append(
            lstmviz.Clamp(
                name,
                CLAMP_VALUES.get(name, 0.8),
                (1 + k % 3, 3 + k % 3),
                units=units,
                layer=k % spec.num_layers,
                direction=(k // spec.num_layers) % spec.directions,
            )
        )
    return out


def sizes_of(model) -> dict[str, int]:
    spec, cell = model.spec, cell_for(model.spec)
    sizes = {g: spec.hidden_size for g in cell.gates} | {"h": spec.output_size}
    return sizes | ({"c": spec.hidden_size} if cell.cell_state else {})


# ---------------------------------------------------------------------------------------------
# One layer and direction in processing order: what the evaluators read


@dataclass
class Arrays:
    """A float64 trace's arrays of one layer and direction, in processing order (t+1 = processed next)."""

    spec: lstmviz.ModelSpec
    W: dict[str, np.ndarray]
    x: np.ndarray
    h: np.ndarray
    h_prev: np.ndarray
    c: np.ndarray | None
    c_prev: np.ndarray | None
    g: dict[str, np.ndarray]  # gates
    a: dict[str, np.ndarray]  # pre-activations
    dh: np.ndarray
    dc: np.ndarray | None
    da: dict[str, np.ndarray]
    direct: np.ndarray
    keep: dict[str, np.ndarray]


def arrays(tr, layer: int, d: int, clamps=()) -> Arrays:
    lt = tr.layers[layer][d]
    flip = (lambda a: None if a is None else a[::-1].copy()) if d else (lambda a: a)
    x = tr.x if layer == 0 else np.concatenate([below.h for below in tr.layers[layer - 1]], axis=1)
    h = flip(lt.h)
    c = flip(lt.c)
    keep = {k: flip(v) for k, v in keep_masks(clamps, layer, d, tr.steps, sizes_of(tr.model)).items()}
    return Arrays(
        spec=tr.spec,
        W=tr.model.params(layer, d),
        x=flip(x),
        h=h,
        h_prev=np.vstack([lt.h0[None], h[:-1]]),
        c=c,
        c_prev=None if c is None else np.vstack([lt.c0[None], c[:-1]]),
        g={k: flip(v) for k, v in lt.gates.items()},
        a={k: flip(v) for k, v in lt.preactivations.items()},
        dh=flip(lt.grad_h),
        dc=flip(lt.grad_c),
        da={k: flip(v) for k, v in lt.grad_preactivations.items()},
        direct=flip(lt.grad_h_direct),
        keep=keep,
    )


def nxt(a: np.ndarray) -> np.ndarray:
    """a_{t+1} at every t (0 after the last processed step: nothing comes back from there)."""
    return np.vstack([a[1:], np.zeros_like(a[:1])])


def sig_slope(s):
    return s * (1 - s)


def rows(A: Arrays, letters) -> np.ndarray:
    return np.concatenate([A.da[k] for k in letters], axis=1)


def block(w: np.ndarray, k: int, count: int) -> np.ndarray:
    return np.split(w, count, axis=0)[k]


# ---------------------------------------------------------------------------------------------
# 1. The lines the app shows, and what each one computes

# --- forward equations ---


def affine_latex(r: str, bias: bool, recurrent: bool = True) -> str:
    parts = [f"W_{{i{r}}} x_t"] + ([f"b_{{i{r}}}"] if bias else [])
    if recurrent:
        parts += [f"W_{{h{r}}} h_{{t-1}}"] + ([f"b_{{h{r}}}"] if bias else [])
    return " + ".join(parts)


def forward_latex(spec) -> list[str]:
    b = spec.bias
    if spec.cell == "rnn":
        phi = r"\operatorname{relu}" if spec.nonlinearity == "relu" else r"\tanh"
        return [rf"h_t = {phi}({affine_latex('h', b)})"]
    if spec.cell == "lstm":
        return [
            rf"i_t = \sigma({affine_latex('i', b)})",
            rf"f_t = \sigma({affine_latex('f', b)})",
            rf"g_t = \tanh({affine_latex('g', b)}) \quad (g_t = \tilde{{C}}_t)",
            rf"o_t = \sigma({affine_latex('o', b)})",
            r"c_t = f_t \odot c_{t-1} + i_t \odot g_t",
            r"h_t = W_{hr}\,(o_t \odot \tanh(c_t))" if spec.proj_size else r"h_t = o_t \odot \tanh(c_t)",
        ]
    if spec.cell == "gru":
        b_in, b_hn = (" + b_{in}", " + b_{hn}") if b else ("", "")
        gates = [rf"r_t = \sigma({affine_latex('r', b)})", rf"z_t = \sigma({affine_latex('z', b)})"]
        if spec.gru_variant == "tutorial":
            return gates + [
                rf"\tilde{{h}}_t = \tanh(W_{{in}} x_t{b_in} + W_{{hn}} (r_t \odot h_{{t-1}}){b_hn})",
                r"h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde{h}_t",
            ]
        return gates + [
            rf"n_t = \tanh(W_{{in}} x_t{b_in} + r_t \odot (W_{{hn}} h_{{t-1}}{b_hn}))",
            r"h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}",
        ]
    cand = r"\tilde{h}_t = W_{i\tilde{h}} x_t" + (r" + b_{i\tilde{h}}" if b else "")
    if spec.cell == "mingru":
        return [
            rf"z_t = \sigma({affine_latex('z', b, False)})",
            cand,
            r"h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde{h}_t",
        ]
    return [
        rf"f_t = \sigma({affine_latex('f', b, False)})",
        rf"i_t = \sigma({affine_latex('i', b, False)})",
        r"f'_t = \frac{f_t}{f_t + i_t}, \quad i'_t = \frac{i_t}{f_t + i_t}",
        cand,
        r"h_t = f'_t \odot h_{t-1} + i'_t \odot \tilde{h}_t",
    ]


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def pre(A: Arrays, k: int, count: int, recurrent: bool = True) -> np.ndarray:
    """W_i? x_t + b_i? (+ W_h? h_{t-1} + b_h?) of row block k, from the weights."""
    W = A.W
    out = A.x @ block(W["weight_ih"], k, count).T
    if "bias_ih" in W:
        out = out + np.split(W["bias_ih"], count)[k]
    if recurrent:
        out = out + A.h_prev @ block(W["weight_hh"], k, count).T
        if "bias_hh" in W:
            out = out + np.split(W["bias_hh"], count)[k]
    return out


def forward_rnn(A):
    a = pre(A, 0, 1)
    return [[("h", np.maximum(a, 0) if A.spec.nonlinearity == "relu" else np.tanh(a))]]


def forward_lstm(A):
    i, f, g, o = (sigmoid(pre(A, 0, 4)), sigmoid(pre(A, 1, 4)), np.tanh(pre(A, 2, 4)), sigmoid(pre(A, 3, 4)))
    m = A.g["o"] * np.tanh(A.c)
    return [
        [("g:i", i)],
        [("g:f", f)],
        [("g:g", g)],
        [("g:o", o)],
        [("c", A.g["f"] * A.c_prev + A.g["i"] * A.g["g"])],
        [("h", m @ A.W["weight_hr"].T if A.spec.proj_size else m)],
    ]


def forward_gru(A):
    r, z = sigmoid(pre(A, 0, 3)), sigmoid(pre(A, 1, 3))
    w_hn = block(A.W["weight_hh"], 2, 3)
    b_hn = np.split(A.W["bias_hh"], 3)[2] if "bias_hh" in A.W else 0.0
    r_used, z_used, n_used = A.g["r"], A.g["z"], A.g["n"]
    if A.spec.gru_variant == "tutorial":
        n = np.tanh(pre(A, 2, 3, False) + (r_used * A.h_prev) @ w_hn.T + b_hn)
        h = (1 - z_used) * A.h_prev + z_used * n_used
    else:
        n = np.tanh(pre(A, 2, 3, False) + r_used * (A.h_prev @ w_hn.T + b_hn))
        h = (1 - z_used) * n_used + z_used * A.h_prev
    return [[("g:r", r)], [("g:z", z)], [("g:n", n)], [("h", h)]]


def forward_mingru(A):
    z, n = sigmoid(pre(A, 0, 2, False)), pre(A, 1, 2, False)
    return [[("g:z", z)], [("g:n", n)], [("h", (1 - A.g["z"]) * A.h_prev + A.g["z"] * A.g["n"])]]


def forward_minlstm(A):
    f, i, n = sigmoid(pre(A, 0, 3, False)), sigmoid(pre(A, 1, 3, False)), pre(A, 2, 3, False)
    fu, iu = A.g["f"], A.g["i"]
    return [
        [("g:f", f)],
        [("g:i", i)],
        [("g:f'", fu / (fu + iu)), ("g:i'", iu / (fu + iu))],
        [("g:n", n)],
        [("h", A.g["f'"] * A.h_prev + A.g["i'"] * A.g["n"])],
    ]


FORWARD = {
    "rnn": forward_rnn,
    "lstm": forward_lstm,
    "gru": forward_gru,
    "mingru": forward_mingru,
    "minlstm": forward_minlstm,
}


# --- backward (BPTT) recursions ---


def input_gradient_latex(spec, delta: str) -> str:
    both = r"\sum_{\text{both directions}} " if spec.bidirectional else ""
    return rf"\frac{{\partial L}}{{\partial x_t}} = {both}W_{{ih}}^{{\top}}\, {delta}"


def bptt_latex(spec, n: str, p: str) -> list[str]:
    """The BPTT lines, for the step processed next ``n`` and before ``p`` (t+1, t-1 forward)."""
    head = r"\delta h_t = \frac{\partial \ell_t}{\partial h_t}"
    if spec.cell == "rnn":
        slope = r"\mathbb{1}[a_t > 0]" if spec.nonlinearity == "relu" else r"1 - h_t^2"
        end, span, power = (
            ("T", r"\prod_{k=t+1}^{T}", "T-t") if n == "t+1" else ("0", r"\prod_{k=0}^{t-1}", "t")
        )
        return [
            head + rf" + W_{{hh}}^{{\top}}\, \delta a_{{{n}}}",
            rf"\delta a_t = \delta h_t \odot \phi'(a_t), \quad \phi'(a_t) = {slope}",
            rf"\frac{{\partial h_{{{n}}}}}{{\partial h_t}}"
            rf" = \operatorname{{diag}}(\phi'(a_{{{n}}}))\, W_{{hh}}",
            rf"\Big\|\frac{{\partial h_{end}}}{{\partial h_t}}\Big\| \le {span}"
            rf" \|\operatorname{{diag}}(\phi'(a_k))\|\,\|W_{{hh}}\|"
            rf" \le (\gamma\, \sigma_{{\max}}(W_{{hh}}))^{{{power}}},"
            r" \quad \gamma = 1",
            input_gradient_latex(spec, r"\delta a_t"),
        ]
    if spec.cell == "lstm":
        dm = r"(W_{hr}^{\top} \delta h_t)" if spec.proj_size else r"\delta h_t"
        return [
            head + rf" + W_{{hh}}^{{\top}}\, \delta a_{{{n}}}",
            rf"\delta c_t = {dm} \odot o_t \odot (1 - \tanh^2 c_t) + \delta c_{{{n}}} \odot f_{{{n}}}",
            r"\delta a^i_t = \delta c_t \odot g_t \odot i_t (1 - i_t)",
            rf"\delta a^f_t = \delta c_t \odot c_{{{p}}} \odot f_t (1 - f_t)",
            r"\delta a^g_t = \delta c_t \odot i_t \odot (1 - g_t^2)",
            rf"\delta a^o_t = {dm} \odot \tanh(c_t) \odot o_t (1 - o_t)",
            input_gradient_latex(spec, r"\delta a_t")
            + r", \quad \delta a_t = [\delta a^i_t; \delta a^f_t; \delta a^g_t; \delta a^o_t]",
        ]
    if spec.cell == "gru" and spec.gru_variant == "tutorial":
        return [
            head + rf" + \delta h_{{{n}}} \odot (1 - z_{{{n}}})"
            rf" + r_{{{n}}} \odot (W_{{hn}}^{{\top}} \delta a^n_{{{n}}})"
            rf" + W_{{hr}}^{{\top}} \delta a^r_{{{n}}} + W_{{hz}}^{{\top}} \delta a^z_{{{n}}}",
            r"\delta a^n_t = \delta h_t \odot z_t \odot (1 - \tilde{h}_t^2)",
            rf"\delta a^z_t = \delta h_t \odot (\tilde{{h}}_t - h_{{{p}}}) \odot z_t (1 - z_t)",
            rf"\delta a^r_t = (W_{{hn}}^{{\top}} \delta a^n_t) \odot h_{{{p}}} \odot r_t (1 - r_t)",
            input_gradient_latex(spec, r"\delta a_t"),
        ]
    if spec.cell == "gru":
        b_hn = " + b_{hn}" if spec.bias else ""
        return [
            head + rf" + \delta h_{{{n}}} \odot z_{{{n}}} + W_{{hr}}^{{\top}} \delta a^r_{{{n}}}"
            rf" + W_{{hz}}^{{\top}} \delta a^z_{{{n}}}"
            rf" + W_{{hn}}^{{\top}} (\delta a^n_{{{n}}} \odot r_{{{n}}})",
            r"\delta a^n_t = \delta h_t \odot (1 - z_t) \odot (1 - n_t^2)",
            rf"\delta a^z_t = \delta h_t \odot (h_{{{p}}} - n_t) \odot z_t (1 - z_t)",
            rf"\delta a^r_t = \delta a^n_t \odot (W_{{hn}} h_{{{p}}}{b_hn}) \odot r_t (1 - r_t)",
            input_gradient_latex(spec, r"\delta a_t"),
        ]
    if spec.cell == "mingru":
        return [
            head + rf" + \delta h_{{{n}}} \odot (1 - z_{{{n}}})",
            rf"\delta a^z_t = \delta h_t \odot (\tilde{{h}}_t - h_{{{p}}}) \odot z_t (1 - z_t),"
            r" \quad \delta \tilde{h}_t = \delta h_t \odot z_t",
            input_gradient_latex(spec, r"[\delta a^z_t; \delta \tilde{h}_t]"),
        ]
    return [
        head + rf" + \delta h_{{{n}}} \odot f'_{{{n}}}",
        rf"\delta f'_t = \delta h_t \odot h_{{{p}}}, \quad \delta i'_t = \delta h_t \odot \tilde{{h}}_t,"
        r" \quad \delta \tilde{h}_t = \delta h_t \odot i'_t",
        r"\delta a^f_t = (\delta f'_t - \delta i'_t) \odot \frac{i_t}{(f_t + i_t)^2} \odot f_t (1 - f_t)",
        r"\delta a^i_t = (\delta i'_t - \delta f'_t) \odot \frac{f_t}{(f_t + i_t)^2} \odot i_t (1 - i_t)",
        input_gradient_latex(spec, r"[\delta a^f_t; \delta a^i_t; \delta \tilde{h}_t]"),
    ]


# Each evaluator returns, per displayed line, the identities it states: (what the left side is, the
# right side evaluated with the trace's arrays). Left sides: "h" = delta h_t, "c" = delta c_t,
# "a:<row>" = delta a of a row, "g:<gate>" = dL/d(gate), "x" = this direction's part of dL/dx_t,
# "jacobian" = d h_t / d h_{t-1} (indexed by the later step), "pascanu" = checked by brute force.


def bptt_rnn(A):
    W = A.W
    slope = (A.a["h"] > 0).astype(float) if A.spec.nonlinearity == "relu" else 1 - A.h**2
    slope = slope * A.keep["h"]  # a clamped h is a constant: no gradient reaches a_t
    return [
        [("h", A.direct + nxt(A.da["h"]) @ W["weight_hh"])],
        [("a:h", A.dh * slope)],
        [("jacobian", slope[:, :, None] * W["weight_hh"][None])],
        [("pascanu", None)],
        [("x", A.da["h"] @ W["weight_ih"])],
    ]


def bptt_lstm(A):
    W, g, k = A.W, A.g, A.keep
    dh = A.dh * k["h"]
    dm = dh @ W["weight_hr"] if A.spec.proj_size else dh
    tanh_c = np.tanh(A.c)
    dc = A.dc * k["c"]  # what a clamped c passes back: nothing
    return [
        [("h", A.direct + nxt(rows(A, "ifgo")) @ W["weight_hh"])],
        [("c", dm * g["o"] * (1 - tanh_c**2) + nxt(A.dc * g["f"] * k["c"]))],
        [("a:i", dc * g["g"] * sig_slope(g["i"]) * k["i"])],
        [("a:f", dc * A.c_prev * sig_slope(g["f"]) * k["f"])],
        [("a:g", dc * g["i"] * (1 - g["g"] ** 2) * k["g"])],
        [("a:o", dm * tanh_c * sig_slope(g["o"]) * k["o"])],
        [("x", rows(A, "ifgo") @ W["weight_ih"])],
    ]


def bptt_gru(A):
    W, g, k = A.W, A.g, A.keep
    w_hr, w_hz, w_hn = (block(W["weight_hh"], j, 3) for j in range(3))
    b_hn = np.split(W["bias_hh"], 3)[2] if "bias_hh" in W else 0.0
    dh = A.dh * k["h"]
    r, z, n, da = g["r"], g["z"], g["n"], A.da
    if A.spec.gru_variant == "tutorial":
        return [
            [
                (
                    "h",
                    A.direct
                    + nxt(dh * (1 - z))
                    + nxt(r * (da["n"] @ w_hn))
                    + nxt(da["r"]) @ w_hr
                    + nxt(da["z"]) @ w_hz,
                )
            ],
            [("a:n", dh * z * (1 - n**2) * k["n"])],
            [("a:z", dh * (n - A.h_prev) * sig_slope(z) * k["z"])],
            [("a:r", (da["n"] @ w_hn) * A.h_prev * sig_slope(r) * k["r"])],
            [("x", rows(A, "rzn") @ W["weight_ih"])],
        ]
    return [
        [("h", A.direct + nxt(dh * z) + nxt(da["r"]) @ w_hr + nxt(da["z"]) @ w_hz + nxt(da["n"] * r) @ w_hn)],
        [("a:n", dh * (1 - z) * (1 - n**2) * k["n"])],
        [("a:z", dh * (A.h_prev - n) * sig_slope(z) * k["z"])],
        [("a:r", da["n"] * (A.h_prev @ w_hn.T + b_hn) * sig_slope(r) * k["r"])],
        [("x", rows(A, "rzn") @ W["weight_ih"])],
    ]


def bptt_mingru(A):
    g, k = A.g, A.keep
    dh = A.dh * k["h"]
    return [
        [("h", A.direct + nxt(dh * (1 - g["z"])))],
        [("a:z", dh * (g["n"] - A.h_prev) * sig_slope(g["z"]) * k["z"]), ("a:n", dh * g["z"] * k["n"])],
        [("x", rows(A, "zn") @ A.W["weight_ih"])],
    ]


def bptt_minlstm(A):
    g, k = A.g, A.keep
    dh = A.dh * k["h"]
    f, i = g["f"], g["i"]
    d_fp, d_ip = dh * A.h_prev, dh * g["n"]
    passed_fp, passed_ip = d_fp * k["f'"], d_ip * k["i'"]  # a clamped f' or i' passes nothing to f, i
    return [
        [("h", A.direct + nxt(dh * g["f'"]))],
        [("g:f'", d_fp), ("g:i'", d_ip), ("a:n", dh * g["i'"] * k["n"])],
        [("a:f", (passed_fp - passed_ip) * i / (f + i) ** 2 * sig_slope(f) * k["f"])],
        [("a:i", (passed_ip - passed_fp) * f / (f + i) ** 2 * sig_slope(i) * k["i"])],
        [("x", rows(A, "fin") @ A.W["weight_ih"])],
    ]


BPTT = {"rnn": bptt_rnn, "lstm": bptt_lstm, "gru": bptt_gru, "mingru": bptt_mingru, "minlstm": bptt_minlstm}


# --- the backward paths of the diagram, and the carry path ---


def paths_latex(spec) -> dict[str, str]:
    gates = r"W_{hh}^{\top} \delta a_{t}"
    if spec.cell == "rnn":
        return {"gates": gates}
    if spec.cell == "lstm":
        return {"highway": r"\delta c_{t} \odot f_{t}", "gates": gates}
    if spec.cell == "gru" and spec.gru_variant == "tutorial":
        return {
            "direct": r"\delta h_{t} \odot (1 - z_{t})",
            "gates": r"r_{t} \odot (W_{hn}^{\top} \delta a^n_{t}) + W_{hr}^{\top} \delta a^r_{t}"
            r" + W_{hz}^{\top} \delta a^z_{t}",
        }
    if spec.cell == "gru":
        return {
            "direct": r"\delta h_{t} \odot z_{t}",
            "gates": r"W_{hr}^{\top} \delta a^r_{t} + W_{hz}^{\top} \delta a^z_{t}"
            r" + W_{hn}^{\top} (\delta a^n_{t} \odot r_{t})",
        }
    if spec.cell == "mingru":
        return {"direct": r"\delta h_{t} \odot (1 - z_{t})"}
    return {"direct": r"\delta h_{t} \odot f'_{t}"}


def paths_values(A) -> dict[str, np.ndarray]:
    """What step t sends back to t-1 along each path, as the path's LaTeX reads."""
    W, g, k, da = A.W, A.g, A.keep, A.da
    dh = A.dh * k["h"]
    if A.spec.cell == "rnn":
        return {"gates": da["h"] @ W["weight_hh"]}
    if A.spec.cell == "lstm":
        return {"highway": A.dc * g["f"] * k["c"], "gates": rows(A, "ifgo") @ W["weight_hh"]}
    if A.spec.cell == "gru":
        w_hr, w_hz, w_hn = (block(W["weight_hh"], j, 3) for j in range(3))
        if A.spec.gru_variant == "tutorial":
            return {
                "direct": dh * (1 - g["z"]),
                "gates": g["r"] * (da["n"] @ w_hn) + da["r"] @ w_hr + da["z"] @ w_hz,
            }
        return {"direct": dh * g["z"], "gates": da["r"] @ w_hr + da["z"] @ w_hz + (da["n"] * g["r"]) @ w_hn}
    if A.spec.cell == "mingru":
        return {"direct": dh * (1 - g["z"])}
    return {"direct": dh * g["f'"]}


CARRY = {  # the carry path's name on the Jacobian chart, and the per-step factor it names
    "lstm": ("∏ f_k: the cell path", lambda A: A.g["f"] * A.keep["c"]),
    "gru": ("∏ z_k: the direct path", lambda A: A.g["z"] * A.keep["h"]),
    "gru-tutorial": ("∏ (1 − z_k): the direct path", lambda A: (1 - A.g["z"]) * A.keep["h"]),
    "mingru": ("∏ (1 − z_k): the direct path", lambda A: (1 - A.g["z"]) * A.keep["h"]),
    "minlstm": ("∏ f′_k: the direct path", lambda A: A.g["f'"] * A.keep["h"]),
}


def carry_key(spec) -> str | None:
    if spec.cell == "rnn":
        return None
    return "gru-tutorial" if spec.cell == "gru" and spec.gru_variant == "tutorial" else spec.cell


# ---------------------------------------------------------------------------------------------
# The configurations


@dataclass(frozen=True)
class Config:
    variant: str
    layers: int
    bidirectional: bool
    loss: str
    clamped: bool
    bias: bool = True

    def __str__(self) -> str:
        parts = [self.variant, f"{self.layers}layer", "bidir" if self.bidirectional else "uni", self.loss]
        return "-".join(parts + (["clamped"] if self.clamped else []) + ([] if self.bias else ["nobias"]))


CONFIGS = [
    Config(v, layers, bi, loss, clamped)
    for v, layers, bi, loss, clamped in itertools.product(
        VARIANTS, (1, 2), (False, True), ("last", "all"), (False, True)
    )
]
CONFIGS += [Config(v, 1, False, "all", False, bias=False) for v in VARIANTS]


def traced(cfg: Config, seed: int = 0):
    model = build(cfg.variant, cfg.layers, cfg.bidirectional, cfg.bias, seed=seed)
    rng = np.random.default_rng(seed + 11)
    x = rng.normal(size=(T, INPUTS))
    count = cfg.layers * (2 if cfg.bidirectional else 1)
    h0 = rng.normal(scale=0.5, size=(count, model.spec.output_size))
    c0 = rng.normal(size=(count, model.spec.hidden_size)) if cell_for(model.spec).cell_state else None
    clamps = clamps_for(model) if cfg.clamped else []
    tr = lstmviz.trace(model, x, cfg.loss, h0=h0, c0=c0, dtype="float64", interventions=clamps)
    return model, x, h0, c0, clamps, tr


def lhs_from_trace(tr, layer: int, d: int, key: str, flip) -> np.ndarray | None:
    lt = tr.layers[layer][d]
    if key == "h":
        return flip(lt.grad_h)
    if key == "c":
        return flip(lt.grad_c)
    if key.startswith("a:"):
        return flip(lt.grad_preactivations[key[2:]])
    return None


def lhs_from_autograd(ref, key: str, flip) -> np.ndarray:
    if key.startswith("g:") or key.startswith("a:") or key in ("h", "c"):
        return flip(ref.grad[key])
    raise AssertionError(key)


def close(actual, expected, what: str, rtol: float = 1e-9, atol: float = 1e-12) -> None:
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


@pytest.mark.parametrize("cfg", CONFIGS, ids=str)
def test_every_displayed_bptt_line_holds_against_autograd(cfg):
    model, x, h0, c0, clamps, tr = traced(cfg)
    spec = model.spec
    ref = torch_reference(model, x, cfg.loss, h0, c0, clamps)
    for d in range(spec.directions):
        shown = equations.bptt(spec, d)
        assert shown == bptt_latex(spec, *(("t-1", "t+1") if d else ("t+1", "t-1"))), f"direction {d}"
    assert equations.equations(spec) == forward_latex(spec)
    assert {p.key: p.latex for p in tr.cell.paths} == paths_latex(spec)

    for layer in range(spec.num_layers):
        grad_x_parts = []
        for d in range(spec.directions):
            flip = (lambda a: a[::-1]) if d else (lambda a: a)
            A = arrays(tr, layer, d, clamps)
            r = ref[layer][d]
            where = f"layer {layer} direction {d}"
            free = {k: v > 0 for k, v in A.keep.items()}

            for number, line in enumerate(FORWARD[spec.cell](A)):
                for key, rhs in line:
                    name = key[2:] if key.startswith("g:") else key
                    lhs = A.g[name] if key.startswith("g:") else getattr(A, key)
                    mask = free[name]  # a clamped value is the clamp's, not the equation's
                    close(lhs[mask], rhs[mask], f"forward line {number} ({key}), {where}")
                    close(
                        flip(r.values[key])[mask],
                        rhs[mask],
                        f"forward line {number} ({key}) against torch, {where}",
                    )

            for number, line in enumerate(BPTT[spec.cell](A)):
                for key, rhs in line:
                    what = f"BPTT line {number} ({key}), {where}: {bptt_latex(spec, 't+1', 't-1')[number]}"
                    if key == "x":
                        grad_x_parts.append(flip(rhs))
                    elif key == "jacobian":
                        check_step_jacobians(spec, A, r, clamps, layer, d, rhs, what)
                    elif key == "pascanu":
                        check_pascanu(tr, spec, A, r, clamps, layer, d, what)
                    else:
                        trace_side = lhs_from_trace(tr, layer, d, key, flip)
                        truth = lhs_from_autograd(r, key, flip)
                        if trace_side is not None:
                            close(trace_side, truth, "the trace against autograd: " + what)
                        close(rhs, truth, "the displayed right-hand side against autograd: " + what)

            flows = lstmviz.backward_flows(tr, layer, d)
            expected_flows = paths_values(A)
            assert set(flows) == set(expected_flows)
            for key, value in expected_flows.items():
                close(flip(flows[key]), value, f"backward path {key!r}, {where}")
            # What reaches step t-1 from step t is the sum of the paths drawn into it.
            into_h = sum(v for k, v in expected_flows.items() if k != "highway")
            close(A.dh[:-1] - A.direct[:-1], into_h[1:], f"delta h_(t-1) - dl/dh_(t-1) = the paths, {where}")
            if spec.cell == "lstm":
                dh = A.dh * A.keep["h"]
                dm = dh @ A.W["weight_hr"] if spec.proj_size else dh
                own = dm * A.g["o"] * (1 - np.tanh(A.c) ** 2)
                close(
                    A.dc[:-1] - own[:-1], expected_flows["highway"][1:], f"delta c_(t-1) - own part, {where}"
                )

        total = sum(grad_x_parts)
        expected = (
            tr.grad_x
            if layer == 0
            else np.concatenate([lt.grad_h_direct for lt in tr.layers[layer - 1]], axis=1)
        )
        close(total, expected, f"dL/dx_t of layer {layer} against the trace")
        close(total, ref[layer][0].grad["x"], f"dL/dx_t of layer {layer} against autograd")


def jacobian(fn, state: np.ndarray) -> np.ndarray:
    return torch.func.jacrev(fn)(torch.from_numpy(state.copy())).numpy()


def check_step_jacobians(spec, A, r, clamps, layer, d, rhs, what) -> None:
    """d h_t/d h_{t-1} = diag(phi'(a_t)) W_hh, against autograd, at every step after the first."""
    for k in range(1, len(A.h)):
        fn = rollout(spec, r.params, r.inputs, clamps, layer, d, k - 1, k)
        close(rhs[k], jacobian(fn, A.h[k - 1]), what + f" at processing index {k}")


def check_pascanu(tr, spec, A, r, clamps, layer, d, what) -> None:
    """||d h_T/d h_t|| <= prod ||diag(phi')|| ||W_hh|| <= (gamma sigma_max)^(T-t): brute force, and the
    chart's numbers (to_last, pascanu_bound) are those."""
    norms = lstmviz.jacobian_norms(tr)[layer][d]
    flip = (lambda a: a[::-1]) if d else (lambda a: a)
    to_last, bound = flip(norms.to_last), flip(norms.pascanu_bound)
    w_hh = A.W["weight_hh"]
    sigma = np.linalg.norm(w_hh, 2)
    slope = (A.a["h"] > 0).astype(float) if spec.nonlinearity == "relu" else 1 - A.h**2
    slope = slope * A.keep["h"]
    last = len(A.h) - 1
    for k in range(last + 1):
        brute = (
            1.0
            if k == last
            else np.linalg.norm(
                jacobian(rollout(spec, r.params, r.inputs, clamps, layer, d, k, last), A.h[k]), 2
            )
        )
        middle = np.prod([np.abs(slope[j]).max() * sigma for j in range(k + 1, last + 1)])
        assert brute <= middle * (1 + 1e-9) + 1e-300, what
        assert middle <= sigma ** (last - k) * (1 + 1e-9) + 1e-300, what
        close(bound[k], sigma ** (last - k), what + " (the bound drawn)")
        close(to_last[k], brute, what + " (the norm drawn)", rtol=1e-8, atol=1e-14)


@pytest.mark.parametrize(
    "cfg",
    [c for c in CONFIGS if c.loss == "last" and c.bias and c.variant not in ("rnn", "rnn-relu")],
    ids=str,
)
def test_carry_path_is_the_named_product_and_the_direct_path_of_autograd(cfg):
    model, x, h0, c0, clamps, tr = traced(cfg)
    spec = model.spec
    key = carry_key(spec)
    label, factor = CARRY[key]
    assert tr.cell.carry_label == label
    ref = torch_reference(model, x, cfg.loss, h0, c0, clamps)
    norms = lstmviz.jacobian_norms(tr)
    for layer in range(spec.num_layers):
        for d in range(spec.directions):
            flip = (lambda a: a[::-1]) if d else (lambda a: a)
            A = arrays(tr, layer, d, clamps)
            path = flip(norms[layer][d].carry_path)
            per_step = factor(A)
            last = len(per_step) - 1
            product = np.array([np.prod(per_step[k + 1 :], axis=0) for k in range(last + 1)])
            close(path, product, f"{label}, layer {layer} direction {d}")
            r = ref[layer][d]
            carried = A.c if spec.cell == "lstm" else A.h
            state = np.concatenate([A.h, A.c], axis=1) if spec.cell == "lstm" else A.h
            for k in range(last):
                jac = jacobian(
                    rollout(spec, r.params, r.inputs, clamps, layer, d, k, last, detach_gates=True), state[k]
                )
                jac = jac[-carried.shape[1] :, -carried.shape[1] :]
                close(np.diag(jac), path[k], f"{label} against autograd's direct path at {k}")
                close(jac - np.diag(np.diag(jac)), 0.0, "the direct path is per unit")


# ---------------------------------------------------------------------------------------------
# 2. Substituted numbers, read back


CLAMP_NOTE = r" \quad \text{(clamped)}"
FREE = r" \odot \mathbb{1}_{\text{free}}"


@dataclass
class Step:
    """One unit at one position of one layer and direction, gathered from the trace and the weights."""

    t: int
    p: int  # the position processed before t (t-1 forward, t+1 reverse; -1 or T before the first)
    n: int | None  # the position processed after t, None at the last
    v: dict[str, float]  # every value a line may show
    clamped: frozenset[str]  # what is clamped at t for this unit
    clamped_next: frozenset[str]  # ... at n
    h_clamped_any: bool  # h clamped at t on any unit (its units are not the shown one with a projection)


def gather(tr, h0, c0, clamps, layer: int, d: int, t: int, u: int) -> Step:
    spec, lt = tr.spec, tr.layers[layer][d]
    W = tr.model.params(layer, d)
    p, n = (t + 1, t - 1) if d else (t - 1, t + 1)
    has_p, has_n = 0 <= p < tr.steps, 0 <= n < tr.steps
    index = layer * spec.directions + d
    x = (tr.x if layer == 0 else np.concatenate([b.h for b in tr.layers[layer - 1]], axis=1))[t]
    h_prev = lt.h[p] if has_p else h0[index]
    v: dict[str, float] = {
        "dh": lt.grad_h[t, u] if u < spec.output_size else np.nan,
        "direct": lt.grad_h_direct[t, u] if u < spec.output_size else np.nan,
        "h": lt.h[t, u] if u < spec.output_size else np.nan,
        "h_prev": h_prev[u] if u < spec.output_size else np.nan,
    }
    v |= {k: g[t, u] for k, g in lt.gates.items()}
    v |= {f"da_{k}": g[t, u] for k, g in lt.grad_preactivations.items()}
    rows = cell_for(spec).rows
    count = len(rows)

    def affine(k, recurrent=True):
        """W_i? x_t + b_i? (+ W_h? h_{t-1} + b_h?) of row block k, h_{t-1} = h0 at the first step."""
        out = block(W["weight_ih"], k, count) @ x
        if "bias_ih" in W:
            out = out + np.split(W["bias_ih"], count)[k]
        if recurrent:
            out = out + block(W["weight_hh"], k, count) @ h_prev
            if "bias_hh" in W:
                out = out + np.split(W["bias_hh"], count)[k]
        return out

    if spec.cell == "gru":
        w_hn = block(W["weight_hh"], 2, 3)
        b_hn = np.split(W["bias_hh"], 3)[2] if "bias_hh" in W else 0.0
        r = lt.gates["r"][t]
        a_n = affine(2, False) + (
            w_hn @ (r * h_prev) + b_hn if spec.gru_variant == "tutorial" else r * (w_hn @ h_prev + b_hn)
        )
        v |= {"a_r": affine(0)[u], "a_z": affine(1)[u], "a_n": a_n[u]}
    else:
        v |= {f"a_{k}": affine(j, REGISTRY[spec.cell].recurrent)[u] for j, k in enumerate(rows)}
    if spec.cell == "rnn":
        v["slope"] = float(v["a_h"] > 0) if spec.nonlinearity == "relu" else 1 - v["h"] ** 2
    if lt.c is not None:
        c_prev = lt.c[p] if has_p else c0[index]
        v |= {
            "c": lt.c[t, u],
            "c_prev": c_prev[u],
            "dc": lt.grad_c[t, u],
            "m": lt.gates["o"][t, u] * np.tanh(lt.c[t, u]),
        }
        keep_h = keep_masks(clamps, layer, d, tr.steps, sizes_of(tr.model))["h"][t]
        dh = lt.grad_h[t] * keep_h
        v["dm"] = (dh @ W["weight_hr"] if spec.proj_size else dh)[u]
    if has_n:
        da_n = {k: g[n] for k, g in lt.grad_preactivations.items()}
        if spec.cell in ("rnn", "lstm"):
            sent = np.concatenate([da_n[k] for k in rows]) @ W["weight_hh"]  # (H_out,)
            v["from_gates"] = sent[u] if u < len(sent) else np.nan
        if spec.cell == "lstm":
            v["from_highway"] = lt.grad_c[n, u] * lt.gates["f"][n, u]
        if spec.cell == "gru":
            w_hr, w_hz, w_hn = (block(W["weight_hh"], j, 3) for j in range(3))
            r_n, z_n = lt.gates["r"][n], lt.gates["z"][n]
            through_rz = da_n["r"] @ w_hr + da_n["z"] @ w_hz
            if spec.gru_variant == "tutorial":
                v["from_gates"] = (through_rz + r_n * (da_n["n"] @ w_hn))[u]
                v["from_direct"] = lt.grad_h[n, u] * (1 - z_n[u])
            else:
                v["from_gates"] = (through_rz + (da_n["n"] * r_n) @ w_hn)[u]
                v["from_direct"] = lt.grad_h[n, u] * z_n[u]
        if spec.cell == "mingru":
            v["from_direct"] = lt.grad_h[n, u] * (1 - lt.gates["z"][n, u])
        if spec.cell == "minlstm":
            v["from_direct"] = lt.grad_h[n, u] * lt.gates["f'"][n, u]
    return Step(
        t=t,
        p=p,
        n=n if has_n else None,
        v=v,
        clamped=clamped_at(clamps, layer, d, t, u),
        clamped_next=clamped_at(clamps, layer, d, n, u) if has_n else frozenset(),
        h_clamped_any=any(
            c.name == "h" and (c.layer, c.direction) == (layer, d) and c.steps[0] <= t < c.steps[1]
            for c in clamps
        ),
    )


def gate(s: Step, letter: str, act: str, symbol: str | None = None) -> tuple[str, list[float]]:
    name = (symbol or letter) + "_{<t>}"
    if letter in s.clamped:
        return name + " = #" + CLAMP_NOTE, [s.v[letter]]
    if not act:
        return name + " = #", [s.v[letter]]
    return f"{name} = {act}(#) = #", [s.v["a_" + letter], s.v[letter]]


def state(s: Step, name: str, lines: list) -> list:
    """A state's lines, or its clamped value alone: the update's arithmetic is not what was kept."""
    return [(f"{name}_{{<t>}} = #" + CLAMP_NOTE, [s.v[name]])] if name in s.clamped else lines


def forward_lines(spec, s: Step) -> list[tuple[str, list[float]]]:
    v = s.v
    if spec.cell == "rnn":
        act = r"\operatorname{relu}" if spec.nonlinearity == "relu" else r"\tanh"
        return state(s, "h", [(rf"h_{{<t>}} = {act}(#) = #", [v["a_h"], v["h"]])])
    if spec.cell == "lstm":
        lines = [gate(s, k, r"\tanh" if k == "g" else r"\sigma") for k in "ifgo"]
        lines += state(
            s,
            "c",
            [
                (r"c_{<t>} = f_{<t>}\,c_{<p>} + i_{<t>}\,g_{<t>}", []),
                (r"= # \cdot #p + # \cdot #p", [v["f"], v["c_prev"], v["i"], v["g"]]),
                ("= #", [v["c"]]),
            ],
        )
        if spec.proj_size:
            then = ", then clamped where set" if s.h_clamped_any else ""
            return lines + [
                (r"m_{<t>} = o_{<t>} \tanh(c_{<t>}) = # \cdot \tanh(#) = #", [v["o"], v["c"], v["m"]]),
                (
                    rf"h_{{<t>}} = W_{{hr}}\, m_{{<t>}}"
                    rf" \quad \text{{(projection to {spec.proj_size} units{then})}}",
                    [],
                ),
            ]
        return lines + state(
            s,
            "h",
            [(r"h_{<t>} = o_{<t>} \tanh(c_{<t>}) = # \cdot \tanh(#)", [v["o"], v["c"]]), ("= #", [v["h"]])],
        )
    if spec.cell == "gru":
        tutorial = spec.gru_variant == "tutorial"
        lines = [
            gate(s, "r", r"\sigma"),
            gate(s, "z", r"\sigma"),
            gate(s, "n", r"\tanh", r"\tilde{h}" if tutorial else "n"),
        ]
        if tutorial:
            update = [
                (r"h_{<t>} = (1 - z_{<t>})\,h_{<p>} + z_{<t>}\,\tilde{h}_{<t>}", []),
                (r"= (1 - #p) \cdot #p + # \cdot #p", [v["z"], v["h_prev"], v["z"], v["n"]]),
            ]
        else:
            update = [
                (r"h_{<t>} = (1 - z_{<t>})\,n_{<t>} + z_{<t>}\,h_{<p>}", []),
                (r"= (1 - #p) \cdot #p + # \cdot #p", [v["z"], v["n"], v["z"], v["h_prev"]]),
            ]
        return lines + state(s, "h", update + [("= #", [v["h"]])])
    if spec.cell == "mingru":
        return [gate(s, "z", r"\sigma"), gate(s, "n", "", r"\tilde{h}")] + state(
            s,
            "h",
            [
                (r"h_{<t>} = (1 - z_{<t>})\,h_{<p>} + z_{<t>}\,\tilde{h}_{<t>}", []),
                (r"= (1 - #p) \cdot #p + # \cdot #p", [v["z"], v["h_prev"], v["z"], v["n"]]),
                ("= #", [v["h"]]),
            ],
        )
    norm = []
    for name, top in (("f'", "f"), ("i'", "i")):
        if name in s.clamped:
            norm.append((f"{name}_{{<t>}} = #" + CLAMP_NOTE, [v[name]]))
        else:
            norm.append(
                (
                    f"{name}_{{<t>}} = {top}_{{<t>}} / (f_{{<t>}} + i_{{<t>}}) = # / (# + #p) = #",
                    [v[top], v["f"], v["i"], v[name]],
                )
            )
    return [gate(s, "f", r"\sigma"), gate(s, "i", r"\sigma"), *norm, gate(s, "n", "", r"\tilde{h}")] + state(
        s,
        "h",
        [
            (r"h_{<t>} = f'_{<t>}\,h_{<p>} + i'_{<t>}\,\tilde{h}_{<t>}", []),
            (r"= # \cdot #p + # \cdot #p", [v["f'"], v["h_prev"], v["i'"], v["n"]]),
            ("= #", [v["h"]]),
        ],
    )


HEAD = r"\delta h_{<t>} = \partial \ell_{<t>} / \partial h_{<t>}"


def backward_lines(spec, s: Step) -> list[tuple[str, list[float]]]:
    """The backward lines; the number after δh_t of the last step is δh_t and ∂ℓ_t/∂h_t both."""
    v, last = s.v, s.n is None
    if spec.cell == "rnn":
        lines = (
            [(HEAD + " = #", [v["dh"]])]
            if last
            else [
                (HEAD + r" + W_{hh}^{\top} \delta a_{<n>}", []),
                ("= # + #p = #", [v["direct"], v["from_gates"], v["dh"]]),
            ]
        )
        if "h" in s.clamped:
            return lines + [(r"\delta a_{<t>} = # \quad \text{(h clamped: a constant)}", [v["da_h"]])]
        slope = r"\mathbb{1}[a_{<t>} > 0]" if spec.nonlinearity == "relu" else r"(1 - h_{<t>}^2)"
        return lines + [
            (
                rf"\delta a_{{<t>}} = \delta h_{{<t>}} \, {slope} = # \cdot #p = #",
                [v["dh"], v["slope"], v["da_h"]],
            )
        ]
    if spec.cell == "lstm":
        lines = (
            [(HEAD + " = #", [v["dh"]])]
            if last
            else [
                (HEAD + r" + W_{hh}^{\top} \delta a_{<n>}", []),
                ("= # + #p = #", [v["direct"], v["from_gates"], v["dh"]]),
            ]
        )
        h_cut = s.h_clamped_any if spec.proj_size else "h" in s.clamped
        dh = r"(\delta h_{<t>}" + FREE + ")" if h_cut else r"\delta h_{<t>}"
        dm = rf"(W_{{hr}}^{{\top}} {dh})" if spec.proj_size else dh
        head = rf"\delta c_{{<t>}} = {dm} \, o_{{<t>}} (1 - \tanh^2 c_{{<t>}})"
        highway = not last and "c" not in s.clamped_next
        notes = (["h clamped: its clamped units pass nothing"] if h_cut else []) + (
            [f"c clamped at step {s.n}: no path back"] if not last and not highway else []
        )
        note = r" \quad \text{(" + "; ".join(notes) + ")}" if notes else ""
        if highway:
            return lines + [
                (head + r" + \delta c_{<n>} \, f_{<n>}" + note, []),
                (
                    r"= # \cdot #p \cdot (1 - \tanh^2(#)) + #p = #",
                    [v["dm"], v["o"], v["c"], v["from_highway"], v["dc"]],
                ),
            ]
        return lines + [
            (head + note, []),
            (r"= # \cdot #p \cdot (1 - \tanh^2(#)) = #", [v["dm"], v["o"], v["c"], v["dc"]]),
        ]
    cut = not last and "h" in s.clamped_next
    cut_note = rf" \quad \text{{(h clamped at step {s.n}: no direct path)}}"
    if spec.cell == "gru":
        keep = r"(1 - z_{<n>})" if spec.gru_variant == "tutorial" else r"z_{<n>}"
        gates = r"(\text{through the gates of } <n>)"
        if last:
            lines = [(HEAD + " = #", [v["dh"]])]
        elif cut:
            lines = [
                (HEAD + " + " + gates + cut_note, []),
                ("= # + #p = #", [v["direct"], v["from_gates"], v["dh"]]),
            ]
        else:
            lines = [
                (HEAD + rf" + \delta h_{{<n>}} \, {keep} + " + gates, []),
                ("= # + #p + #p = #", [v["direct"], v["from_direct"], v["from_gates"], v["dh"]]),
            ]
        return lines + [
            (
                r"\delta a^r_{<t>} = #, \quad \delta a^z_{<t>} = #, \quad \delta a^n_{<t>} = #",
                [v["da_r"], v["da_z"], v["da_n"]],
            )
        ]
    keep = r"(1 - z_{<n>})" if spec.cell == "mingru" else r"f'_{<n>}"
    if last:
        return [(HEAD + " = #", [v["dh"]])]
    if cut:
        return [(HEAD + " = #" + cut_note.replace("no direct path", "no path back"), [v["dh"]])]
    return [
        (HEAD + rf" + \delta h_{{<n>}} \, {keep}", []),
        ("= # + #p = #", [v["direct"], v["from_direct"], v["dh"]]),
    ]


def check_lines(shown: list[str], expected: list[tuple[str, list[float]]], s: Step, what: str) -> None:
    labels = {"<t>": str(s.t), "<p>": str(s.p), "<n>": "" if s.n is None else str(s.n)}
    assert len(shown) == len(expected), (
        f"{what}: {len(shown)} lines shown, {len(expected)} expected\n" + "\n".join(shown)
    )
    for line, (template, slots) in zip(shown, expected, strict=True):
        for label, value in labels.items():
            template = template.replace(label, value)
        skeleton, numbers = read_numbers(line)
        want_skeleton, want = expected_line(template, slots)
        assert skeleton == want_skeleton, f"{what}: shown {line!r}, expected the form {want_skeleton!r}"
        for shown_value, true in zip(numbers, want, strict=True):
            assert shown_matches(shown_value, true), (
                f"{what}: {line!r} shows {shown_value}, the trace has {true}"
            )
    problems = false_arithmetic(shown)
    assert not problems, f"{what}: false arithmetic on screen: {problems}"


READ_BACK = [
    (variant, layers, bi, loss, given, clamped)
    for variant in VARIANTS
    for layers, bi, loss in ((1, False, "all"), (2, True, "last"), (2, True, "all"))
    for given, clamped in ((False, False), (True, False), (True, True))
]


@pytest.mark.parametrize(
    "variant, layers, bidirectional, loss, given, clamped",
    READ_BACK,
    ids=["-".join(map(str, c)) for c in READ_BACK],
)
def test_substituted_numbers_read_back_and_their_arithmetic_is_true(
    variant, layers, bidirectional, loss, given, clamped
):
    model = build(variant, layers, bidirectional, seed=2)
    spec = model.spec
    rng = np.random.default_rng(3)
    x = rng.normal(size=(T, INPUTS))
    count = layers * spec.directions
    h0 = (
        rng.normal(scale=0.5, size=(count, spec.output_size))
        if given
        else np.zeros((count, spec.output_size))
    )
    c0 = None
    if cell_for(spec).cell_state:
        c0 = rng.normal(size=(count, spec.hidden_size)) if given else np.zeros((count, spec.hidden_size))
    clamps = clamps_for(model) if clamped else []
    tr = lstmviz.trace(
        model,
        x,
        loss,
        h0=h0 if given else None,
        c0=c0 if given else None,
        dtype="float64",
        interventions=clamps,
    )
    for layer, d in itertools.product(range(layers), range(spec.directions)):
        for t in range(T):  # the first, every middle one (clamped or not), the last
            for u in sorted({0, spec.output_size - 1, spec.hidden_size - 1}):
                s = gather(tr, h0, c0, clamps, layer, d, t, u)
                where = f"layer {layer} direction {d} t={t} unit {u}"
                if u < spec.output_size:
                    check_lines(
                        steps.substituted(tr, t, layer, d, u), forward_lines(spec, s), s, "forward " + where
                    )
                    check_lines(
                        steps.substituted_backward(tr, t, layer, d, u),
                        backward_lines(spec, s),
                        s,
                        "backward " + where,
                    )


def test_the_first_step_reads_the_given_initial_state():
    """Issue 7 item 5: at t = 0 the substituted c-line uses c0 (and h0), and its arithmetic is true."""
    tr = lstmviz.trace(lstmviz.build("lstm", 1, 2, seed=0), np.ones((3, 1)), h0=[[0.5, -0.7]], c0=[[1.5, -2]])
    lines = steps.substituted(tr, 0, unit=1)
    assert r"c_{0} = f_{0}\,c_{-1} + i_{0}\,g_{0}" in lines
    _, numbers = read_numbers(next(line for line in lines if line.startswith(r"= ") and r"\cdot" in line))
    assert numbers[1] == -2.0
    assert not false_arithmetic(lines)
    reverse = lstmviz.trace(
        lstmviz.build("gru", 1, 2, bidirectional=True, seed=0),
        np.ones((3, 1)),
        h0=[[0.5, -0.7], [0.25, 0.125]],
    )
    lines = steps.substituted(reverse, 2, direction=1, unit=0)
    assert r"h_{2} = (1 - z_{2})\,n_{2} + z_{2}\,h_{3}" in lines
    assert read_numbers(lines[-2])[1][-1] == 0.25  # h_3 of the reverse pass is its initial state
    assert not false_arithmetic(lines)


# ---------------------------------------------------------------------------------------------
# 3. Log-scale charts: nothing drawn is an artefact of the number format, and what is left out is said


def true_norms(array: np.ndarray) -> np.ndarray:
    """||row||_2 in float64 without squaring tiny numbers to 0 (scaled by each row's largest entry)."""
    a = np.abs(np.asarray(array, dtype=np.float64))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        top = a.max(axis=1)
        scaled = np.sqrt(np.square(a / np.where(top > 0, top, 1.0)[:, None]).sum(axis=1))
        return np.where(top > 0, top * scaled, top)


def log_lines(fig) -> list[np.ndarray]:
    """The y values of every line drawn on a log-scale y axis."""
    out = []
    for trace in fig.data:
        if trace.type != "scatter":
            continue
        axis = "yaxis" + (trace.yaxis or "y")[1:]
        if fig.layout[axis].type == "log":
            out.append(np.array([np.nan if v is None else v for v in trace.y], dtype=np.float64))
    return out


def said_blank(fig) -> tuple[int, int]:
    """(underflow or zero, inf/NaN) counts the figure's title states (0 when it says nothing)."""
    import re

    text = fig.layout.title.text or ""
    low = re.search(r"([\d,]+) values? (?:are|is) 0 or underflow below", text)
    bad = re.search(r"([\d,]+) values? (?:are|is) inf/NaN", text)
    return tuple(int(m.group(1).replace(",", "")) if m else 0 for m in (low, bad))


def artefact_traces():
    """Traces whose gradients underflow (float32 and float64), die (relu) or explode (relu, scale 3)."""
    impulse = lstmviz.preset("impulse", 1000)
    out = {}
    for cell in ("gru", "rnn", "lstm"):
        for dtype in ("float32", "float64"):
            out[f"{cell}-{dtype}"] = lstmviz.trace(lstmviz.build(cell, 1, 16, seed=0), impulse, dtype=dtype)
    relu = lstmviz.build("rnn", 1, 16, nonlinearity="relu", seed=0)
    weights = dict(relu.weights)  # every recurrent input negative: all units die after the impulse
    weights["weight_hh_l0"] = -np.abs(weights["weight_hh_l0"])
    weights["bias_hh_l0"] = -np.abs(weights["bias_hh_l0"]) - 0.1
    dead = lstmviz.Model(relu.spec, weights)
    out["relu-dead-float64"] = lstmviz.trace(dead, impulse[:200], dtype="float64")
    large = lstmviz.build("rnn", 1, 16, nonlinearity="relu", seed=0, recurrent_scale=3.0)
    out["relu-large-float64"] = lstmviz.trace(large, impulse[:600], "all", dtype="float64")  # up to 1e166
    exploding = lstmviz.build("rnn", 1, 16, nonlinearity="relu", seed=0, recurrent_scale=8.0)
    out["relu-exploding-float64"] = lstmviz.trace(exploding, impulse[:600], "all", dtype="float64")
    return out


@pytest.fixture(scope="module")
def underflowing():
    return artefact_traces()


def test_the_issue_example_gru_float32_is_not_drawn_at_4e_45_and_float64_keeps_falling(underflowing):
    """Issue 7 item 4: impulse, length 1000, hidden 16: the float32 GRU's ||delta h_t|| sticks at about
    4e-45 (subnormal) while the true value falls to about 1e-190."""
    f32, f64 = underflowing["gru-float32"], underflowing["gru-float64"]
    stuck = true_norms(f32.layers[0][0].grad_h)
    assert ((stuck > 0) & (stuck < 1e-44)).sum() > 500  # the artefact is there in the data
    (drawn,) = log_lines(plots.gradient_norms({"gru": f32}))
    assert np.nanmin(drawn) > np.finfo(np.float32).tiny
    assert said_blank(plots.gradient_norms({"gru": f32}))[0] == int(np.isnan(drawn).sum()) > 500
    (drawn,) = log_lines(plots.gradient_norms({"gru": f64}))
    truth = true_norms(f64.layers[0][0].grad_h)
    assert truth.min() < 1e-180 and np.all(truth > np.finfo(np.float64).tiny)
    close(drawn, truth, "every float64 norm drawn as it is (none lost to squaring tiny numbers)", rtol=1e-12)


NORM_CHARTS = [
    (name, quantity)
    for name in (
        "gru-float32",
        "gru-float64",
        "rnn-float32",
        "rnn-float64",
        "lstm-float32",
        "lstm-float64",
        "relu-dead-float64",
        "relu-large-float64",
        "relu-exploding-float64",
    )
    for quantity in (("h", "c", "x") if name.startswith("lstm") else ("h", "x"))
]


@pytest.mark.parametrize("name, quantity", NORM_CHARTS)
def test_gradient_norms_draw_no_artefact_and_count_what_they_leave_out(underflowing, name, quantity):
    tr = underflowing[name]
    array = plots.gradient_array(tr, quantity, 0, 0)
    fig = plots.gradient_norms({name: tr}, quantity)
    (drawn,) = log_lines(fig)
    tiny = np.finfo(tr.x.dtype).tiny
    truth = true_norms(array)
    nonfinite = ~np.isfinite(truth)
    low = ~nonfinite & (truth <= tiny)
    assert np.array_equal(np.isnan(drawn), nonfinite | low), (
        "blank exactly the non-finite and underflow values"
    )
    close(drawn[~np.isnan(drawn)], truth[~(nonfinite | low)], "what is drawn is the norm", rtol=1e-12)
    assert said_blank(fig) == (int(low.sum()), int(nonfinite.sum()))
    if name.startswith("relu-dead"):
        assert low.sum() > 0  # dead units: exact zeros, said in words
    if name.startswith("relu-exploding"):
        assert nonfinite.sum() > 0
    if name.startswith("relu-large"):  # finite values beyond 1e154: squaring them must not make inf
        assert np.nanmax(drawn) > 1e160 and not nonfinite.any()


@pytest.mark.parametrize(
    "name, steps, hidden",
    [("gru-float32", 1000, 16), ("rnn-float64", 1000, 16), ("gru-float64-binned", 2000, 64)],
)
def test_gradient_heatmap_draws_log10_of_true_magnitudes_only(underflowing, name, steps, hidden):
    if name in underflowing:
        tr = underflowing[name]
    else:  # long enough that the heatmap averages bins of 2 steps
        tr = lstmviz.trace(
            lstmviz.build("gru", 1, hidden, seed=0), lstmviz.preset("impulse", steps), dtype="float64"
        )
    fig = plots.gradient_heatmap(tr)
    z = np.asarray(fig.data[0].z, dtype=np.float64)
    tiny = np.finfo(tr.x.dtype).tiny
    magnitude = np.abs(tr.layers[0][0].grad_h.astype(np.float64))
    blank = ~np.isfinite(magnitude) | (magnitude <= tiny)
    width = int(np.ceil(steps / z.shape[1]))
    padded = np.full((z.shape[1] * width, magnitude.shape[1]), np.nan)
    padded[:steps] = np.where(blank, np.nan, magnitude)
    with np.errstate(invalid="ignore", divide="ignore"), __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("ignore", RuntimeWarning)
        expected = np.log10(np.nanmean(padded.reshape(-1, width, magnitude.shape[1]), axis=1)).T
    assert not np.isinf(z).any(), "an infinite log10 is an underflow drawn as data"
    assert np.array_equal(np.isnan(z), np.isnan(expected))
    close(z[~np.isnan(z)], expected[~np.isnan(expected)], "log10 of the true magnitudes", rtol=0, atol=1e-4)
    assert said_blank(fig)[0] == int(blank.sum())


def test_jacobian_chart_draws_every_normal_float64_value_and_names_the_right_limit():
    """Norms, the Pascanu bound and the carry paths that fall through 1e-300 and below float64's range."""
    impulse = lstmviz.preset("impulse", 1000)
    options = {"rnn": {"recurrent_scale": 0.3}, "gru": {}, "lstm": {"forget_bias": -3.0}}
    traces = {
        k: lstmviz.trace(lstmviz.build(k, 1, 16, seed=0, **o), impulse, dtype="float64")
        for k, o in options.items()
    }
    norms = {k: lstmviz.jacobian_norms(tr)[0][0] for k, tr in traces.items()}
    fig = plots.jacobian_figure(norms, traces)
    series = []
    for jn in norms.values():
        series += [
            jn.to_last,
            *([jn.pascanu_bound] if jn.pascanu_bound is not None else []),
            *([jn.carry_path.mean(axis=1)] if jn.carry_path is not None else []),
        ]
    drawn = log_lines(fig)
    assert len(drawn) == len(series)
    tiny = np.finfo(np.float64).tiny
    low = 0
    for line, values in zip(drawn, series, strict=True):
        blank = ~np.isfinite(values) | (values <= tiny)
        low += int((np.isfinite(values) & (values <= tiny)).sum())
        assert np.array_equal(np.isnan(line), blank), "blank exactly the values at or below float64's tiny"
        close(line[~blank], values[~blank], "drawn as computed")
    assert low > 0 and said_blank(fig)[0] == low
    assert "2.2e-308" in fig.layout.title.text


@pytest.fixture(scope="module")
def trained():
    """A 4-step run whose probe is long enough (300 steps) for float32 gradients to underflow; the
    per-step curves get a float32 underflow zero and a subnormal planted (a loss or a norm that small
    is one a float32 run can record), the first probe profile a float64 zero and subnormal."""
    from dataclasses import replace

    from lstmviz import training

    config = training.TrainConfig(
        task="adding",
        length=300,
        steps=4,
        batch_size=2,
        cells=("rnn", "gru"),
        model=lstmviz.ModelSettings(hidden_size=8, seed=0),
        snapshot_every=2,
    )
    result = training.train(config)
    planted = {}
    for cell, run in result.cells.items():
        loss, norm = run.train_loss.copy(), run.grad_norm.copy()
        loss[1], norm[1], norm[2] = 0.0, 1e-42, 0.0
        profile = run.snapshots[0].grad_norms.copy()
        profile[0], profile[1] = 0.0, 5e-324
        snapshots = [replace(run.snapshots[0], grad_norms=profile), *run.snapshots[1:]]
        planted[cell] = replace(run, train_loss=loss, grad_norm=norm, snapshots=snapshots)
    return replace(result, cells=planted)


def figure_text(fig) -> str:
    return " ".join([fig.layout.title.text or ""] + [a.text or "" for a in fig.layout.annotations])


def test_the_training_probe_is_traced_in_float64(trained):
    """Its gradients pass below float32's smallest normal within the probe and are still numbers."""
    norms = trained.cells["rnn"].snapshots[-1].grad_norms
    assert norms.dtype == np.float64
    assert np.all(norms > 0) and norms.min() < np.finfo(np.float32).tiny


@pytest.mark.parametrize(
    "figure, tiny, planted",
    [
        ("snapshot_profile_figure", np.finfo(np.float64).tiny, 4),
        ("curves_figure", np.finfo(np.float32).tiny, 2),
        ("grad_norm_figure", np.finfo(np.float32).tiny, 4),
    ],
)
def test_training_log_charts_draw_no_artefact_and_say_what_they_leave_out(trained, figure, tiny, planted):
    from lstmviz import training_plots

    fig = (
        getattr(training_plots, figure)(trained, 0)
        if figure == "snapshot_profile_figure"
        else getattr(training_plots, figure)(trained)
    )
    values = np.concatenate(log_lines(fig))
    assert not np.any(values <= tiny), (
        f"{int((values <= tiny).sum())} values at or below {tiny:.1e} on a log axis"
    )
    assert "underflow" in figure_text(fig), "the figure does not say what it leaves out"
    assert said_blank(fig) == (planted, 0)


def test_gradient_horizon_draws_no_artefact_and_says_what_it_leaves_out(trained):
    from lstmviz import training_plots

    fig = training_plots.gradient_horizon_figure(trained, normalise=False)
    tiny = np.finfo(np.float64).tiny
    artefacts = 0
    for heatmap in fig.data:
        raw = np.asarray(heatmap.customdata, dtype=np.float64)
        z = np.asarray(heatmap.z, dtype=np.float64)
        low = raw <= tiny
        artefacts += int(low.sum())
        assert np.isnan(z[low]).all(), f"{int((~np.isnan(z[low])).sum())} underflow values drawn as colour"
    assert artefacts == 4  # the planted zero and subnormal, per cell
    assert "underflow" in figure_text(fig) and "4 values" in figure_text(fig)


def test_a_projected_lstm_h_is_not_drawn_on_the_minus_one_to_one_scale():
    """h = W_hr (o * tanh c) is not bounded by 1: its heatmap panel takes the data's own range."""
    model = lstmviz.build("lstm", 1, 6, proj_size=3, seed=0)
    weights = dict(model.weights)
    weights["weight_hr_l0"] = weights["weight_hr_l0"] * 20
    tr = lstmviz.trace(lstmviz.Model(model.spec, weights), lstmviz.preset("sine", 30), dtype="float64")
    top = np.abs(tr.layers[0][0].h).max()
    assert top > 1
    fig = plots.state_heatmaps(tr)
    (h,) = [d for d in fig.data if d.name == "h"]
    axis = fig.layout[h.coloraxis]
    assert axis.cmax >= top and axis.cmin <= -top


def test_the_gru_conventions_say_which_z_and_which_reset_is_shown():
    """Issue 7 item 3: PyTorch and Cho et al.'s z keeps the old state, the tutorial's (Chung et al.) takes
    the new; the reset acts after W_hn in PyTorch, before it in the tutorial and in Cho et al."""
    from lstmviz.cells.gru import CONVENTIONS

    pytorch = cell_for(lstmviz.ModelSpec("gru", 1, 3))
    tutorial = cell_for(lstmviz.ModelSpec("gru", 1, 3, gru_variant="tutorial"))
    assert "after the product" in CONVENTIONS["pytorch"] and "OLD" in CONVENTIONS["pytorch"]
    assert "before the product" in CONVENTIONS["tutorial"] and "NEW" in CONVENTIONS["tutorial"]
    assert "Chung" in CONVENTIONS["tutorial"] and "Cho" not in CONVENTIONS["tutorial"].split(":")[0]
    assert pytorch.convention() == CONVENTIONS["pytorch"] and tutorial.convention() == CONVENTIONS["tutorial"]
    assert "Chung" in tutorial.reference and "Cho" not in tutorial.reference
    assert "torch.nn.GRU" in pytorch.reference
    assert tutorial.describe("z").endswith("(share of NEW h̃)")
    assert pytorch.describe("z").endswith("(share of OLD h)")
    # the formulas agree: z multiplies the new content in the tutorial, the old state in PyTorch
    assert tutorial.equations()[-1] == r"h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde{h}_t"
    assert pytorch.equations()[-1] == r"h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}"
