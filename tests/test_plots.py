"""Figures, the cell diagram, substituted equations and summaries: pure functions of a trace."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import plotly.graph_objects as go
import pytest

import lstmviz
from lstmviz import diagram, equations, plots, steps, summaries

MB = 1_000_000


def _traces(length=12, hidden=5, **options) -> dict[str, lstmviz.Trace]:
    x = lstmviz.preset("noise", length=length, seed=1)
    return {
        cell: lstmviz.trace(
            lstmviz.build(cell, 1, hidden, forget_bias=1.0 if cell == "lstm" else 0.0, **options), x
        )
        for cell in ("rnn", "lstm", "gru")
    }


@pytest.fixture(scope="module")
def traces():
    return _traces()


@pytest.fixture(scope="module")
def deep_traces():
    return _traces(num_layers=2, bidirectional=True)


def _names(fig: go.Figure) -> list[str]:
    return [trace.name for trace in fig.data]


def _y(trace) -> np.ndarray:
    """A trace's y as float64 (plotly may hold it as a typed array)."""
    return np.asarray(trace.y, dtype=np.float64)


@pytest.mark.parametrize("cell, expected", [("rnn", ["h"]), ("lstm", list("ifgoch")), ("gru", list("rznh"))])
def test_state_heatmaps_one_panel_per_gate_and_state_with_cursor(traces, cell, expected):
    fig = plots.state_heatmaps(traces[cell], t=4)
    assert [type(t).__name__ for t in fig.data] == ["Heatmap"] * len(expected)
    assert _names(fig) == expected
    lt = traces[cell].layers[0][0]
    first = fig.data[0]
    source = lt.gates[expected[0]] if lt.gates else lt.h
    np.testing.assert_array_equal(np.asarray(first.z), source.T.astype(np.float32))
    assert {shape.x0 for shape in fig.layout.shapes} == {4}


def test_state_heatmaps_reads_the_chosen_layer_and_direction(deep_traces):
    fig = plots.state_heatmaps(deep_traces["gru"], layer=1, direction=1)
    np.testing.assert_array_equal(
        np.asarray(fig.data[-1].z), deep_traces["gru"].layers[1][1].h.T.astype(np.float32)
    )
    assert "layer 1, reverse" in fig.layout.title.text


def test_gate_bars_show_each_gate_at_t(traces):
    fig = plots.gate_bars(traces["lstm"], t=3)
    assert _names(fig) == list("ifgo")
    np.testing.assert_allclose(_y(fig.data[1]), traces["lstm"].layers[0][0].gates["f"][3])
    assert _names(plots.gate_bars(traces["rnn"], t=3)) == ["h"]


def test_unit_lines_one_line_per_unit_and_quantity(traces):
    fig = plots.unit_lines(traces["gru"], [0, 2])
    assert len(fig.data) == 4 * 2
    np.testing.assert_allclose(_y(fig.data[1]), traces["gru"].layers[0][0].gates["r"][:, 2])


def test_gradient_norms_one_line_per_cell_on_a_log_scale(traces):
    fig = plots.gradient_norms(traces)
    assert _names(fig) == ["RNN", "LSTM", "GRU (PyTorch)"]
    assert fig.layout.yaxis.type == "log"
    for line, trace in zip(fig.data, traces.values(), strict=True):
        expected = np.linalg.norm(trace.layers[0][0].grad_h.astype(np.float64), axis=1)
        np.testing.assert_allclose(_y(line), expected)
    assert _names(plots.gradient_norms(traces, "c")) == ["LSTM"]
    grad_x = plots.gradient_norms(traces, "x")
    np.testing.assert_allclose(_y(grad_x.data[0]), np.abs(traces["rnn"].grad_x[:, 0]), rtol=1e-6)


def test_gradient_heatmap_is_log10_of_the_magnitudes(traces):
    fig = plots.gradient_heatmap(traces["lstm"])
    expected = np.log10(np.abs(traces["lstm"].layers[0][0].grad_h.astype(np.float32))).T
    np.testing.assert_allclose(np.asarray(fig.data[0].z), expected, rtol=1e-5)


