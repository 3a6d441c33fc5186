"""Helpers of tests/test_truth.py: an independent autograd reference, clamp masks, and LaTeX read-back.

- :func:`torch_reference` runs a model in float64 torch, step by step, from the forward equations as
  the app shows them (written here again, not taken from lstmviz's cells), applies the same clamps,
  and returns autograd's dL/d of every state, pre-activation and gate (the total derivatives the
  BPTT lines name), with the step functions for brute-force Jacobians.
- :func:`keep_masks`: 1 where a quantity is free, 0 where an intervention fixes it (sequence order).
- :func:`read_numbers` / :func:`check_arithmetic`: every number of a substituted LaTeX line, and
  whether each chain ``a = b = c`` of numbers shown is true to the precision shown (interval
  arithmetic: each shown number stands for every value that rounds to it at 4 significant digits).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import torch

# ---------------------------------------------------------------------------------------------
# Clamps


def keep_masks(
    clamps, layer: int, direction: int, steps: int, sizes: dict[str, int]
) -> dict[str, np.ndarray]:
    """name -> (T, n) 1.0 where free, 0.0 where clamped, in sequence order (every name in ``sizes``)."""
    keep = {name: np.ones((steps, n)) for name, n in sizes.items()}
    for clamp in clamps:
        if (clamp.layer, clamp.direction) != (layer, direction):
            continue
        units = slice(None) if clamp.units is None else list(clamp.units)
        keep[clamp.name][clamp.steps[0] : clamp.steps[1], units] = 0.0
    return keep


def clamped_at(clamps, layer: int, direction: int, t: int, unit: int) -> frozenset[str]:
    """The names an intervention fixes at position t for this unit (of the quantity's own units)."""
    return frozenset(
        c.name
        for c in clamps
        if (c.layer, c.direction) == (layer, direction)
        and c.steps[0] <= t < c.steps[1]
        and (c.units is None or unit in c.units)
    )


# ---------------------------------------------------------------------------------------------
# The forward equations in torch, as the app shows them


def _affine(p, row: int, rows: int, x, h, hidden: int):
    """W_i? x + b_i? + W_h? h + b_h? for row block ``row`` of ``rows``."""
    sl = slice(row * hidden, (row + 1) * hidden)
    out = x @ p["weight_ih"][sl].T
    if "bias_ih" in p:
        out = out + p["bias_ih"][sl]
    if h is not None:
        out = out + h @ p["weight_hh"][sl].T
        if "bias_hh" in p:
            out = out + p["bias_hh"][sl]
    return out


def _input_part(p, row, x, hidden):
    return _affine(p, row, 0, x, None, hidden)


def step(spec, p, x, h, c, clamp):
    """One step: returns (h, c, pre-activations by row, gates by letter). ``clamp(name, value)``."""
    hid = spec.hidden_size
    name = spec.cell
    if name == "rnn":
        a = _affine(p, 0, 1, x, h, hid)
        act = torch.relu(a) if spec.nonlinearity == "relu" else torch.tanh(a)
        return clamp("h", act), None, {"h": a}, {}
    if name == "lstm":
        a = {k: _affine(p, j, 4, x, h, hid) for j, k in enumerate("ifgo")}
        i = clamp("i", torch.sigmoid(a["i"]))
        f = clamp("f", torch.sigmoid(a["f"]))
        g = clamp("g", torch.tanh(a["g"]))
        o = clamp("o", torch.sigmoid(a["o"]))
        c = clamp("c", f * c + i * g)
        m = o * torch.tanh(c)
        h = clamp("h", m @ p["weight_hr"].T if "weight_hr" in p else m)
        return h, c, a, {"i": i, "f": f, "g": g, "o": o}
    if name == "gru":
        a_r, a_z = _affine(p, 0, 3, x, h, hid), _affine(p, 1, 3, x, h, hid)
        r, z = clamp("r", torch.sigmoid(a_r)), clamp("z", torch.sigmoid(a_z))
        w_hn = p["weight_hh"][2 * hid :]
        b_hn = p["bias_hh"][2 * hid :] if "bias_hh" in p else 0.0
        if spec.gru_variant == "tutorial":
            a_n = _input_part(p, 2, x, hid) + (r * h) @ w_hn.T + b_hn
            n = clamp("n", torch.tanh(a_n))
            h = clamp("h", (1 - z) * h + z * n)
        else:
            a_n = _input_part(p, 2, x, hid) + r * (h @ w_hn.T + b_hn)
            n = clamp("n", torch.tanh(a_n))
            h = clamp("h", (1 - z) * n + z * h)
        return h, None, {"r": a_r, "z": a_z, "n": a_n}, {"r": r, "z": z, "n": n}
    if name == "mingru":
        a_z, a_n = _input_part(p, 0, x, hid), _input_part(p, 1, x, hid)
        z, n = clamp("z", torch.sigmoid(a_z)), clamp("n", a_n)
        return clamp("h", (1 - z) * h + z * n), None, {"z": a_z, "n": a_n}, {"z": z, "n": n}
    if name == "minlstm":
        a_f, a_i, a_n = (_input_part(p, j, x, hid) for j in range(3))
        f, i, n = clamp("f", torch.sigmoid(a_f)), clamp("i", torch.sigmoid(a_i)), clamp("n", a_n)
        fp, ip = clamp("f'", f / (f + i)), clamp("i'", i / (f + i))
        h = clamp("h", fp * h + ip * n)
        return h, None, {"f": a_f, "i": a_i, "n": a_n}, {"f": f, "i": i, "f'": fp, "i'": ip, "n": n}
    raise AssertionError(name)


def clamp_function(clamps, layer: int, direction: int, t: int):
    """The clamps of one layer, direction and position as ``clamp(name, value)`` (torch.where)."""
    chosen = [
        c for c in clamps if (c.layer, c.direction) == (layer, direction) and c.steps[0] <= t < c.steps[1]
    ]

    def clamp(name, value):
        for c in chosen:
            if c.name == name:
                mask = torch.zeros(value.shape[-1], dtype=torch.bool)
                mask[slice(None) if c.units is None else list(c.units)] = True
                value = torch.where(mask, torch.full_like(value, c.value), value)
        return value

    return clamp


@dataclass
class Direction:
    """Autograd's view of one layer and direction, every array (T, n) in sequence order."""

    params: dict
    inputs: np.ndarray  # this layer's input x_t (T, D)
    h0: np.ndarray
    c0: np.ndarray | None
    grad: dict[str, np.ndarray] = field(default_factory=dict)  # "h", "c", "x", "a:<row>", "g:<gate>"
    values: dict[str, np.ndarray] = field(default_factory=dict)  # "h", "c", "a:<row>", "g:<gate>"


def torch_reference(model, x, loss: str, h0=None, c0=None, clamps=()) -> list[list[Direction]]:
    """Autograd through the stack, ``[layer][direction]``: dL/d of everything the BPTT lines name."""
    spec = model.spec
    steps = len(x)
    count = spec.num_layers * spec.directions
    h0 = np.zeros((count, spec.output_size)) if h0 is None else np.asarray(h0, dtype=np.float64)
    if spec.cell == "lstm" and c0 is None:
        c0 = np.zeros((count, spec.hidden_size))
    layer_input = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    result, tensors = [], []
    for layer in range(spec.num_layers):
        outputs, row = [], []
        for d in range(spec.directions):
            index = layer * spec.directions + d
            p = {k: torch.from_numpy(v) for k, v in model.params(layer, d).items()}
            h = torch.from_numpy(h0[index].copy())
            c = None if c0 is None else torch.from_numpy(np.asarray(c0)[index].copy())
            kept: dict[str, list] = {}
            for t in range(steps - 1, -1, -1) if d else range(steps):
                h, c, pre, gates = step(spec, p, layer_input[t], h, c, clamp_function(clamps, layer, d, t))
                named = {"h": h, "c": c} | {f"a:{k}": v for k, v in pre.items()}
                named |= {f"g:{k}": v for k, v in gates.items()}
                for key, value in named.items():
                    if value is not None:
                        kept.setdefault(key, [None] * steps)[t] = value
            outputs.append(torch.stack(kept["h"]))
            row.append(
                Direction(
                    {k: v.numpy() for k, v in p.items()},
                    layer_input.detach().numpy().copy(),
                    h0[index],
                    None if c0 is None else np.asarray(c0)[index],
                )
            )
            tensors.append((layer, d, layer_input, kept))
        result.append(row)
        layer_input = torch.cat(outputs, dim=1)
    total = layer_input[-1].sum() if loss == "last" else layer_input.sum()
    flat = [(layer, d, "x", None, inputs) for layer, d, inputs, _ in tensors if d == 0]
    for layer, d, _, kept in tensors:
        flat += [(layer, d, key, t, v) for key, values in kept.items() for t, v in enumerate(values)]
    grads = torch.autograd.grad(total, [f[-1] for f in flat], allow_unused=True)
    for (layer, d, key, t, value), grad in zip(flat, grads, strict=True):
        grad = torch.zeros_like(value) if grad is None else grad
        if key == "x":
            for direction in result[layer]:
                direction.grad["x"] = grad.numpy()
            continue
        target = result[layer][d]
        target.grad.setdefault(key, np.zeros((steps, value.shape[-1])))[t] = grad.numpy()
        target.values.setdefault(key, np.zeros((steps, value.shape[-1])))[t] = value.detach().numpy()
    return result


def rollout(
    spec,
    params,
    inputs,
    clamps,
    layer: int,
    direction: int,
    start: int,
    stop: int,
    detach_gates: bool = False,
):
    """s_{stop} as a function of s_{start} (processing indices): for jacrev. s = h, or (h, c).

    ``detach_gates``: the gates are constants (the direct, matrix-free path of the carried state).
    """
    p = {k: torch.from_numpy(v) for k, v in params.items()}
    steps = len(inputs)
    positions = list(range(steps - 1, -1, -1)) if direction else list(range(steps))
    xs = torch.from_numpy(np.asarray(inputs, dtype=np.float64))
    out_size = spec.output_size

    def run(state):
        h = state[:out_size]
        c = state[out_size:] if spec.cell == "lstm" else None
        for k in range(start + 1, stop + 1):
            t = positions[k]
            clamp = clamp_function(clamps, layer, direction, t)
            if detach_gates:
                h, c = _direct_step(spec, p, xs[t], h, c, clamp)
            else:
                h, c, _, _ = step(spec, p, xs[t], h, c, clamp)
        return h if c is None else torch.cat([h, c])

    return run


def _direct_step(spec, p, x, h, c, clamp):
    """One step with every gate computed from detached states: only the carried state's own path."""
    h_true, _, _, gates = step(spec, p, x, h.detach(), None if c is None else c.detach(), clamp)
    g = {k: v.detach() for k, v in gates.items()}
    if spec.cell == "lstm":  # h_t as computed, a constant here: only c carries c
        return h_true.detach(), clamp("c", g["f"] * c + g["i"] * g["g"])
    if spec.cell == "gru" and spec.gru_variant != "tutorial":
        return clamp("h", (1 - g["z"]) * g["n"] + g["z"] * h), None
    if spec.cell in ("gru", "mingru"):
        return clamp("h", (1 - g["z"]) * h + g["z"] * g["n"]), None
    if spec.cell == "minlstm":
        return clamp("h", g["f'"] * h + g["i'"] * g["n"]), None
    raise AssertionError(spec.cell)


# ---------------------------------------------------------------------------------------------
# Reading numbers back out of LaTeX

_PROTECTED = r"_\{[^{}]*\}|\^\{[^{}]*\}|\^\d|\\mathbb\{1\}(?:\[[^\]]*\])?|\\text\{(?!NaN\})[^{}]*\}"
_NUMBER = r"\\text\{NaN\}|-?\\infty|-?\d+(?:\.\d+)?(?: \\times 10\^\{-?\d+\})?"
_TOKENS = re.compile(rf"({_PROTECTED})|(?<![\w.])({_NUMBER})")


def parse_number(text: str) -> float:
    if text == r"\text{NaN}":
        return math.nan
    if text.endswith(r"\infty"):
        return -math.inf if text.startswith("-") else math.inf
    mantissa, _, exponent = text.partition(r" \times 10^{")
    return float(mantissa) * 10.0 ** int(exponent[:-1]) if exponent else float(mantissa)


def read_numbers(line: str) -> tuple[str, list[float]]:
    """The line with every number replaced by ``#``, and the numbers in order.

    Step subscripts (``h_{3}``, ``c_{-1}``), powers (``^2``) and text (``\\text{...}``) are not numbers.
    """
    numbers: list[float] = []

    def replace(match: re.Match) -> str:
        if match.group(1):
            return match.group(1)
        numbers.append(parse_number(match.group(2)))
        return "#"

    return _TOKENS.sub(replace, line), numbers


def half_ulp(value: float) -> float:
    """Half a unit in the 4th significant digit: how far the true value may be from what is shown."""
    if value == 0 or not math.isfinite(value):
        return 0.0
    return 0.5 * 10.0 ** (math.floor(math.log10(abs(value))) - 3)


def shown_matches(shown: float, true: float) -> bool:
    """``shown`` is ``true`` rounded to 4 significant digits (NaN for NaN)."""
    if math.isnan(true) or math.isnan(shown):
        return math.isnan(true) and math.isnan(shown)
    return abs(shown - true) <= half_ulp(shown) * (1 + 1e-6) + 1e-9 * abs(true) + 1e-300


@dataclass(frozen=True)
class Interval:
    lo: float
    hi: float

    @staticmethod
    def shown(value: float) -> Interval:
        w = half_ulp(value) * (1 + 1e-9)
        return Interval(value - w, value + w)

    def __add__(self, other):
        other = _interval(other)
        return Interval(self.lo + other.lo, self.hi + other.hi)

    __radd__ = __add__

    def __neg__(self):
        return Interval(-self.hi, -self.lo)

    def __sub__(self, other):
        return self + (-_interval(other))

    def __rsub__(self, other):
        return _interval(other) + (-self)

    def __mul__(self, other):
        other = _interval(other)
        products = [self.lo * other.lo, self.lo * other.hi, self.hi * other.lo, self.hi * other.hi]
        return Interval(min(products), max(products))

    __rmul__ = __mul__

    def __truediv__(self, other):
        other = _interval(other)
        assert other.lo > 0 or other.hi < 0, "division by an interval holding 0"
        return self * Interval(1 / other.hi, 1 / other.lo)

    def monotone(self, fn):
        return Interval(fn(self.lo), fn(self.hi))

    def square(self):
        lo, hi = sorted((abs(self.lo), abs(self.hi)))
        return Interval(0.0 if self.lo <= 0 <= self.hi else lo * lo, hi * hi)

    def widened(self):
        slack = 1e-12 * max(abs(self.lo), abs(self.hi)) + 1e-300
        return Interval(self.lo - slack, self.hi + slack)


def _interval(value) -> Interval:
    return value if isinstance(value, Interval) else Interval(float(value), float(value))


def _sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v)) if v > -700 else 0.0


