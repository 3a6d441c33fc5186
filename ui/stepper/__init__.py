r"""The stepper: every step of a view shipped once, stepped forward and backward in the browser.

``stepper(payload, key=...)`` mounts a Streamlit ``st.components.v2`` component that receives all the
steps of a view at once (data contract version 1, below) and switches between them in the browser:
a click, a key or the slider shows the new step within one animation frame, with no script rerun
while stepping. For each cell (1–5, side by side; columns narrower than 300 px wrap to rows) it
draws the cell diagram at step t (forward values, the gradients δh_t/δc_t arriving there, and the
backward paths' widths on one log scale shared by all cells), the path magnitudes, a ‖δh_t‖ strip
(click or drag to move the step) and the equations with the step's numbers (KaTeX, vendored in
``lstmviz/static/katex``). Play forward / Play backward animate all cells in lockstep.

Python API
----------
``stepper(payload: dict, *, key: str) -> StepperState``
    ``StepperState.step`` (int): the sequence position the user settled on: reported after Play
    stops, on slider release, 400 ms after the last key or click (never during Play), or
    ``payload["step"]`` on the run where ``payload["step_token"]`` changed (the browser jumps there).
    ``StepperState.clamp`` (dict | None): ``{"cell": key, "node": node_key, "step": t}`` on the run
    that follows a click on a node whose ``clampable`` is true; None on every other run.

    Reruns keep the user's step, mode (forward / backward / both), speed and play state as long as
    ``step_token`` is unchanged; a new ``step_token`` moves the browser to ``payload["step"]``. Keep
    the payload identical between reruns when nothing changed (Streamlit then resends nothing); do
    not write the user's step back into ``payload["step"]`` without changing ``step_token``.

``encode_payload(payload) -> str``, ``validate_payload(payload) -> list[str]``,
``format_number(value, factor=False) -> str``, ``fill_template(template, slots, k, *, t, tp, tn,
factor_slots) -> str``, ``aligned(lines) -> str``: the helpers the component's JavaScript mirrors.

Data contract (version 1)
-------------------------
``{"version": 1, "T", "times" (K ascending positions), "note", "step", "step_token", "unit_label",
"play_ms", "factor_slots", "cells": [{"key", "label", "colour", "dash", "subtitle", "reverse",
"layout": {"nodes": [{"key", "x", "y", "label", "sub", "kind", "clampable"?}], "edges": [{"from",
"to", "path"}]}, "forward": {node: K values}, "backward": {"grad": {"h", "c"?: K values},
"log10_norm": {"h", "c"?: K values}, "paths": [{"key", "label", "latex", "log10": K values}]},
"equations": {"forward": [templates], "backward": [templates], "slots": {name: K values}}}]}``.
A block may instead be ``{"sets": [[templates], ...], "index": [K set numbers]}`` when its lines
differ between steps (a clamped gate's line, the last processed step's backward lines): step k uses
``sets[index[k]]``.

Layout coordinates lie in a 10 × 6 box with y pointing UP (y = 0 at the bottom, as in the Plotly
diagrams); ``kind`` is sigmoid (coloured on 0…1, cividis), tanh / state / linear (−1…1, blue–orange,
clipped; the number is exact), op or input (neutral). ``forward`` values: null = no value / not
finite. Non-finite numbers anywhere may be given as Python floats (nan, ±inf; the encoder turns them
into the strings "NaN", "Infinity", "-Infinity") or as those strings; ``log10`` values are null when
the norm is 0 or not finite. Paths' ``latex`` is plain LaTeX (not a template). The state nodes named
``h`` and ``c`` carry the δh_t / δc_t badges.

Number format (``format_number``; the JavaScript ``formatNumber`` gives the identical string)
--------------------------------------------------------------------------------------------
1. The value is a number, or None / "NaN" (NaN), or "Infinity" / "-Infinity".
2. NaN -> ``\text{NaN}``; +inf -> ``\infty``; -inf -> ``-\infty``; 0 and -0.0 -> ``0``.
3. Otherwise Python's ``format(v, ".4g")``: 4 significant digits, correctly rounded from the exact
   binary value with ties to even; trailing zeros (and a trailing point) dropped; fixed notation when
   the rounded decimal exponent e satisfies -4 <= e < 4, else scientific, written
   ``m \times 10^{e}`` (m without trailing zeros, e without "+" or leading zeros):
   0.5 -> ``0.5``, 1234.5 -> ``1234`` (tie to even), 12345 -> ``1.234 \times 10^{4}``,
   -3.2e-05 -> ``-3.2 \times 10^{-5}``, 1e-200 -> ``1 \times 10^{-200}``.
4. When the slot is listed in ``factor_slots`` and the result starts with "-", it is wrapped in
   parentheses: ``(-0.1234)``, ``(-\infty)``.

Templates (``fill_template``): exactly ``template.format(**values)`` where ``values`` holds every slot
formatted by rule 1–4 at index k plus the integers ``t`` (the position ``times[k]``), ``tp`` (the
previous processed step: t-1, or t+1 for a ``reverse`` cell) and ``tn`` (t+1, or t-1 reversed):
``{{``/``}}`` are literal braces and ``{name}`` a slot. Write ``c_{{{tp}}}`` for ``c_{11}``;
``c_{{tp}}`` gives the literal ``c_{tp}``. ``aligned(lines)`` joins a block's filled lines into one
``\begin{aligned}…\end{aligned}``; each line gets its ``&`` before its first "=" outside braces, so a
line starting with "=" continues the equation above.
"""