def test_jacobian_figure_draws_the_bound_and_the_forget_path(traces):
    x = traces["rnn"].x
    norms = {cell: lstmviz.jacobian_norms(trace)[0][0] for cell, trace in traces.items()}
    fig = plots.jacobian_figure(norms, traces)
    names = _names(fig)
    assert any("Pascanu" in n and n.startswith("RNN") for n in names)
    assert any("∏ f_k" in n and n.startswith("LSTM") for n in names)
    assert any("∏ z_k" in n and n.startswith("GRU") for n in names)
    assert sum(n.endswith("‖∂s_T/∂s_t‖") for n in names) == 3
    del x
    np.testing.assert_allclose(_y(fig.data[0]), norms["rnn"].to_last)


def test_jacobian_figure_says_when_the_window_is_cut(traces):
    jn = lstmviz.jacobian_norms(traces["gru"], max_steps=10)[0][0]
    title = plots.jacobian_figure({"gru": jn}, traces).layout.title.text
    assert "computed for the last steps only" in title and "GRU (PyTorch) 10" in title


def test_saturation_counts_the_flat_tails():
    x = np.zeros((4, 1))
    trace = lstmviz.trace(lstmviz.build("lstm", 1, 2, forget_bias=6.0), x)
    f_row = next(r for r in summaries.saturation(trace) if r.gate == "f")
    expected = float(np.mean(trace.layers[0][0].gates["f"] > 0.9))
    assert f_row.high == pytest.approx(expected) and f_row.high > 0.5
    fig = plots.saturation_bars({"lstm": trace})
    assert _names(fig) == ["low tail", "high tail"]
    assert list(fig.data[1].x) == ["LSTM i", "LSTM f", "LSTM g", "LSTM o"]


def test_gradient_horizon_counts_steps_back_from_t():
    trace = _traces(length=30, hidden=16)["rnn"]
    norms = summaries.gradient_norms(trace)
    horizon = summaries.gradient_horizon(trace)
    k = horizon.steps
    assert norms[-1 - k] < 1e-3 * norms[-1] <= norms[-k:].min()
    unlimited = summaries.gradient_horizon(trace, threshold=1e-30)
    assert unlimited.steps is None and unlimited.describe().startswith("> 29")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("unit", [None, 2])
def test_cell_diagram_shows_the_values_of_step_t(traces, cell, unit):
    trace = traces[cell]
    fig = diagram.cell_diagram(trace, 6, unit=unit)
    values = {
        re.sub("<[^>]+>", "", text.split("<br>")[0]): value
        for data in fig.data
        if data.customdata is not None
        for text, value in zip(data.text, data.customdata, strict=True)
    }
    h = trace.layers[0][0].h[6]
    assert values["ht"] == pytest.approx(float(h.mean() if unit is None else h[unit]), rel=1e-6)
    for gate, series in trace.layers[0][0].gates.items():
        label = next(n.label for n in trace.cell.layout().nodes if n.key == gate)
        expected = series[6].mean() if unit is None else series[6][unit]
        assert values[label] == pytest.approx(float(expected), rel=1e-6)
    assert len(fig.layout.annotations) >= 4  # the arrows


def test_cell_diagram_says_where_the_pass_starts(traces):
    fig = diagram.cell_diagram(traces["lstm"], 0, unit=1)
    assert "initial state before" in fig.layout.title.text
    assert "mean of 5 units" in diagram.cell_diagram(traces["lstm"], 3, unit=None).layout.title.text