_FUNCTIONS = {
    "tanh2": lambda v: v.monotone(math.tanh).square(),
    "tanh": lambda v: v.monotone(math.tanh),
    "sig": lambda v: v.monotone(_sigmoid),
    "relu": lambda v: v.monotone(lambda u: max(u, 0.0)),
}
_OPERATORS = [
    (r"\tanh^2(", " tanh2("),
    (r"\tanh(", " tanh("),
    (r"\sigma(", " sig("),
    (r"\operatorname{relu}(", " relu("),
    (r"\cdot", "*"),
    (r"\,", " "),
]


def numeric_value(segment: str) -> Interval | None:
    """The interval of an arithmetic expression of shown numbers; None if it has any symbol."""
    skeleton, numbers = read_numbers(segment)
    expression = skeleton
    for latex, python in _OPERATORS:
        expression = expression.replace(latex, python)
    if re.sub(r"tanh2|tanh|sig|relu|[#+\-*/() ]", "", expression):
        return None
    if not numbers or any(not math.isfinite(n) for n in numbers):
        return None
    counter = iter(range(len(numbers)))
    expression = re.sub("#", lambda _: f"n{next(counter)}", expression)  # each number its own interval
    names = {f"n{k}": Interval.shown(v) for k, v in enumerate(numbers)}
    return eval(expression, {"__builtins__": {}}, names | _FUNCTIONS)  # our own tokens only


