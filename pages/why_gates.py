"""The first screen: the RNN's gradient dies, the gated cells' survives, with the live numbers."""

import streamlit as st

from ui import lessons, overview, page
from ui.lesson_book import LESSONS

st.markdown("### Why gates keep gradients alive: ‖δh_t‖ = ‖∂L/∂h_t‖, read back from the last step")
loaded = page.load(compact=True)
if loaded is not None:
    _, view = loaded
    overview.first_screen(view)
    left, middle, right = st.columns(3)
    left.page_link("pages/step_through.py", label="Step through it, forwards and backwards",
                   icon=":material/step:")
    middle.page_link("pages/gradients.py", label="All the gradients, and the Jacobians",
                     icon=":material/trending_down:")
    right.page_link("pages/equations.py", label="The equations behind it", icon=":material/functions:")
    st.caption(
        "Every line is computed live from the cells in the sidebar (here an impulse x₀ = 1, then zeros, "
        "through freshly initialised cells): change the sequence, the cells or the recurrent scale and the "
        "chart and the sentence follow."
    )
    st.subheader("Lessons")
    for column, lesson in zip(st.columns(3) * 3, LESSONS.values(), strict=False):
        column.page_link(lesson.parts[0].page, label=lesson.title, icon=":material/school:",
                         query_params=lessons.part_params(lesson, 0), help=lesson.summary)
