"""The stepper's payload: the browser's equations are the library's, number for number, at every step."""

from __future__ import annotations

import numpy as np
import pytest

import lstmviz
from lstmviz import steps
from lstmviz.payload import MAX_VALUES, per_step_values, stepper_payload
from ui.stepper import encode_payload, fill_template, validate_payload

OPTIONS = [("rnn", {"nonlinearity": "relu"}), ("lstm", {"proj_size": 2}),
           ("gru", {"gru_variant": "tutorial"}),
           ("mingru", {}), ("minlstm", {}), ("rnn", {}), ("lstm", {}), ("gru", {})]


def _traces(length=12, group=0):
    """Five cells (a payload's most): the first group has every kind, the second the other options."""
    x = np.random.default_rng(0).normal(size=(length, 2))
    traces = {}
    for k, (cell, options) in list(enumerate(OPTIONS))[5 * group : 5 * group + 5]:
        model = lstmviz.build(cell, 2, 4, num_layers=2, bidirectional=True, seed=k, **options)
        clamps = [lstmviz.Clamp("h", 0.5, (3, 5), layer=1, direction=1)]
        traces[f"{cell}{k}"] = lstmviz.trace(model, x, dtype="float64", interventions=clamps,
                                             h0=np.full((4, model.spec.output_size), 0.25))
    return traces


def _lines(block, k):
    return block["sets"][block["index"][k]] if isinstance(block, dict) else block


@pytest.mark.parametrize("group", [0, 1])
@pytest.mark.parametrize("layer, direction", [(0, 0), (1, 1)])
@pytest.mark.parametrize("unit", [0, 3])
def test_every_step_of_every_cell_shows_the_library_equations(layer, direction, unit, group):
    traces = _traces(group=group)
    payload = stepper_payload(traces, {k: k for k in traces}, layer=layer, direction=direction, unit=unit)
    assert validate_payload(payload) == []
    for cell in payload["cells"]:
        trace = traces[cell["key"]]
        for k, t in enumerate(payload["times"]):
            tp, tn = (t + 1, t - 1) if direction else (t - 1, t + 1)
            for block, library in (("forward", steps.substituted), ("backward", steps.substituted_backward)):
                shown = [fill_template(line, cell["equations"]["slots"], k, t=t, tp=tp, tn=tn,
                                       factor_slots=payload["factor_slots"])
                         for line in _lines(cell["equations"][block], k)]
                assert shown == library(trace, t, layer, direction, unit), (cell["key"], block, t)


def test_diagram_values_gradients_and_paths_are_the_traces():
    traces = _traces(group=1)
    payload = stepper_payload(traces, {k: k for k in traces}, unit=1)
    lstm = next(c for c in payload["cells"] if c["key"] == "lstm6")
    lt = traces["lstm6"].layers[0][0]
    np.testing.assert_allclose(lstm["forward"]["f"], lt.gates["f"][:, 1], rtol=1e-6)
    np.testing.assert_allclose(lstm["backward"]["grad"]["c"], lt.grad_c[:, 1], rtol=1e-6)
    flows = lstmviz.backward_flows(traces["lstm6"])
    expected = np.log10(np.linalg.norm(flows["highway"], axis=1))
    shipped = np.array([np.nan if v is None else v for v in lstm["backward"]["paths"][0]["log10"]])
    finite = np.isfinite(expected)
    np.testing.assert_allclose(shipped[finite], expected[finite], atol=1e-4)


def test_the_mean_over_units_is_labelled_and_lists_means():
    traces = _traces(group=1)
    payload = stepper_payload(traces, {k: k for k in traces}, unit=None)
    assert payload["unit_label"].startswith("mean over 4 units")
    gru = next(c for c in payload["cells"] if c["key"] == "gru7")
    assert gru["equations"]["forward"][0].startswith(r"\overline{{r}}")
    np.testing.assert_allclose(gru["equations"]["slots"]["mean_z"],
                               traces["gru7"].layers[0][0].gates["z"].mean(1), rtol=1e-6)


def test_a_long_view_ships_a_window_around_the_step_and_says_so():
    x = lstmviz.preset("noise", 6000)
    traces = {c: lstmviz.trace(lstmviz.build(c, 1, 8), x, dtype="float64") for c in lstmviz.CELL_NAMES}
    payload = stepper_payload(traces, {k: k for k in traces}, step=5000)
    times = payload["times"]
    assert times[0] <= 5000 <= times[-1] and len(times) < 6000
    assert payload["note"] == f"steps {times[0]:,}–{times[-1]:,} of 6,000 shown"
    assert len(times) * per_step_values(traces) <= MAX_VALUES + per_step_values(traces)
    assert len(encode_payload(payload)) < 3_500_000


@pytest.mark.parametrize("direction, previous", [(0, "t−1"), (1, "t+1")])
def test_the_previous_state_boxes_name_the_step_they_come_from(direction, previous):
    """The reverse direction of a bidirectional layer reads its state from step t+1."""
    from lstmviz.diagram import cell_diagram

    traces = _traces()
    payload = stepper_payload(traces, {k: k for k in traces}, direction=direction, unit=0)
    for cell in payload["cells"]:
        subs = {n["key"]: n["sub"] for n in cell["layout"]["nodes"]}
        assert subs["h_prev"] == previous and subs["h"] == "t", cell["key"]
        if "c_prev" in subs:
            assert subs["c_prev"] == previous
        text = " ".join(str(t) for d in cell_diagram(traces[cell["key"]], 4, direction=direction).data
                        for t in (d.text or ()))
        assert f"<sub>{previous}</sub>" in text
        assert direction == 0 or "<sub>t−1</sub>" not in text
