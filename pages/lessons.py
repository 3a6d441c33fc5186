"""Lessons: guided tours through the points the LSTM and GRU tutorials teach, each part a link."""

import streamlit as st

from ui import lessons
from ui.lesson_book import LESSONS

st.title("Lessons")
st.markdown(
    "Each lesson sets up the app, says where to look and asks a question answered from the live numbers. "
    "Every part is a link a teacher can share; add `&present=1` for a projector."
)
for number, lesson in enumerate(LESSONS.values(), start=1):
    with st.container(border=True):
        st.markdown(f"**{number}. {lesson.title}** — {lesson.summary}")
        columns = st.columns(len(lesson.parts))
        for k, (column, part) in enumerate(zip(columns, lesson.parts, strict=True)):
            column.page_link(part.page, label=f"{k + 1}. {part.title}",
                             query_params=lessons.part_params(lesson, k))
