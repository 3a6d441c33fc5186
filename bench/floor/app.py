"""The floor for bench/bench_browser.py: a minimal Streamlit app with the same interactions as lstmviz.

Two pages, a sidebar text box and one Plotly chart: what any Streamlit app pays for a cold start, a
page switch and a typed input, measured in the same run as lstmviz.
"""

import numpy as np
import plotly.graph_objects as go
import streamlit as st


def chart_page() -> None:
    st.title("Chart")
    values = [float(v) for v in st.session_state.get("floor_text", "1, 2, 3").split(",") if v.strip()]
    st.plotly_chart(go.Figure(go.Scatter(y=np.cumsum(values))), width="stretch")


def other_page() -> None:
    st.title("Other")
    st.plotly_chart(go.Figure(go.Bar(y=[1, 2, 3])), width="stretch")


page = st.navigation([st.Page(chart_page, title="Chart", default=True), st.Page(other_page, title="Other")])
st.sidebar.text_area("Sequence", "1, 2, 3", key="floor_text")
page.run()
