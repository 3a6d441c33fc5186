"""Lessons: every part opens from its link, every number in a text is recomputed from the trace here."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from lstmviz import weights
from ui.compute import View, run
from ui.lesson_book import LESSONS
from ui.lessons import part_config

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PARTS = [(lesson, k) for lesson in LESSONS.values() for k in range(len(lesson.parts))]


@pytest.fixture(autouse=True, scope="module")
def _navigation_mode():
    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init
    yield
    PagesManager.__init__ = original
    PagesManager.uses_pages_directory = None


def _id(item) -> str:
    lesson, k = item
    return f"{lesson.name}-{k + 1}"


def _view(part, original: bool = False) -> View:
    config = part_config(part)
    if original:
        config = config.__class__(**{**config.__dict__, "interventions": ()})
    view = run(config, weights.load_example("recall_first") if part.example else None)
    assert isinstance(view, View), view
    return view


# Independent recomputations of every kind of fact, from the trace's arrays.
def _norms(values) -> np.ndarray:
    return np.sqrt((np.asarray(values, dtype=np.float64) ** 2).sum(axis=1))


def _horizon(trace):
    norms = _norms(trace.layers[0][0].grad_h)
    back = norms[::-1][1:] < 1e-3 * norms[-1]
    return int(np.argmax(back)) + 1 if back.any() else None


def _expected(fact, view: View) -> list[str]:
    """The text(s) a fact must show, recomputed here (several when a phrase holds the number)."""
    trace = view.traces.get(fact.cell)
    lt = trace.layers[0][0] if trace is not None else None
    kind, args = fact.kind, fact.args
    if kind in ("steps", "last_step"):
        return [str(view.steps - (kind == "last_step"))]
    if kind == "horizon":
        h = _horizon(trace)
        return [str(h) if h is not None else f"more than {view.steps - 1}"]
    if kind == "horizon_step":
        return [str(view.steps - 1 - _horizon(trace))]
    if kind == "horizon_phrase":
        h = _horizon(trace)
        return [f"after {h} steps back"] if h is not None else [f"for all {view.steps - 1} steps back"]
    if kind == "decade":
        logs = np.log10(_norms(lt.grad_h))
        return [f"{1 / np.polyfit(np.arange(len(logs)), logs, 1)[0]:.1f}"]
    if kind == "retained":
        norms = _norms(lt.grad_c if args.get("state") == "c" else lt.grad_h)
        return [f"{norms[0] / norms[-1]:.2g}"]
    if kind == "mean_gate":
        mean = float(np.mean(lt.gates[args["gate"]]))
        return [f"{1 - mean if args.get('complement') else mean:.2f}"]
    if kind in ("sigma_max", "pascanu_reading"):
        sigma = np.linalg.svd(trace.model.params(0, 0)["weight_hh"], compute_uv=False)[0]
        return [f"{sigma:.3f}"]
    if kind == "grad_norm":
        return [f"{_norms(lt.grad_h)[args['t']]:.2g}"]
    if kind == "value_at":
        values = lt.gates[args["name"]] if args["name"] in lt.gates else getattr(lt, args["name"])
        return [f"{values[args['t'], args.get('unit', 0)]:.3g}"]
    if kind == "highway_share":
        t = args["t"]
        highway = lt.grad_c[t + 1] * lt.gates["f"][t + 1]
        local = lt.grad_c[t] - highway
        a, b = np.linalg.norm(highway), np.linalg.norm(local)
        return [f"{a / (a + b):.0%}"]
    if kind == "carry_product":
        return [f"{np.mean(np.prod(lt.gates['f'][1:], axis=0)):.2g}"]
    if kind == "shape":
        return [str({"output": trace.output, "h_n": trace.h_n, "c_n": trace.c_n}[args["of"]].shape)]
    raise AssertionError(f"no independent check for fact kind {kind!r}")


@pytest.mark.parametrize("item", PARTS, ids=_id)
def test_every_number_in_a_lesson_is_the_traces(item):
    lesson, k = item
    part = lesson.parts[k]
    views = {False: _view(part)}
    if any(f.args.get("original") for f in part.facts.values()):
        views[True] = _view(part, original=True)
    for name, fact in part.facts.items():
        shown = fact.text(views[bool(fact.args.get("original"))])
        expected = _expected(fact, views[bool(fact.args.get("original"))])
        assert any(e in shown for e in expected), (name, shown, expected)
        assert "{" + name + "}" in part.text or (part.question and "{" + name + "}" in part.question.answer)
    # No result is typed: the only literal numbers are the part's own settings (a scale, a hidden size,
    # clamped steps, the steps it looks at) and a reference's year.
    typed = set(re.findall(r"(?<![\w_^{.⁻])(?:\d+\.\d+|\d{2,})(?![\w%×⁻])", part.text))
    settings = {str(v) for v in (*part.model.values(), *part.view.values(), *part.settings.values())}
    clamped = {str(n) for _, c in part.clamps for n in (c.steps[0], c.steps[1] - 1)}
    looked_at = {str(v + d) for f in part.facts.values() for k, v in f.args.items() if k == "t"
                 for d in (0, 1)}
    assert typed <= settings | clamped | looked_at | {"2014"}, typed


@pytest.mark.parametrize("item", PARTS, ids=_id)
def test_every_part_opens_cold_from_its_link(item):
    lesson, k = item
    part = lesson.parts[k]
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"lesson": lesson.name, "part": str(k + 1)})
    at.run()
    at.switch_page(part.page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    heading = f"**{lesson.title}** · part {k + 1} of {len(lesson.parts)}: **{part.title}**"
    assert any(m.value == heading for m in at.markdown)
    assert any(m.value.startswith("**Look at:**") for m in at.markdown)
    config = at.session_state["app_config"]
    wanted = part_config(part)
    assert (config.preset, config.cells, config.model, config.interventions) == (
        wanted.preset, wanted.cells, wanted.model, wanted.interventions)
    if part.question is not None:
        assert any(e.label.startswith("Check yourself") for e in at.expander)
    hidden = [e for e in at.sidebar.expander if e.label.startswith("Other settings")]
    assert bool(hidden) == (len(part.controls) < 3)


def test_leaving_the_lesson_setting_is_said_and_can_be_undone():
    lesson = LESSONS["conveyor"]
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"lesson": lesson.name, "part": "1"})
    at.run()
    at.switch_page(lesson.parts[0].page).run()
    assert not any("changed this part's settings" in i.value for i in at.info)
    at.slider(key="w_fbias").set_value(0.0).run()
    assert any("changed this part's settings" in i.value for i in at.info)
    at.button(key="lesson_reapply").click().run()
    assert at.session_state["app_config"].model.forget_bias == 2.0
    assert not any("changed this part's settings" in i.value for i in at.info)


def test_the_answer_is_revealed_and_computed():
    lesson = LESSONS["rnn-forgets"]
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"lesson": lesson.name, "part": "1"})
    at.run()
    at.toggle(key="lesson_answer_rnn-forgets_0").set_value(True).run()
    view = _view(lesson.parts[0])
    step = view.steps - 1 - _horizon(view.traces["rnn"])
    assert any(m.value.startswith(f"At t = {step}:") for m in at.markdown)


def test_present_mode_enlarges_and_folds_the_sidebar():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"lesson": "gru", "part": "1", "present": "1"})
    at.run()
    assert any("zoom: 1.25" in h.proto.body for h in at.get("html"))


def test_every_lesson_is_on_the_index_and_the_first_screen():
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    links = {p.proto.label for p in at.get("page_link")}
    assert {lesson.title for lesson in LESSONS.values()} <= links
    at.switch_page("pages/lessons.py").run()
    labels = {p.proto.label for p in at.get("page_link")}
    assert all(f"{k + 1}. {part.title}" in labels for lesson in LESSONS.values() for k, part in
               enumerate(lesson.parts))
    assert len(LESSONS) >= 8 and all(2 <= len(lesson.parts) <= 6 for lesson in LESSONS.values())
    assert all(any(p.question for p in lesson.parts) for lesson in LESSONS.values())