from __future__ import annotations

import base64
import bisect
import functools
import importlib.util
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "KATEX_VERSION",
    "StepperState",
    "aligned",
    "encode_payload",
    "fill_template",
    "format_number",
    "stepper",
    "validate_payload",
]

COMPONENT_NAME = "lstmviz.stepper"
FRONTEND = Path(__file__).resolve().parent / "frontend"
MAX_CELLS = 5
RESERVED_SLOTS = ("t", "tp", "tn")
NODE_KINDS = ("sigmoid", "tanh", "state", "linear", "op", "input")
_STATE_PREFIX = "_lstmviz_stepper::"


@dataclass(frozen=True)
class StepperState:
    """What the stepper reports to Python on this run."""

    step: int
    clamp: dict | None = None


# ---------------------------------------------------------------- number format (mirrored in JS)
def _as_float(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(value, math.nan)
    return float(value)


def format_number(value: Any, factor: bool = False) -> str:
    """A slot's number as LaTeX, by the rules in this module's docstring."""
    v = _as_float(value)
    if math.isnan(v):
        s = r"\text{NaN}"
    elif math.isinf(v):
        s = r"\infty" if v > 0 else r"-\infty"
    elif v == 0:
        s = "0"
    else:
        s = format(v, ".4g")
        if "e" in s:
            mantissa, exponent = s.split("e")
            s = rf"{mantissa} \times 10^{{{int(exponent)}}}"
    if factor and s.startswith("-"):
        s = f"({s})"
    return s


def fill_template(
    template: str,
    slots: dict[str, list],
    k: int,
    *,
    t: int,
    tp: int,
    tn: int,
    factor_slots: frozenset[str] | set[str] | list[str] = (),
) -> str:
    """``template.format(**values)`` with every slot's k-th number formatted (and t, tp, tn)."""
    factors = set(factor_slots)
    values = {name: format_number(seq[k], name in factors) for name, seq in slots.items()}
    values.update(t=t, tp=tp, tn=tn)
    return template.format(**values)


def _first_top_level_equals(line: str) -> int:
    depth = 0
    i = 0
    while i < len(line):
        c = line[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth = max(0, depth - 1)
        elif c == "=" and depth == 0:
            return i
        i += 1
    return -1


def aligned(lines: list[str]) -> str:
    r"""Filled lines as one ``\begin{aligned}…\end{aligned}``, aligned on each line's first top-level =."""
    rows = []
    for line in lines:
        s = line.strip()
        i = _first_top_level_equals(s)
        rows.append(f"& {s}" if i < 0 else f"{s[:i]}&{s[i:]}")
    return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"


# ---------------------------------------------------------------- payload checks and encoding
_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _template_names(template: str) -> tuple[list[str], list[str]]:
    """Slot names a template uses, and the fields our JavaScript cannot fill like str.format."""
    names, bad = [], []
    for m in _FIELD.finditer(template):
        name = m.group(1)
        if name is None:
            continue
        (names if _NAME.match(name) else bad).append(name)
    return names, bad


def validate_payload(payload: dict) -> list[str]:
    """Every way ``payload`` breaks the data contract (an empty list when it follows it)."""
    problems: list[str] = []
    if not isinstance(payload, dict):
        return ["the payload must be a dict"]
    if payload.get("version") != 1:
        problems.append(f"version must be 1, got {payload.get('version')!r}")
    times = payload.get("times")
    if not isinstance(times, (list, tuple)) or not times:
        return [*problems, "times must be a non-empty list of positions"]
    if any(b <= a for a, b in zip(times, times[1:], strict=False)):
        problems.append("times must be strictly ascending")
    cells = payload.get("cells")
    if not isinstance(cells, list) or not 1 <= len(cells) <= MAX_CELLS:
        return [*problems, f"cells must be a list of 1 to {MAX_CELLS} cells"]
    keys = [c.get("key") for c in cells]
    if len(set(keys)) != len(keys):
        problems.append("cell keys must be unique")
    for c in cells:
        problems += _cell_problems(c, len(times))
    return problems


def _length_problems(where: str, seq: Any, steps: int) -> list[str]:
    """A problem unless ``seq`` holds one value per shipped step."""
    try:
        n = len(seq)
    except TypeError:
        return [f"{where} must be a list of {steps} values"]
    return [] if n == steps else [f"{where} has {n} values, expected {steps} (one per entry of times)"]


def _cell_problems(c: dict, steps: int) -> list[str]:
    """How one cell's entry breaks the contract: its diagram, its per-step series, its equations."""
    name = f"cell {c.get('key')!r}"
    problems: list[str] = []
    layout = c.get("layout") or {}
    nodes = layout.get("nodes") or []
    node_keys = {n.get("key") for n in nodes}
    for n in nodes:
        if n.get("kind") not in NODE_KINDS:
            problems.append(f"{name}: node {n.get('key')!r} has kind {n.get('kind')!r}")
    backward = c.get("backward") or {}
    path_keys = {p.get("key") for p in backward.get("paths") or []}
    for e in layout.get("edges") or []:
        if e.get("from") not in node_keys or e.get("to") not in node_keys:
            problems.append(f"{name}: edge {e.get('from')!r} -> {e.get('to')!r} names a missing node")
        if e.get("path") is not None and e.get("path") not in path_keys:
            problems.append(f"{name}: edge {e.get('from')!r} -> {e.get('to')!r} names a missing path")
    series = [(f"{name}: forward[{key!r}]", seq) for key, seq in (c.get("forward") or {}).items()]
    for part in ("grad", "log10_norm"):
        series += [
            (f"{name}: backward.{part}[{key!r}]", seq) for key, seq in (backward.get(part) or {}).items()
        ]
    series += [(f"{name}: path {p.get('key')!r} log10", p.get("log10")) for p in backward.get("paths") or []]
    for where, seq in series:
        problems += _length_problems(where, seq, steps)
    return problems + _equation_problems(name, c.get("equations") or {}, steps)


def _equation_problems(name: str, eq: dict, steps: int) -> list[str]:
    """How a cell's equation templates and their slots break the contract."""
    problems: list[str] = []
    slots = eq.get("slots") or {}
    for key, seq in slots.items():
        if key in RESERVED_SLOTS:
            problems.append(f"{name}: slot name {key!r} is reserved for the step numbers")
        problems += _length_problems(f"{name}: slot {key!r}", seq, steps)
    for block in ("forward", "backward"):
        variants = eq.get(block) or []
        if isinstance(variants, dict):  # {"sets": [[templates] ...], "index": K set numbers}
            problems += _length_problems(f"{name}: equations.{block}.index", variants.get("index"), steps)
            sets = variants.get("sets") or []
            if any(not 0 <= i < len(sets) for i in variants.get("index") or []):
                problems.append(f"{name}: equations.{block}.index names a set that does not exist")
            variants = [template for templates in sets for template in templates]
        for template in variants:
            used, bad = _template_names(template)
            problems += [
                f"{name}: template field {{{b}}} is not a plain slot name: {template!r}" for b in bad
            ]
            problems += [
                f"{name}: template uses the unknown slot {{{u}}}: {template!r}"
                for u in used
                if u not in slots and u not in RESERVED_SLOTS
            ]
    return problems


def _json_default(value: Any) -> Any:
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars
    if tolist is not None:
        return tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_NONFINITE = re.compile(r'("(?:[^"\\]|\\.)*")|-?Infinity|NaN')


def _quote_nonfinite(match: re.Match) -> str:
    return match.group(1) or f'"{match.group(0)}"'


def encode_payload(payload: dict) -> str:
    """The payload as strict JSON: numpy values as lists, non-finite floats as "NaN"/"±Infinity"."""
    text = json.dumps(
        payload, allow_nan=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
    )
    if "NaN" in text or "Infinity" in text:
        text = _NONFINITE.sub(_quote_nonfinite, text)
    return text


# ---------------------------------------------------------------- the component
def katex_dir() -> Path:
    """The vendored KaTeX (katex.min.js, katex.min.css, fonts/*.woff2, LICENSE, VERSION).

    Found through lstmviz's import spec, without importing lstmviz: a checkout or an installed copy.
    """
    spec = importlib.util.find_spec("lstmviz")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("lstmviz (which ships static/katex) is not importable")
    return Path(next(iter(spec.submodule_search_locations))) / "static" / "katex"


def _katex_version() -> str:
    try:
        first = (katex_dir() / "VERSION").read_text(encoding="utf-8").splitlines()[0]
    except OSError:
        return "unknown"
    return first.split()[-1]


KATEX_VERSION = _katex_version()

_FONT_FACE = re.compile(r"@font-face\{[^}]*\}")
_WOFF2 = re.compile(r"url\((fonts/[A-Za-z0-9_-]+\.woff2)\)")


@functools.cache
def assets() -> tuple[str, str]:
    """(css, js) of the component, read once: the front-end sources plus the vendored KaTeX.

    KaTeX's @font-face rules are ignored inside a shadow root, so the JavaScript puts them into the
    document once, with the woff2 fonts as data: URLs; the rest of katex.min.css goes into the
    component's own (shadow-root) CSS.
    """
    kdir = katex_dir()
    katex_css = (kdir / "katex.min.css").read_text(encoding="utf-8")
    faces = []
    for rule in _FONT_FACE.findall(katex_css):
        m = _WOFF2.search(rule)
        if not m:
            continue
        data = base64.b64encode((kdir / m.group(1)).read_bytes()).decode("ascii")
        src = f'src:url(data:font/woff2;base64,{data}) format("woff2")'
        faces.append(re.sub(r"src:[^;}]*", src, rule))
    css = _FONT_FACE.sub("", katex_css) + "\n" + (FRONTEND / "stepper.css").read_text(encoding="utf-8")
    katex_js = (kdir / "katex.min.js").read_text(encoding="utf-8")
    js = "\n".join(
        [
            f"// KaTeX {KATEX_VERSION} (MIT, see lstmviz/static/katex/LICENSE), loaded as a local module.",
            f"const KATEX_FONT_FACES = {json.dumps(''.join(faces))};",
            "const katex = (() => {",
            "  const module = { exports: {} };",
            "  const exports = module.exports;",
            katex_js,
            "  return module.exports;",
            "})();",
            (FRONTEND / "format.js").read_text(encoding="utf-8"),
            (FRONTEND / "stepper.js").read_text(encoding="utf-8"),
        ]
    )
    return css, js


@functools.cache
def _component():
    import streamlit as st

    css, js = assets()
    return st.components.v2.component(COMPONENT_NAME, html=None, css=css, js=js, isolate_styles=True)


def _noop() -> None:
    return None


def _nearest(times: list, step: Any) -> int:
    """The position of ``times`` nearest to ``step`` (the earlier one on a tie), as the browser picks."""
    if step is None:
        return int(times[0])
    i = bisect.bisect_right(times, step)
    if i == 0:
        return int(times[0])
    if i == len(times):
        return int(times[-1])
    before, after = times[i - 1], times[i]
    return int(before if step - before <= after - step else after)


def stepper(payload: dict, *, key: str) -> StepperState:
    """Mount the stepper for ``payload`` (data contract version 1) under ``key``; see the module doc."""
    import streamlit as st

    problems = validate_payload(payload)
    if problems:
        raise ValueError("stepper payload does not follow the data contract:\n- " + "\n- ".join(problems))
    data = '{"key":' + json.dumps(str(key)) + ',"payload":' + encode_payload(payload) + "}"
    result = _component()(
        key=key,
        data=data,
        on_step_change=_noop,
        on_clamp_change=_noop,
        width="stretch",
        height="content",
    )
    reported = result.get("step")
    token = payload.get("step_token")
    memo_key = _STATE_PREFIX + str(key)
    memo = st.session_state.get(memo_key)
    if memo is None or memo["token"] != token:
        # Python moved the step (or first run): the browser jumps to the shipped position nearest to it.
        memo = {"token": token, "step": _nearest(payload["times"], payload.get("step")), "seen": reported}
    elif reported is not None and reported != memo["seen"]:
        memo = {**memo, "step": int(reported), "seen": reported}
    st.session_state[memo_key] = memo
    clamp = result.get("clamp")
    return StepperState(step=memo["step"], clamp=clamp if isinstance(clamp, dict) else None)
