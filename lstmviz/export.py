"""Traces as downloadable text: tidy CSV, JSON, and a Python snippet that reproduces them.

CSV (:func:`trace_csv`), one value per row, columns ``cell, layer, direction, t, quantity, unit, value``:

- per layer and direction: ``h``, ``c`` (LSTM), each gate by its letter (``i f g o`` / ``r z n`` ...),
  the pre-activations ``a_<row>`` (the RNN's: ``a``), ``grad_h`` = dL/dh_t, ``grad_c`` = dL/dc_t
  (LSTM), and ``grad_a_<row>`` = dL/da_t, the gradient of each row's pre-activation;
- per cell, with ``layer`` and ``direction`` empty: the input ``x`` and ``grad_x`` = dL/dx_t (``unit`` is
  then the input feature).

Values are written with 9 significant digits, enough to recover every float32 exactly; inf and NaN as
``inf``/``nan``. JSON (:func:`trace_json`) holds the same arrays nested as in :class:`~lstmviz.Trace`,
with non-finite values as ``null``. Both take a step window ``[start, stop)`` so a long trace can be
cut to a manageable size; :func:`value_count` says how many values a window holds.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from .model import ModelSettings
from .results import LayerTrace, Trace

CSV_COLUMNS = ("cell", "layer", "direction", "t", "quantity", "unit", "value")
DIRECTIONS = ("forward", "reverse")
JSON_FORMAT = "lstmviz.trace/1"


def _layer_arrays(lt: LayerTrace) -> Iterator[tuple[str, np.ndarray]]:
    yield "h", lt.h
    if lt.c is not None:
        yield "c", lt.c
    yield from lt.gates.items()
    for letter, values in lt.preactivations.items():
        yield ("a" if letter == "h" and not lt.gates else f"a_{letter}"), values
    yield "grad_h", lt.grad_h
    if lt.grad_c is not None:
        yield "grad_c", lt.grad_c
    for row, values in lt.grad_preactivations.items():
        yield ("grad_a" if row == "h" and not lt.gates else f"grad_a_{row}"), values


def _blocks(traces: Mapping[str, Trace]) -> Iterator[tuple[str, str, str, str, np.ndarray]]:
    """(cell, layer, direction, quantity, (T, n) array) for every array the CSV holds."""
    for cell, trace in traces.items():
        yield cell, "", "", "x", trace.x
        yield cell, "", "", "grad_x", trace.grad_x
        for layer, directions in enumerate(trace.layers):
            for direction, lt in enumerate(directions):
                for quantity, values in _layer_arrays(lt):
                    yield cell, str(layer), DIRECTIONS[direction], quantity, values


def value_count(traces: Mapping[str, Trace], start: int = 0, stop: int | None = None) -> int:
    """How many values (CSV rows) the step window ``[start, stop)`` of ``traces`` holds."""
    return sum(values[start:stop].size for *_, values in _blocks(traces))


def trace_csv(traces: Mapping[str, Trace], start: int = 0, stop: int | None = None) -> str:
    """Tidy CSV of ``traces`` (keyed by cell name) over the steps ``[start, stop)``."""
    out = io.StringIO()
    out.write(",".join(CSV_COLUMNS) + "\n")
    for cell, layer, direction, quantity, values in _blocks(traces):
        window = values[start:stop]
        if window.size == 0:
            continue
        steps, width = window.shape
        rows = np.column_stack(
            [
                np.repeat(np.arange(start, start + steps), width),
                np.tile(np.arange(width), steps),
                window.astype(np.float64).ravel(),
            ]
        )
        np.savetxt(out, rows, fmt=f"{cell},{layer},{direction},%d,{quantity},%d,%.9g")
    return out.getvalue()


def trace_json(traces: Mapping[str, Trace], start: int = 0, stop: int | None = None) -> str:
    """JSON of ``traces`` over the steps ``[start, stop)``; non-finite values become ``null``."""
    window = slice(start, stop)
    cells = {}
    for cell, trace in traces.items():
        cells[cell] = {
            "spec": dataclasses.asdict(trace.spec),
            "loss_kind": trace.loss_kind,
            "loss": _finite_or_none(trace.loss),
            "x": _array(trace.x[window]),
            "output": _array(trace.output[window]),
            "grad_x": _array(trace.grad_x[window]),
            "layers": [
                [_layer_json(lt, window, DIRECTIONS[d]) for d, lt in enumerate(directions)]
                for directions in trace.layers
            ],
        }
    shown = len(next(iter(traces.values())).x[window]) if traces else 0
    document = {"format": JSON_FORMAT, "steps": [start, start + shown], "cells": cells}
    return json.dumps(document, ensure_ascii=False, allow_nan=False)


def _layer_json(lt: LayerTrace, window: slice, direction: str) -> dict:
    return {
        "direction": direction,
        "h": _array(lt.h[window]),
        "c": None if lt.c is None else _array(lt.c[window]),
        "gates": {k: _array(v[window]) for k, v in lt.gates.items()},
        "preactivations": {k: _array(v[window]) for k, v in lt.preactivations.items()},
        "grad_h": _array(lt.grad_h[window]),
        "grad_c": None if lt.grad_c is None else _array(lt.grad_c[window]),
        "grad_preactivations": {k: _array(v[window]) for k, v in lt.grad_preactivations.items()},
    }


def _array(values: np.ndarray) -> list:
    wide = values.astype(np.float64)
    if np.all(np.isfinite(wide)):
        return wide.tolist()
    return np.where(np.isfinite(wide), wide, None).tolist()


def _finite_or_none(value: float) -> float | None:
    return value if np.isfinite(value) else None


# ---------------------------------------------------------------------------------------------
# Reproduce in Python


def sequence_code(
    *, mode: str = "numbers", text: str = "", preset: str | None = None, length: int = 20, seed: int = 0
) -> str:
    """The line that makes ``x``: a preset, typed numbers, or one-hot characters."""
    if preset:
        return f"x = lstmviz.preset({preset!r}, length={length}, seed={seed})"
    if mode == "text":
        return f"x, vocabulary = lstmviz.encode_text({text!r})"
    return f"x = lstmviz.parse_sequence({text!r})"


def python_snippet(cells: Sequence[str], sequence: str, settings: ModelSettings, *,
                   loss: str = "last") -> str:
    """Python that rebuilds the same cells and traces with the library API (``sequence``: a line
    from :func:`sequence_code`). It runs from any directory once lstmviz is installed, and writes the
    gradient chart to an HTML file instead of opening a window."""
    return f"""# Reproduces an lstmviz view.
# Needs the lstmviz package: pip install <path to the lstmviz checkout>
import lstmviz
from lstmviz import plots

{sequence}
settings = lstmviz.{settings!r}
traces = {{
    cell: lstmviz.trace(settings.build(cell, x.shape[1]), x, loss={loss!r})
    for cell in {tuple(cells)!r}
}}

# every gate, state and gradient, e.g. traces["lstm"].layers[0][0].gates["f"]  (T, H)
for cell, tr in traces.items():
    print(cell, "loss", tr.loss, "||dL/dh_0||", float((tr.layers[0][0].grad_h[0] ** 2).sum() ** 0.5))
plots.gradient_norms(traces).write_html("lstmviz_gradients.html")
print("wrote lstmviz_gradients.html")
"""
