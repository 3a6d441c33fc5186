"""The numbers lessons quote, each computed from the live trace: lesson texts never type a number.

A lesson's sentence is a template with named fields; each field is a :class:`Fact`, evaluated on the
view of the lesson part's own settings (so the text stays true whatever the visitor changes after).
``tests/test_lessons.py`` recomputes every kind of fact from the trace arrays on its own and checks
the numbers shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lstmviz import backward_flows, summaries

from .compute import View


@dataclass(frozen=True)
class Fact:
    """A number read off a view: ``kind`` with its arguments (``cell``, ``gate``, ``t`` ...)."""

    kind: str
    cell: str = ""
    args: dict = field(default_factory=dict)

    def value(self, view: View):
        return FACTS[self.kind](view, self)

    def text(self, view: View) -> str:
        value = self.value(view)
        return value if isinstance(value, str) else FORMATS.get(self.kind, "{:.3g}").format(value)


def _trace(view: View, fact: Fact):
    return view.traces[fact.cell]


def horizon(view: View, fact: Fact):
    h = summaries.gradient_horizon(_trace(view, fact))
    return h.steps if h.steps is not None else f"more than {h.available}"


def horizon_step(view: View, fact: Fact):
    """The step where the gradient first falls below the horizon's threshold: T - horizon."""
    h = summaries.gradient_horizon(_trace(view, fact))
    return "no step" if h.steps is None else view.steps - 1 - h.steps


def value_at(view: View, fact: Fact) -> float:
    """A gate's or a state's value at step ``t`` for ``unit``."""
    lt = _trace(view, fact).layers[0][0]
    name = fact.args["name"]
    values = lt.gates[name] if name in lt.gates else getattr(lt, name)
    return float(values[fact.args["t"], fact.args.get("unit", 0)])


def horizon_phrase(view: View, fact: Fact) -> str:
    """How far the gradient reaches, as a phrase that is true either way."""
    h = summaries.gradient_horizon(_trace(view, fact))
    if h.steps is None:
        return f"stays above 10⁻³ of its value at T for all {h.available} steps back"
    return f"falls below 10⁻³ of its value at T after {h.steps} steps back"


def pascanu_reading(view: View, fact: Fact) -> str:
    """What the Pascanu bound says for the RNN's W_hh, as a phrase that is true either way."""
    sigma = sigma_max(view, fact)
    if sigma < 1:
        return (f"σ_max(W_hh) = {sigma:.3f} is below 1, so the bound forces the gradient to vanish at least "
                f"as fast as {sigma:.3f}^(T−t)")
    return (f"σ_max(W_hh) = {sigma:.3f} is not below 1, so the bound alone does not force vanishing here; "
            "the tanh's slopes 1 − h² < 1 shrink each step further")


def decade(view: View, fact: Fact):
    value = summaries.steps_per_decade(_trace(view, fact))
    return "no" if value is None else value


def retained(view: View, fact: Fact) -> float:
    lt = _trace(view, fact).layers[0][0]
    norms = np.linalg.norm(lt.grad_c if fact.args.get("state") == "c" else lt.grad_h, axis=1)
    return float(norms[0] / norms[-1])


def mean_gate(view: View, fact: Fact) -> float:
    """The mean of a gate over all steps and units (or of 1 minus it, with ``complement``)."""
    mean = float(np.mean(_trace(view, fact).layers[0][0].gates[fact.args["gate"]]))
    return 1.0 - mean if fact.args.get("complement") else mean


def sigma_max(view: View, fact: Fact) -> float:
    return float(np.linalg.norm(_trace(view, fact).model.params(0, 0)["weight_hh"], 2))


def grad_norm(view: View, fact: Fact) -> float:
    return float(np.linalg.norm(_trace(view, fact).layers[0][0].grad_h[fact.args["t"]]))


def highway_share(view: View, fact: Fact) -> float:
    """Share of ‖δc_t‖'s two terms that the highway δc_{t+1} ⊙ f_{t+1} carries (norms), at ``t``."""
    t = fact.args["t"]
    flows = backward_flows(_trace(view, fact))
    lt = _trace(view, fact).layers[0][0]
    highway = np.linalg.norm(flows["highway"][t + 1])
    local = np.linalg.norm(lt.grad_c[t] - flows["highway"][t + 1])
    return float(highway / (highway + local))


def shape(view: View, fact: Fact) -> str:
    tr = _trace(view, fact)
    which = fact.args["of"]
    array = {"output": tr.output, "h_n": tr.h_n}.get(which)
    if array is None:
        array = tr.c_n
    return "(" + ", ".join(map(str, array.shape)) + ")"


def steps(view: View, fact: Fact) -> int:
    return view.steps


def last_step(view: View, fact: Fact) -> int:
    return view.steps - 1


def exploded(view: View, fact: Fact) -> int:
    return int(sum(view.nonfinite.get(fact.cell, {}).values()))


def carry_product(view: View, fact: Fact) -> float:
    """Mean over units of the product of the cell's keep factor over every step after t = 0."""
    tr = _trace(view, fact)
    factor = tr.cell.carry(tr.runs[0][0])
    return float(np.mean(np.prod(factor[1:], axis=0)))


FACTS = {
    "horizon": horizon,
    "horizon_phrase": horizon_phrase,
    "pascanu_reading": pascanu_reading,
    "horizon_step": horizon_step,
    "value_at": value_at,
    "decade": decade,
    "retained": retained,
    "mean_gate": mean_gate,
    "sigma_max": sigma_max,
    "grad_norm": grad_norm,
    "highway_share": highway_share,
    "shape": shape,
    "steps": steps,
    "last_step": last_step,
    "exploded": exploded,
    "carry_product": carry_product,
}
FORMATS = {
    "horizon": "{}",
    "horizon_step": "{}",
    "value_at": "{:.3g}",
    "decade": "{:.1f}",
    "retained": "{:.2g}",
    "mean_gate": "{:.2f}",
    "sigma_max": "{:.3f}",
    "grad_norm": "{:.2g}",
    "highway_share": "{:.0%}",
    "steps": "{}",
    "last_step": "{}",
    "exploded": "{:,}",
    "carry_product": "{:.2g}",
}
