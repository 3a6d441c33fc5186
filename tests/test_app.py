"""The Streamlit app, run headless with AppTest: every page, cell toggles, bad input, links, downloads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

import lstmviz
from lstmviz import export
from ui.compute import Refused, View, run
from ui.config import DEFAULT_MODEL, AppConfig, from_query, to_query
from ui.csv_input import csv_text
from ui.models import LoadedModels, models_digest
from ui.safe_text import plain

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGES = ["pages/step_through.py", "pages/gates_states.py", "pages/gradients.py", "pages/equations.py",
         "pages/why_gates.py"]


@pytest.fixture(autouse=True, scope="module")
def _navigation_mode():
    """Keep st.navigation's mode across AppTest runs, as a real server does.

    A running server sets ``PagesManager.uses_pages_directory = False`` once app.py calls
    st.navigation. AppTest resets it before every run, and because this app keeps its pages in a
    ``pages/`` folder, a rerun on a page other than the first would then run that page file alone,
    without app.py and its sidebar (the old folder-based multipage mode).
    """
    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init
    yield
    PagesManager.__init__ = original
    PagesManager.uses_pages_directory = None


def _app(query: dict[str, str] | None = None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query or {})
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def _charts(at: AppTest) -> dict[str, dict]:
    """Plotly charts on the page, by key, as their figure JSON."""
    return {chart.key: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}


def _stepper(at: AppTest) -> dict:
    """The payload the stepper component received on the last run."""
    element = next(e for e in at.get("bidi_component") if e.proto.component_name == "lstmviz.stepper")
    return json.loads(json.loads(element.proto.json))["payload"]


def _stepper_cells(at: AppTest) -> list[str]:
    return [cell["key"] for cell in _stepper(at)["cells"]]


def _trace_names(figure: dict) -> list[str]:
    return [trace.get("name") for trace in figure["data"]]


def _no_problems(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.fixture(scope="module")
def default_app() -> AppTest:
    return _app(page="pages/step_through.py")


def test_the_first_screen_reads_the_gradient_chart_with_live_numbers():
    at = _app()
    _no_problems(at)
    assert set(_charts(at)) == {"overview_grad_h"}
    sentence = at.markdown[1].value
    view = run(at.session_state["app_config"])
    horizons = {c: lstmviz.summaries.gradient_horizon(tr).steps for c, tr in view.traces.items()}
    assert f"RNN's gradient is below 10⁻³ of its value at T after {horizons['rnn']} steps" in sentence
    assert horizons["lstm"] is None and "LSTM's still has" in sentence and "cell highway" in sentence
    marks = [d for d in _charts(at)["overview_grad_h"]["data"] if d.get("mode") == "markers+text"]
    assert sorted(d["text"][0] for d in marks) == sorted(f"{view.labels[c]}: {h}"
                                                         for c, h in horizons.items() if h)


def test_a_link_carries_the_step_unit_layer_and_direction():
    query = {"layers": "2", "bidir": "1", "step": "7", "unit": "3", "layer": "1", "dir": "1"}
    at = _app(query, page="pages/step_through.py")
    _no_problems(at)
    assert at.selectbox(key="view_unit").value == 3
    assert at.selectbox(key="view_layer").value == 1
    payload = _stepper(at)
    assert payload["step"] == 7 and payload["unit_label"] == "unit 3"
    assert all(cell["subtitle"].startswith("layer 1, reverse") and cell["reverse"]
               for cell in payload["cells"])
    assert {k: at.query_params[k] for k in ("step", "unit", "layer", "dir")} == {"step": "7", "unit": "3",
                                                                                 "layer": "1", "dir": "1"}


# ---------------------------------------------------------------------------------------------
# Every page, default view


def test_step_through_shows_all_three_cells_by_default(default_app):
    _no_problems(default_app)
    charts = _charts(default_app)
    assert {f"step_heatmap_{cell}" for cell in ("rnn", "lstm", "gru")} | {"step_norms"} == set(charts)
    payload = _stepper(default_app)
    assert _stepper_cells(default_app) == ["rnn", "lstm", "gru"] and payload["step"] == 0
    assert payload["times"] == list(range(30)) and payload["note"] == ""
    lstm = payload["cells"][1]
    assert lstm["label"] == "LSTM" and [p["key"] for p in lstm["backward"]["paths"]] == ["highway", "gates"]
    assert any("x: 30 steps (t = 0 … 29) × 1 feature (preset impulse)" in c.value
               for c in default_app.caption)


@pytest.mark.parametrize("page", PAGES[1:])
def test_every_page_renders_without_exception(default_app, page):
    default_app.switch_page(page).run()
    _no_problems(default_app)
    if page == "pages/why_gates.py":
        assert len(default_app.get("plotly_chart")) == 1
    elif page != "pages/equations.py":
        assert len(default_app.get("plotly_chart")) >= 4
    else:
        assert len(default_app.latex) >= 6 and not default_app.error


def test_default_view_shows_the_rnn_gradient_dying_while_the_lstm_keeps_it(default_app):
    default_app.switch_page("pages/gradients.py").run()
    metrics = {m.label: m.value for m in default_app.metric}
    assert int(metrics["RNN horizon"]) < 20
    assert metrics["LSTM horizon"].startswith(">")
    norms = _charts(default_app)["grad_h"]["data"]
    assert _trace_names({"data": norms}) == ["RNN", "LSTM", "GRU (PyTorch)"]


# ---------------------------------------------------------------------------------------------
# Toggling cells


def test_toggling_cells_changes_which_traces_appear():
    at = _app(page="pages/step_through.py")
    at.button_group(key="w_cells").set_value(["lstm", "gru"]).run()
    _no_problems(at)
    assert _stepper_cells(at) == ["lstm", "gru"]
    at.switch_page("pages/gradients.py").run()
    assert _trace_names(_charts(at)["grad_h"]) == ["LSTM", "GRU (PyTorch)"]
    at.button_group(key="w_cells").set_value([]).run()
    assert not at.get("plotly_chart")
    assert "Enable at least one cell" in at.info[0].value


def test_a_click_on_a_chart_moves_the_stepper_and_the_cursors():
    at = _app(page="pages/step_through.py")
    token = _stepper(at)["step_token"]
    # What a click at (t = 7, unit 3) on a heatmap does (ui.step_view.move_step), then the rerun.
    at.session_state["view_step"], at.session_state["view_unit"] = 7, 3
    at.session_state["view_step_token"] = token + 1
    at.run()
    payload = _stepper(at)
    assert payload["step"] == 7 and payload["step_token"] == token + 1 and payload["unit_label"] == "unit 3"
    cursor = _charts(at)["step_heatmap_gru"]["layout"]["shapes"][0]
    assert cursor["x0"] == 7
    assert at.query_params["step"] == "7"


# ---------------------------------------------------------------------------------------------
# Bad input


def test_an_invalid_sequence_shows_the_parser_error_and_the_rest_still_renders():
    at = _app(page="pages/step_through.py")
    at.text_area(key="w_text").input("1, 2, x, 4").run()
    assert not at.exception
    assert any(plain("'x' at position 3 is not a number") in e.value for e in at.error)
    assert len(at.get("plotly_chart")) >= 4  # the last input that worked
    at.button_group(key="w_cells").set_value(["gru"]).run()  # settings still apply meanwhile
    assert _stepper_cells(at) == ["gru"]
    at.switch_page("pages/equations.py").run()
    assert len(at.latex) == 2 and not at.exception  # the GRU's forward and backward equations


def test_an_invalid_sequence_on_a_fresh_session_shows_only_the_error():
    at = _app({"text": "0.5, nan", "mode": "numbers"})
    assert not at.exception
    assert any("not a finite number" in e.value for e in at.error)
    assert not at.get("plotly_chart")
    assert at.sidebar.text_area(key="w_text").value == "0.5, nan"


def test_exploding_values_are_explained_and_still_plotted():
    query = {"preset": "noise", "len": "3000", "cells": "rnn", "nl": "relu", "scale": "3.0"}
    at = _app(query, page="pages/gradients.py")
    assert not at.exception
    assert any("Exploding values" in w.value for w in at.warning)
    # Past the exploded states nothing flows back (relu' of NaN is 0, as in torch): said, not drawn.
    assert "not drawn on the log scale" in _charts(at)["grad_h"]["layout"]["title"]["text"]
    at.switch_page("pages/gates_states.py").run()
    assert "inf/NaN" in _charts(at)["gates_heatmap_rnn"]["layout"]["title"]["text"]


def test_a_saturated_tanh_rnn_does_not_explode_and_the_help_says_why():
    query = {"preset": "noise", "len": "1000", "cells": "rnn", "init": "orthogonal", "scale": "3.0"}
    at = _app(query, page="pages/gradients.py")
    assert not at.warning
    assert "saturates" in at.slider(key="w_scale").help and "relu" in at.slider(key="w_scale").help


def test_csv_upload_fills_the_box_and_bad_files_say_why():
    at = _app(page="pages/step_through.py")
    at.file_uploader(key="w_csv").upload("seq.csv", b"a,b\n1,0\n0,1\n0.5,0.5\n", "text/csv").run()
    _no_problems(at)
    assert at.text_area(key="w_text").value == "1,0\n0,1\n0.5,0.5\n"
    assert "x: 3 steps (t = 0 … 2) × 2 features" in " ".join(c.value for c in at.caption)
    big = b"1\n" * 600_000
    at.file_uploader(key="w_csv").set_value(("big.csv", big, "text/csv")).run()
    assert any(plain("big.csv") in e.value and "up to 1 MB" in e.value for e in at.error)
    assert len(at.get("plotly_chart")) >= 4 and not at.exception


# ---------------------------------------------------------------------------------------------
# Links


def test_query_params_restore_a_config():
    query = {
        "preset": "sine",
        "len": "40",
        "cells": "lstm",
        "hidden": "8",
        "layers": "2",
        "bidir": "1",
        "gru": "tutorial",
        "fbias": "1.5",
        "loss": "all",
    }
    at = _app(query, page="pages/step_through.py")
    _no_problems(at)
    assert at.number_input(key="w_hidden").value == 8
    assert at.toggle(key="w_bidir").value is True
    assert at.slider(key="w_length").value == 40
    assert _stepper_cells(at) == ["lstm"]
    assert {k: at.query_params[k] for k in query} == query
    at.switch_page("pages/gradients.py").run()
    assert "Loss L: last step" in at.info[0].value  # the horizon needs loss "last"


def test_a_link_carries_typed_text():
    at = _app({"text": "早上好", "mode": "text", "cells": "gru"}, page="pages/gradients.py")
    _no_problems(at)
    assert "x: 3 steps (t = 0 … 2) × 3 features" in " ".join(c.value for c in at.caption)
    assert at.query_params["text"] == "早上好"


def test_a_bad_link_parameter_is_ignored_with_a_warning():
    at = _app({"hidden": "9999", "init": "magic"})
    assert not at.exception
    messages = " ".join(w.value for w in at.warning)
    assert plain("hidden='9999' ignored") in messages and plain("init='magic' ignored") in messages
    assert at.number_input(key="w_hidden").value == 16


def test_visitor_strings_in_links_reach_the_page_as_text_only():
    hostile = "**Your session expired.** [Log in again](http://127.0.0.1:9/x) ![x](data:image/png;base64,AA)"
    at = _app({"loss": hostile, "preset": hostile})
    assert not at.exception
    shown = [w.value for w in at.warning]
    assert any(plain(f"loss={hostile!r}") in w for w in shown)
    assert all("](http" not in w and "![" not in w for w in shown)


def test_config_round_trips_through_the_query_string():
    model = lstmviz.ModelSettings(hidden_size=33, num_layers=2, bidirectional=True, bias=True, proj_size=5,
                                  nonlinearity="relu", gru_variant="tutorial", init="orthogonal",
                                  recurrent_scale=1.25, forget_bias=-0.5, seed=11)
    config = AppConfig(preset="copy", preset_length=50, preset_seed=3, cells=("rnn", "gru", "minlstm"),
                       model=model, loss="all")
    restored, problems = from_query(to_query(config))
    assert not problems
    for name in ("preset", "preset_length", "preset_seed", "cells", "model", "loss"):
        assert getattr(restored, name) == getattr(config, name)
    long_text = ", ".join(["1"] * 1500)
    edited, _ = from_query(to_query(AppConfig(edited=True, text=long_text)))
    assert not edited.edited and edited.preset == "impulse"


# ---------------------------------------------------------------------------------------------
# Downloads


@pytest.fixture
def media(monkeypatch):
    """The MediaFileManager of the next AppTest runs (AppTest builds a fresh one per run)."""
    managers: list[MediaFileManager] = []

    class Recording(MediaFileManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            managers.append(self)

    monkeypatch.setattr("streamlit.testing.v1.app_test.MediaFileManager", Recording)
    return managers


def _download(at: AppTest, manager: MediaFileManager, key: str) -> str:
    proto = at.get("download_button")
    button = next(b for b in proto if b.key == key).proto
    if button.deferred_file_id:
        url = manager.execute_deferred(button.deferred_file_id)
    else:
        url = button.url
    file_id = url.rsplit("/", 1)[-1].split(".")[0]
    return manager.read_file(file_id).content.decode()


def test_downloads_carry_the_trace_and_a_working_snippet(media):
    at = _app({"hidden": "4", "len": "6"}, page="pages/step_through.py")
    _no_problems(at)
    manager = media[-1]
    config = at.session_state["app_config"]
    expected = run(config).traces
    assert _download(at, manager, "dl_csv") == export.trace_csv(expected)
    assert json.loads(_download(at, manager, "dl_json")) == json.loads(export.trace_json(expected))
    snippet = _download(at, manager, "dl_py")
    assert "settings.build(" in snippet and "lstmviz.preset('impulse', length=6, seed=0)" in snippet
    assert f"lstmviz.{config.model!r}" in snippet


# ---------------------------------------------------------------------------------------------
# Models supplied in code (the training lab's contract)


def test_a_loaded_model_stands_in_for_its_cell_beside_fresh_cells():
    models = {"lstm": lstmviz.build("lstm", 1, 5, seed=9, num_layers=2)}
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lstmviz_models"] = LoadedModels("trained LSTM", models, models_digest(models))
    at.run()
    at.switch_page("pages/step_through.py").run()
    _no_problems(at)
    info = " ".join(i.value for i in at.sidebar.info)
    assert plain("trained LSTM") in info and plain("2 layers, input 1, hidden 5") in info
    assert _stepper_cells(at) == ["rnn", "lstm", "gru"]
    assert [c["label"] for c in _stepper(at)["cells"]] == ["RNN", "LSTM (loaded)", "GRU (PyTorch)"]
    view = run(at.session_state["app_config"], models)
    assert view.labels == {"rnn": "RNN", "lstm": "LSTM (loaded)", "gru": "GRU (PyTorch)"}
    assert view.traces["lstm"].spec.hidden_size == 5 and view.traces["rnn"].spec.hidden_size == 16
    at.text_area(key="w_text").input("1 0; 0 1").run()
    assert any("reads 1 feature" in e.value for e in at.error)
    next(b for b in at.sidebar.button if b.label == "Back to fresh cells").click().run()
    assert "lstmviz_models" not in at.session_state


# ---------------------------------------------------------------------------------------------
# The computation itself


def test_compute_refuses_with_a_reason_instead_of_raising():
    refused = run(AppConfig(edited=True, text="1, a"))
    assert isinstance(refused, Refused) and "not a number" in refused.message
    big = lstmviz.ModelSettings(hidden_size=96, num_layers=3, bidirectional=True)
    huge = AppConfig(preset="noise", preset_length=10_000, model=big)
    assert "MB of gates" in run(huge).message and "shorter sequence" in run(huge).message


def test_compute_cuts_the_jacobian_window_to_the_budget():
    config = AppConfig(preset="noise", preset_length=200, cells=("rnn", "gru"), model=DEFAULT_MODEL)
    result = run(config, jacobian_budget=2 * 60 * 16**3)
    assert isinstance(result, View) and result.jacobian_windows == {"rnn": 60, "gru": 60}
    jn = result.jacobians["rnn"][0][0]
    assert np.isnan(jn.to_last[:-60]).all() and np.isfinite(jn.to_last[-60:]).all()
    assert jn.computed.sum() == 60


def test_csv_header_is_skipped_and_errors_name_the_row():
    assert csv_text(b"x\n1\n2\n") == "1\n2\n"
    with pytest.raises(lstmviz.SequenceError, match="after the header"):
        csv_text(b"a,b\n1,2\n3\n")


@pytest.mark.parametrize("page", PAGES)
def test_every_chart_comes_with_how_to_read_it(page):
    at = _app(page=page)
    charts, helps = at.get("plotly_chart"), at.get("popover")
    assert len(charts) == len(helps) > 0 or page == "pages/equations.py"
    texts = [md.value for pop in helps for md in pop.markdown]
    assert all(text.startswith("**Drawn:**") for text in texts) and len(texts) == len(helps)


# ---------------------------------------------------------------------------------------------
# What-if lab


def test_clamps_from_a_link_show_the_clamped_run_against_the_original():
    at = _app({"clamp": "lstm.f=1:5-20;lstm.i=0:5-20"}, page="pages/whatif.py")
    _no_problems(at)
    config = at.session_state["app_config"]
    assert [(cell, c.name, c.value, c.steps) for cell, c in config.interventions] == [
        ("lstm", "f", 1.0, (5, 20)), ("lstm", "i", 0.0, (5, 20))]
    assert "whatif_comparison" in _charts(at)
    view = run(config)
    lt = view.traces["lstm"].layers[0][0]
    np.testing.assert_array_equal(lt.gates["f"][5:20], 1.0)
    reading = next(m.value for m in at.markdown if plain("‖δc_0‖") in m.value)
    share = np.linalg.norm(lt.grad_c[0]) / np.linalg.norm(lt.grad_c[-1])
    assert plain(f"‖δc_0‖ is {share:.2g} of ‖δc_T‖ with the clamps") in reading
    assert any("2 clamp(s) active" in w.value for w in at.sidebar.warning)
    next(b for b in at.button if b.label == "Remove").click().run()
    assert len(at.session_state["app_config"].interventions) == 1
    at.button(key="whatif_undo").click().run()
    assert len(at.session_state["app_config"].interventions) == 2
    at.button(key="whatif_clear").click().run()
    assert at.session_state["app_config"].interventions == () and "clamp" not in at.query_params


def test_the_clamp_form_adds_a_clamp_every_page_then_traces():
    at = _app(page="pages/whatif.py")
    at.selectbox(key="whatif_cell").set_value("gru").run()
    at.selectbox(key="whatif_name").set_value("z").run()
    at.number_input(key="whatif_value").set_value(1.0)
    at.slider(key="whatif_steps").set_value((3, 9))
    at.multiselect(key="whatif_units").set_value([0, 2]).run()
    at.button(key="whatif_apply").click().run()
    _no_problems(at)
    config = at.session_state["app_config"]
    assert config.interventions == (("gru", lstmviz.Clamp("z", 1.0, (3, 10), (0, 2))),)
    assert at.query_params["clamp"] == "gru.z=1:3-10:u0.2"
    z = run(config).traces["gru"].layers[0][0].gates["z"]
    np.testing.assert_array_equal(z[3:10, [0, 2]], 1.0)
    assert not np.all(z[3:10, 1] == 1.0)


def test_a_clamp_that_does_not_fit_is_refused_with_a_reason():
    at = _app({"clamp": "lstm.f=1:5-20", "len": "10"}, page="pages/whatif.py")
    assert not at.exception
    assert any("LSTM" in e.value and "10 steps" in e.value for e in at.error)


@pytest.mark.parametrize("tab", ["Phase diagram", "Spectrum", "Connectivity"])
def test_every_what_if_tab_renders(tab):
    at = _app({"tab": tab}, page="pages/whatif.py")
    _no_problems(at)
    kinds = {"Phase diagram": "whatif_phase_", "Spectrum": "whatif_spectrum",
             "Connectivity": "whatif_connectivity_"}
    assert sum(k.startswith(kinds[tab]) for k in _charts(at)) >= 1


def _colour_mapped(figure: dict):
    """(where, colorscale) of every trace or colour axis that maps numbers to colours."""
    layout = figure.get("layout", {})
    for k, trace in enumerate(figure["data"]):
        marker = trace.get("marker") or {}
        numeric = isinstance(marker.get("color"), list) and all(
            isinstance(v, (int, float)) for v in marker["color"]
        )
        if trace.get("type") in ("heatmap", "contour") or numeric:
            axis = trace.get("coloraxis") or marker.get("coloraxis")
            owner = layout.get(axis, {}) if axis else (trace if trace.get("type") != "scatter" else marker)
            yield f"trace {k} ({trace.get('name')})", owner.get("colorscale")


@pytest.mark.parametrize("page, query", [(page, {}) for page in PAGES] + [
    ("pages/gates_states.py", {"cells": "rnn,lstm,gru,mingru,minlstm"}),
    ("pages/whatif.py", {"tab": "Phase diagram"}), ("pages/whatif.py", {"tab": "Spectrum"}),
    ("pages/whatif.py", {"tab": "Connectivity"}),
])
def test_every_colour_scale_is_given_explicitly_so_no_theme_replaces_it(page, query):
    """Streamlit's theme swaps the colours of any scale a figure leaves to its template (it turned the
    most-vanished gradients pink); every colour-mapped trace must carry its own list of stops."""
    checked = 0
    for key, figure in _charts(_app(query, page=page)).items():
        for where, scale in _colour_mapped(figure):
            assert isinstance(scale, list) and len(scale) >= 2, (key, where, scale)
            assert all(isinstance(stop, list) and len(stop) == 2 for stop in scale), (key, where)
            checked += 1
    # the pages without a colour-mapped chart: equations, the first screen's lines, the spectrum's points
    assert checked or page in ("pages/equations.py", "pages/why_gates.py") or query.get("tab") == "Spectrum"
