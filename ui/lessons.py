"""Guided lessons: parts that set the app's state, say what to look at, and ask a question.

A link ``?lesson=NAME&part=K`` (on the part's page) opens part K of a lesson cold: the router
(:func:`route`, run by ``app.py`` before the sidebar is drawn) hands the part's settings to the sidebar
and its view (step, unit, tab ...) to the pages, and :func:`panel` shows the part above the page:
its text, with every number computed from the part's own settings (:mod:`ui.lesson_facts`), what to
look at, a question answered from the live state, and Back / Next. While a lesson is open the
sidebar shows only the controls the lesson needs (the others sit in a closed expander), and
``present=1`` (a link or the toggle) enlarges everything for a projector and folds the sidebar away.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import streamlit as st

from lstmviz import Clamp

from . import view_state
from .compute import View, compute
from .config import AppConfig, default_config, preset_text
from .lesson_facts import Fact
from .models import clear_models, loaded_models, use_models
from .safe_text import plain
from .sidebar import hand_over

ACTIVE = "lesson_active"  # (name, part index) applied to the app's state
SECTIONS = ("sequence", "cells", "model")


@dataclass(frozen=True)
class Question:
    ask: str
    answer: str  # a template over the part's facts


@dataclass(frozen=True)
class Part:
    title: str
    page: str
    text: str  # Markdown template; {name} is a fact of ``facts``
    look: str  # what to look at on the page
    facts: dict[str, Fact] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)  # AppConfig fields, from the lesson's base
    model: dict = field(default_factory=dict)  # ModelSettings fields
    view: dict = field(default_factory=dict)  # view_state values: step, unit, layer, dir, tab
    clamps: tuple[tuple[str, Clamp], ...] = ()
    question: Question | None = None
    controls: tuple[str, ...] = SECTIONS
    example: bool = False  # this part shows the shipped trained example


@dataclass(frozen=True)
class Lesson:
    name: str
    title: str
    summary: str
    parts: tuple[Part, ...]

    def link(self, k: int = 0) -> str:
        """The link to part ``k`` (0-based), on its page."""
        path = self.parts[k].page.removeprefix("pages/").removesuffix(".py")
        return f"/{'' if path == 'why_gates' else path}?lesson={self.name}&part={k + 1}"


def part_config(part: Part) -> AppConfig:
    """The app's settings a part sets: the defaults, then the part's changes."""
    base = default_config()
    settings = dict(part.settings)
    model = replace(base.model, **part.model) if part.model else base.model
    config = replace(base, **settings, model=model, interventions=part.clamps)
    if "text" not in settings:
        mode, text = preset_text(config.preset, config.preset_length, config.preset_seed)
        config = replace(config, mode=mode, text=text)
    return config


def active() -> tuple[Lesson, int] | None:
    from .lesson_book import LESSONS

    found = st.session_state.get(ACTIVE)
    if not found or found[0] not in LESSONS:
        return None
    return LESSONS[found[0]], found[1]


def route() -> None:
    """Apply the lesson part a link names, once (app.py calls this before drawing the sidebar)."""
    from .lesson_book import LESSONS

    name, part = st.query_params.get("lesson"), st.query_params.get("part", "1")
    if not name:
        st.session_state.pop(ACTIVE, None)
        return
    lesson = LESSONS.get(name)
    if lesson is None:
        st.session_state.pop(ACTIVE, None)
        st.session_state["lesson_problem"] = f"There is no lesson {name!r}."
        return
    k = min(max(int(part) - 1 if part.isdigit() else 0, 0), len(lesson.parts) - 1)
    if st.session_state.get(ACTIVE) != (name, k):
        apply(lesson.parts[k])
        st.session_state[ACTIVE] = (name, k)


def apply(part: Part) -> None:
    """Put the app in the part's state: its settings, its view and, for an example part, the models."""
    if part.example:  # the part's own settings hold the example's sequence
        from lstmviz import weights

        use_models(f"example: {weights.EXAMPLES['recall_first']}", weights.load_example("recall_first"))
    elif loaded_models() is not None:
        clear_models()
    hand_over(part_config(part))
    for name, value in part.view.items():
        st.session_state[view_state.key(name)] = value
    st.session_state["view_step_token"] = st.session_state.get("view_step_token", 0) + 1


