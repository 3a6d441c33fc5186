"""Step through: one step t at a time, the same t for every enabled cell, side by side."""

import streamlit as st

from ui import downloads, page, step_view

PLAY_SECONDS = 0.8

st.title("Step through")
st.markdown(
    "Each column is one cell at the same step *t*: its gates coloured by value (σ gates 0…1, tanh values "
    "−1…1), the forward equations with the numbers of step *t*, the gradients arriving there, and the "
    "whole run with a cursor at *t*."
)
loaded = page.load()
if loaded is not None:
    config, view = loaded
    playing = view.steps > 1 and st.toggle(
        f"▶ Play: one step every {PLAY_SECONDS:g} s (only this view reruns)", key="step_play"
    )
    st.fragment(run_every=PLAY_SECONDS if playing else None)(step_view.step_view)(view, playing)
    downloads.section(config, view)