_ANNOTATION = re.compile(r"\\quad \\text\{[^{}]*\}")


def equations_of(lines: list[str]) -> list[list[str]]:
    """The equations of substituted lines: a line starting with '=' continues the one above; one
    line may hold several equations separated by ``, \\quad``. Each equation as its '='-segments."""
    joined: list[str] = []
    for line in lines:
        if line.lstrip().startswith("=") and joined:
            joined[-1] += " " + line
        else:
            joined.append(line)
    out = []
    for line in joined:
        for part in line.split(r", \quad"):
            out.append([s.strip() for s in _ANNOTATION.sub("", part).split("=")])
    return out


def false_arithmetic(lines: list[str]) -> list[str]:
    """Every chain of shown numbers that is not true to the precision shown (empty when all hold)."""
    problems = []
    for segments in equations_of(lines):
        values = [(s, numeric_value(s)) for s in segments]
        numeric = [(s, v.widened()) for s, v in values if v is not None]
        for (s1, v1), (s2, v2) in zip(numeric, numeric[1:], strict=False):
            if v1.hi < v2.lo or v2.hi < v1.lo:
                problems.append(f"{s1} = {s2}: {v1} and {v2} do not meet in " + " = ".join(segments))
    return problems


def expected_line(template: str, slots: list[float]) -> tuple[str, list[float]]:
    """What :func:`read_numbers` must give for a line written as ``template``: ``#`` is a number,
    ``#p`` a number that is multiplied (in parentheses when negative); literal numbers (the 1 of
    ``1 - z``) are numbers too. ``slots`` are the values of the ``#``s, in order."""
    values = iter(slots)
    skeleton, numbers = [], []
    for part in re.split(r"(#p|#)", template):
        if part in ("#", "#p"):
            value = next(values)
            skeleton.append("(#)" if part == "#p" and value < 0 else "#")
            numbers.append(value)
        else:
            text, literal = read_numbers(part)
            skeleton.append(text)
            numbers += literal
    leftover = list(values)
    assert not leftover, f"{len(leftover)} values left over for {template!r}"
    return "".join(skeleton), numbers
