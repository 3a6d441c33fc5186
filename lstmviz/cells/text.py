"""LaTeX pieces the cells share, and the one number format of every substituted equation.

Templates are ``str.format`` strings: ``{name}`` is a number (a slot), ``{name:p}`` a number that is
multiplied or subtracted (negative ones in parentheses), ``{{``/``}}`` are literal braces, ``{t}`` is
the step, ``{tp}`` the step processed before it and ``{tn}`` the one after it. :func:`fill` writes
numbers with :func:`number`; the in-browser stepper formats with the same rules.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def escape(latex: str) -> str:
    """LaTeX made safe to sit inside a template (its braces doubled)."""
    return latex.replace("{", "{{").replace("}", "}}")


def affine(row: str, bias: bool, recurrent: bool = True) -> str:
    """``W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}``: a row's pre-activation, as computed."""
    parts = [rf"W_{{i{row}}} x_t"]
    if bias:
        parts.append(rf"b_{{i{row}}}")
    if recurrent:
        parts.append(rf"W_{{h{row}}} h_{{t-1}}")
        if bias:
            parts.append(rf"b_{{h{row}}}")
    return " + ".join(parts)


def input_gradient(delta: str, bidirectional: bool) -> str:
    """``dL/dx_t = W_ih^T delta``: a bidirectional layer's input gets this from both directions."""
    both = r"\sum_{\text{both directions}} " if bidirectional else ""
    return r"\frac{\partial L}{\partial x_t} = " + both + r"W_{ih}^{\top}\, " + delta


def gate_line(letter: str, activation: str, clamped: bool, symbol: str | None = None,
              slot: str | None = None) -> str:
    """Template of one gate at one step: ``f_{5} = \\sigma(2.063) = 0.8872``.

    ``activation`` is LaTeX (``\\sigma``, ``\\tanh``) or "" for a linear row; a clamped gate shows
    its clamped value and says so (the activation of its pre-activation is not what was used).
    """
    name = escape(symbol or letter) + "_{{{t}}}"
    slot = slot or letter
    if clamped:
        return name + " = {" + slot + r"} \quad \text{{(clamped)}}"
    if not activation:
        return name + " = {" + slot + "}"
    return name + " = " + escape(activation) + "({a_" + slot + "}) = {" + slot + "}"


def clamped_line(name: str) -> str:
    """Template of a state replaced by a clamp: its value alone (the update it replaced is not it)."""
    return escape(name) + "_{{{t}}} = {" + name + r"} \quad \text{{(clamped)}}"


def number(value: float) -> str:
    """4 significant digits; ``1.2 \\times 10^{-5}`` for small or large ones; NaN and infinities."""
    value = float(value)
    if math.isnan(value):
        return r"\text{NaN}"
    if math.isinf(value):
        return r"\infty" if value > 0 else r"-\infty"
    if value == 0:
        return "0"
    text = f"{value:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


def factor(value: float) -> str:
    """A number that is multiplied: negative numbers in parentheses."""
    text = number(value)
    return f"({text})" if text.startswith("-") else text


class _Shown(float):
    """A number as a template shows it: ``{x}`` plain, ``{x:p}`` as a factor."""

    def __format__(self, spec: str) -> str:
        return factor(float(self)) if spec == "p" else number(float(self))


def fill(templates: Sequence[str], values: Mapping[str, float], *, t: int, tp: int | str,
         tn: int | str) -> list[str]:
    """The templates with the numbers of one unit at one step."""
    shown = {name: _Shown(v) for name, v in values.items()}
    return [line.format(t=t, tp=tp, tn=tn, **shown) for line in templates]