def visible_controls() -> tuple[str, ...]:
    found = active()
    return SECTIONS if found is None else found[0].parts[found[1]].controls


def presenting() -> bool:
    return st.query_params.get("present") == "1"


def present_style() -> None:
    """Larger type for a projector (present=1): the whole main column scaled up."""
    if presenting():
        st.html("<style>[data-testid='stMainBlockContainer'] { zoom: 1.25; max-width: 100%; }</style>")


def part_view(part: Part, original: bool = False) -> View | None:
    """The view of the part's own settings (``original``: without its clamps)."""
    loaded = loaded_models()
    config = part_config(part)
    if original:
        config = replace(config, interventions=())
    result = compute(config, None if loaded is None else loaded.models)
    return result if isinstance(result, View) else None


def fact_values(part: Part) -> dict[str, str] | None:
    """Every fact of the part as shown, computed from the part's own settings (None if untraceable)."""
    views = {False: part_view(part)}
    if any(fact.args.get("original") for fact in part.facts.values()):
        views[True] = part_view(part, original=True)
    if any(view is None for view in views.values()):
        return None
    return {name: fact.text(views[bool(fact.args.get("original"))]) for name, fact in part.facts.items()}


def rendered(part: Part) -> tuple[str, str | None]:
    """The part's text and its question's answer, with the numbers of the part's own settings."""
    values = fact_values(part)
    if values is None:
        return "The part's settings cannot be traced here.", None
    answer = None if part.question is None else part.question.answer.format(**values)
    return part.text.format(**values), answer


def _reapply() -> None:
    found = active()
    if found is not None:
        apply(found[0].parts[found[1]])


def panel(current: AppConfig) -> None:
    """The open lesson part above the page: text, what to look at, the question, Back / Next."""
    problem = st.session_state.pop("lesson_problem", None)
    if problem:
        st.warning(plain(problem))
    found = active()
    if found is None:
        return
    lesson, k = found
    part = lesson.parts[k]
    with st.container(border=True):
        st.markdown(f"**{lesson.title}** · part {k + 1} of {len(lesson.parts)}: **{part.title}**")
        text, answer = rendered(part)
        st.markdown(text)
        st.markdown(f"**Look at:** {part.look}")
        if _left(part, current):
            st.info("You have changed this part's settings: the text above describes the "
                    "lesson's own setting.")
            st.button("Back to the lesson's setting", on_click=_reapply, key="lesson_reapply")
        if part.question is not None:
            with st.expander(f"Check yourself: {part.question.ask}"):
                if st.toggle("Show the answer", key=f"lesson_answer_{lesson.name}_{k}"):
                    st.markdown(answer)
        back, forward, leave, present = st.columns(4)
        if k > 0:
            back.page_link(lesson.parts[k - 1].page, label="Back", icon=":material/arrow_back:",
                           query_params=_params(lesson, k - 1))
        if k + 1 < len(lesson.parts):
            forward.page_link(lesson.parts[k + 1].page, label="Next", icon=":material/arrow_forward:",
                              query_params=_params(lesson, k + 1))
        leave.page_link("pages/lessons.py", label="All lessons", icon=":material/school:")
        present.page_link(part.page, label="Present mode" if not presenting() else "Leave present mode",
                          icon=":material/slideshow:",
                          query_params=_params(lesson, k) | ({} if presenting() else {"present": "1"}))


def part_params(lesson: Lesson, k: int) -> dict:
    """The query parameters of part ``k`` (0-based) of ``lesson``."""
    return {"lesson": lesson.name, "part": str(k + 1)}


def _params(lesson: Lesson, k: int) -> dict:
    return part_params(lesson, k) | ({"present": "1"} if presenting() else {})


def _left(part: Part, current: AppConfig) -> bool:
    wanted = part_config(part)
    fields = ("preset", "preset_length", "preset_seed", "cells", "model", "loss", "interventions")
    return any(getattr(wanted, name) != getattr(current, name) for name in fields) or (
        wanted.mode == "text" and wanted.text != current.text)

