"""The cells' equations as LaTeX: symbolic forward equations, the BPTT recursions, and KaTeX layout.

Each cell writes its own equations (:mod:`lstmviz.cells`) exactly as its code computes them, in
PyTorch's convention (separate input and recurrent matrices, two biases, rows in ``state_dict``
order); this module gathers them. :func:`aligned` lays lines out for ``st.latex`` or KaTeX, aligned on
each line's first top-level relation. Step-by-step numbers are in :mod:`lstmviz.steps`.
"""

from __future__ import annotations

from .cells import cell_for
from .model import ModelSpec

RELATIONS = ("=", r"\le")
NOTATION = (
    "t = 0 … T indexes the steps (T is the last); δh_t = ∂L/∂h_t and δc_t = ∂L/∂c_t are total "
    "derivatives, through every later step; δa_t = ∂L/∂a_t for a row's pre-activation a_t; "
    "∂ℓ_t/∂h_t is the part of δh_t from outside the recurrence: the loss at step t (top layer) or the "
    "layer above. h₋₁ and c₋₁ are the initial state (a reverse direction starts from h_(T+1)): the h0, c0 "
    "given to PyTorch or lstmviz.trace, 0 by default. In layer l > 0, x_t is the h_t of layer l − 1 (both "
    "directions side by side). The recursions shown are the forward direction's: a reverse direction "
    "processes t + 1 before t, so it reads t − 1 where they say t + 1. σ is the logistic sigmoid, ⊙ the "
    "element-wise product."
)


def equations(spec: ModelSpec) -> list[str]:
    """The forward equations of ``spec``'s cell, symbolic."""
    return cell_for(spec).equations()


def bptt(spec: ModelSpec, direction: int = 0) -> list[str]:
    """The backward recursions of ``spec``'s cell; a reverse direction reads t-1 for t+1."""
    nxt, prv = ("t-1", "t+1") if direction else ("t+1", "t-1")
    return cell_for(spec).bptt(nxt, prv)


def first_relation(line: str) -> int | None:
    """Index of the first ``=`` or ``\\le`` outside any brace group (None if there is none)."""
    depth = 0
    i = 0
    while i < len(line):
        char = line[i]
        if char == "\\":
            if depth == 0 and line.startswith(r"\le", i) and not line[i + 3 : i + 4].isalpha():
                return i
            i += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "=" and depth == 0:
            return i
        i += 1
    return None


def aligned(lines: list[str], small: bool = False) -> str:
    """One KaTeX ``aligned`` block: each line aligned on its first top-level relation.

    A line that starts with ``=`` continues the equation above it.
    """
    rows = []
    for line in lines:
        at = first_relation(line)
        rows.append("&" + line if at is None else line[:at] + "&" + line[at:])
    return (r"\small" if small else "") + r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"
