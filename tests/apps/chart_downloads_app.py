"""Test app: two Plotly charts with ui.chart_downloads (SVG camera, PNG beside it) and a rerun button."""

import plotly.graph_objects as go
import streamlit as st

from ui.chart_downloads import chart_config, png_buttons

for name in ("first", "second"):
    with st.container(key=name):
        st.plotly_chart(
            go.Figure(go.Scatter(y=[1, 3, 2], name=name)), config=chart_config(name), key=f"{name}-chart"
        )
png_buttons()
st.button("Rerun")
