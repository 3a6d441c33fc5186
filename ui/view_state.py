"""Where the user is looking, kept in the link: the step, the unit, the layer, the direction, the tab.

The sidebar's config describes *what* is traced; this describes *where* the pages look at it. Each
value lives in ``st.session_state`` under ``view_<name>`` (shared by every page, so the step chosen on
one page is the step on the next) and in the query string under ``<name>`` (``step=12&unit=3&layer=1&
dir=1&tab=gates``), so a link opened cold shows exactly that view. Values from a link are checked
when a page knows the bounds (:func:`get` clamps them).
"""

from __future__ import annotations

import streamlit as st

PARAMS = {"step": 0, "unit": 0, "layer": 0, "dir": 0, "tab": ""}
"""Query parameter -> default. ``unit`` may also be "mean"."""

_LOADED = "view_loaded"


def key(name: str) -> str:
    """The session-state key (and widget key) of a view value."""
    return f"view_{name}"


def load_link() -> None:
    """On a session's first run, take the view values from the query string (app.py calls this)."""
    if st.session_state.get(_LOADED):
        return
    query = st.query_params.to_dict()
    for name, default in PARAMS.items():
        if name in query:
            st.session_state[key(name)] = _parse(query[name], default)
    st.session_state[_LOADED] = True


def _parse(text: str, default):
    if isinstance(default, str):
        return text[:40]
    if text == "mean":
        return "mean"
    try:
        return max(0, int(text))
    except ValueError:
        return default


def get(name: str, upper: int | None = None):
    """The view value ``name`` (its default if unset), clamped to ``0..upper - 1`` when given."""
    value = st.session_state.get(key(name), PARAMS[name])
    if upper is not None and isinstance(value, int):
        value = min(value, max(upper - 1, 0))
        st.session_state[key(name)] = value
    return value


def put(name: str, value) -> None:
    """Set a view value (from a callback, a chart click or a component) and keep it in the link."""
    st.session_state[key(name)] = value
    sync()


def sync() -> None:
    """Write the view values that differ from their defaults into the query string."""
    for name, default in PARAMS.items():
        value = st.session_state.get(key(name), default)
        if value != default:
            if st.query_params.get(name) != str(value):
                st.query_params[name] = str(value)
        elif name in st.query_params:
            del st.query_params[name]
