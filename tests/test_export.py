"""CSV, JSON and the reproduce-in-Python snippet carry exactly the trace's numbers."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections import defaultdict

import numpy as np
import pytest

import lstmviz
from lstmviz import export


@pytest.fixture(scope="module")
def traces():
    x = lstmviz.encode_text("早上好早")[0]
    return {
        cell: lstmviz.trace(lstmviz.build(cell, x.shape[1], 3, num_layers=2, bidirectional=True, seed=4), x)
        for cell in ("rnn", "lstm", "gru")
    }


def _read_csv(text: str) -> dict[tuple[str, str, str, str], dict[tuple[int, int], float]]:
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == export.CSV_COLUMNS
    blocks: dict = defaultdict(dict)
    for cell, layer, direction, t, quantity, unit, value in rows[1:]:
        blocks[cell, layer, direction, quantity][int(t), int(unit)] = float(value)
    return blocks


def _expected(traces):
    for cell, trace in traces.items():
        yield (cell, "", "", "x"), trace.x
        yield (cell, "", "", "grad_x"), trace.grad_x
        for layer, directions in enumerate(trace.layers):
            for d, lt in enumerate(directions):
                where = (cell, str(layer), ("forward", "reverse")[d])
                yield (*where, "h"), lt.h
                yield (*where, "grad_h"), lt.grad_h
                for gate, values in lt.gates.items():
                    yield (*where, gate), values
                if lt.c is not None:
                    yield (*where, "c"), lt.c
                    yield (*where, "grad_c"), lt.grad_c
                for letter, values in lt.preactivations.items():
                    yield (*where, "a" if cell == "rnn" else f"a_{letter}"), values
                for letter, values in lt.grad_preactivations.items():
                    yield (*where, "grad_a" if cell == "rnn" else f"grad_a_{letter}"), values


def test_csv_holds_every_array_exactly(traces):
    blocks = _read_csv(export.trace_csv(traces))
    expected = dict(_expected(traces))
    assert set(blocks) == set(expected)
    for key, array in expected.items():
        got = np.zeros(array.shape, dtype=np.float32)
        for (t, unit), value in blocks[key].items():
            got[t, unit] = value
        assert len(blocks[key]) == array.size
        np.testing.assert_array_equal(got, array.astype(np.float32), err_msg=str(key))


def test_csv_window_and_value_count(traces):
    text = export.trace_csv(traces, start=1, stop=3)
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert {int(r[3]) for r in rows} == {1, 2}
    assert len(rows) == export.value_count(traces, 1, 3)
    assert export.value_count(traces) == sum(a.size for _, a in _expected(traces))


def test_json_holds_every_array(traces):
    document = json.loads(export.trace_json(traces))
    assert document["format"] == export.JSON_FORMAT
    lstm = document["cells"]["lstm"]
    trace = traces["lstm"]
    assert lstm["spec"]["hidden_size"] == 3 and lstm["loss"] == pytest.approx(trace.loss)
    np.testing.assert_array_equal(np.array(lstm["x"]), trace.x)
    reverse = lstm["layers"][1][1]
    assert reverse["direction"] == "reverse"
    np.testing.assert_array_equal(
        np.array(reverse["gates"]["f"], dtype=np.float32), trace.layers[1][1].gates["f"]
    )
    np.testing.assert_array_equal(np.array(reverse["grad_c"], dtype=np.float32), trace.layers[1][1].grad_c)
    assert document["cells"]["gru"]["layers"][0][0]["c"] is None


def test_json_writes_nonfinite_values_as_null(traces):
    trace = traces["rnn"]
    lt = trace.layers[0][0]
    grad = lt.grad_h.copy()
    grad[0, 0] = np.inf
    layers = ((dataclasses.replace(lt, grad_h=grad), trace.layers[0][1]), trace.layers[1])
    document = json.loads(export.trace_json({"rnn": dataclasses.replace(trace, layers=layers)}, 0, 2))
    assert document["steps"] == [0, 2]
    assert document["cells"]["rnn"]["layers"][0][0]["grad_h"][0][0] is None


@pytest.mark.parametrize(
    "sequence",
    [
        {"preset": "sine", "length": 15, "seed": 0},
        {"mode": "numbers", "text": "0.5, -1, 2; 1, 1, 0"},
        {"mode": "text", "text": "早上好"},
    ],
)
def test_snippet_reproduces_the_traces(tmp_path, monkeypatch, sequence):
    monkeypatch.chdir(tmp_path)
    settings = lstmviz.ModelSettings(hidden_size=4, num_layers=2, bidirectional=True, gru_variant="tutorial",
                                     init="orthogonal", recurrent_scale=1.5, forget_bias=1.0, seed=7)
    code = export.python_snippet(("lstm", "gru", "minlstm"), export.sequence_code(**sequence), settings,
                                 loss="all")
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - the snippet is our own generated code
    assert (tmp_path / "lstmviz_gradients.html").exists()  # written, not shown: nothing blocks
    x = namespace["x"]
    for cell in ("lstm", "gru", "minlstm"):
        options = {"lstm": {"forget_bias": 1.0, "recurrent_scale": 1.5}, "minlstm": {"forget_bias": 1.0},
                   "gru": {"gru_variant": "tutorial", "recurrent_scale": 1.5}}[cell]
        model = lstmviz.build(cell, x.shape[1], 4, num_layers=2, bidirectional=True, init="orthogonal",
                              seed=7, **options)
        expected = lstmviz.trace(model, x, loss="all")
        np.testing.assert_array_equal(namespace["traces"][cell].output, expected.output)
        np.testing.assert_array_equal(namespace["traces"][cell].grad_x, expected.grad_x)