def test_substituted_equations_hold_for_the_unit():
    x = lstmviz.preset("noise", length=12, seed=1)
    trace = lstmviz.trace(lstmviz.build("gru", 1, 5, gru_variant="tutorial"), x)
    lines = steps.substituted(trace, 5, unit=3)
    lt = trace.layers[0][0]
    r, z, n = (lt.gates[k][5][3] for k in "rzn")
    h_prev, h = lt.h[4][3], lt.h[5][3]
    assert h == pytest.approx((1 - z) * h_prev + z * n, abs=1e-6)
    assert lines[-2] == (
        rf"= (1 - {_factor(z)}) \cdot {_factor(h_prev)} + {z:.4g} \cdot {_factor(n)}"
    )
    assert lines[-1] == f"= {h:.4g}"
    assert lines[0] == rf"r_{{5}} = \sigma({lt.preactivations['r'][5][3]:.4g}) = {r:.4g}"


def _factor(value: float) -> str:
    text = f"{value:.4g}"
    return f"({text})" if text.startswith("-") else text


@pytest.mark.parametrize("cell", lstmviz.CELL_NAMES)
def test_equations_name_every_gate(cell):
    spec = lstmviz.ModelSpec(cell, 1, 4)
    text = " ".join(equations.equations(spec)) + " ".join(equations.bptt(spec))
    trace_cell = lstmviz.cells.cell_for(spec)
    for letter in (*trace_cell.gates, "h"):
        symbol = trace_cell.symbol(letter)
        assert f"{symbol}_t" in text or f"{symbol}_{{t" in text, letter


def test_nonfinite_values_are_blanked_and_counted(traces):
    trace = traces["rnn"]
    lt = trace.layers[0][0]
    grad = lt.grad_h.copy()
    grad[:3] = np.inf
    broken = dataclasses.replace(trace, layers=((dataclasses.replace(lt, grad_h=grad),),))
    assert summaries.nonfinite_counts(broken) == {"grad_h [layer 0]": 15}
    fig = plots.gradient_norms({"rnn": broken})
    assert np.isnan(_y(fig.data[0])[:3]).all() and np.isfinite(_y(fig.data[0])[3:]).all()
    assert "3 values are inf/NaN" in fig.layout.title.text
    json.loads(fig.to_json())  # still a valid figure


# ---------------------------------------------------------------------------------------------
# Payload at the largest sizes the app allows


@pytest.fixture(scope="module")
def huge():
    x = lstmviz.preset("noise", length=10_000)
    return {
        cell: lstmviz.trace(lstmviz.build(cell, 1, 256, recurrent_scale=2.0), x) for cell in ("lstm", "gru")
    }


def _huge_figures(huge):
    count = 10_000
    norms = lstmviz.JacobianNorms(np.linspace(1, 2, count), np.ones(count), np.ones((count, 256)),
                                  np.ones(count), np.ones(count, dtype=bool))
    yield "jacobian", plots.jacobian_figure({"lstm": norms, "gru": norms}, huge)
    yield "gradient norms", plots.gradient_norms(huge)
    yield "grad x", plots.gradient_norms(huge, "x")
    yield "saturation", plots.saturation_bars(huge)
    for cell, trace in huge.items():
        yield f"{cell} heatmaps", plots.state_heatmaps(trace, t=5000)
        yield f"{cell} bars", plots.gate_bars(trace, 5000)
        yield f"{cell} lines", plots.unit_lines(trace, list(range(8)))
        yield f"{cell} gradient heatmap", plots.gradient_heatmap(trace)
        yield f"{cell} diagram", diagram.cell_diagram(trace, 5000)


def test_every_figure_stays_under_1_mb_at_max_length(huge):
    sizes = {name: len(fig.to_json()) for name, fig in _huge_figures(huge)}
    assert max(sizes.values()) < MB, sizes


def test_big_figures_say_how_they_were_reduced(huge):
    heat = plots.state_heatmaps(huge["lstm"])
    assert "units 0–63 of 256" in heat.layout.title.text
    assert "mean over bins of" in heat.layout.title.text
    lines = plots.unit_lines(huge["gru"], [0, 1])
    assert re.search(r"1 step in \d+ shown", lines.layout.title.text)
