"""Every Plotly chart downloadable as SVG and as PNG from its own toolbar (the modebar).

What Streamlit 1.67 allows, checked in chromium (``tests/test_boundary_chart_downloads.py``):

- Plotly's modebar has one image button, ``toImage`` (the camera), and its format comes from
  ``config["toImageButtonOptions"]["format"]``: one format per chart
  (https://plotly.com/javascript/configuration-options/). ``st.plotly_chart(fig, config=...)``
  passes ``config`` as JSON, so a custom modebar button, which needs a JavaScript ``click``,
  cannot be given from Python (such a config leaves the chart without a modebar).
- Streamlit's own element toolbar offers no download for Plotly charts.

So the camera downloads SVG (:func:`chart_config`), and :func:`png_buttons` mounts a tiny
``st.components.v2`` component, whose inline JavaScript runs in the page itself, that puts a second
camera into every chart's modebar calling Plotly's public ``Plotly.downloadImage(gd, {format: "png"})``
and puts it back whenever Plotly redraws the modebar. Nothing is fetched.
"""

from __future__ import annotations

import streamlit as st

PNG_SCALE = 2
"""PNG pixels per CSS pixel: sharp on slides and high-density screens."""

_JS = """
function addPngButton(gd) {
  const camera = gd.querySelector('.modebar-btn[data-title^="Download plot"]:not([data-lstmviz-png])');
  if (!camera || camera.parentElement.querySelector("[data-lstmviz-png]")) return;
  const png = camera.cloneNode(true);
  png.setAttribute("data-title", "Download plot as a PNG");
  png.setAttribute("data-lstmviz-png", "");
  png.addEventListener("click", (event) => {
    event.stopPropagation();
    const options = (gd._context && gd._context.toImageButtonOptions) || {};
    window.Plotly.downloadImage(gd, {
      format: "png", filename: options.filename || "chart", scale: PNG_SCALE,
    });
  });
  camera.after(png);
}
export default function () {
  const scan = () => document.querySelectorAll(".js-plotly-plot").forEach(addPngButton);
  scan();
  if (!window.lstmvizPngObserver) {
    window.lstmvizPngObserver = new MutationObserver(scan);
    window.lstmvizPngObserver.observe(document.body, { childList: true, subtree: true });
  }
}
""".replace("PNG_SCALE", str(PNG_SCALE))

_png_buttons = st.components.v2.component("lstmviz_png_buttons", js=_JS)


def chart_config(filename: str) -> dict:
    """The ``config`` for ``st.plotly_chart``: the camera downloads ``<filename>.svg``."""
    return {"toImageButtonOptions": {"format": "svg", "filename": filename}, "displaylogo": False}


def png_buttons() -> None:
    """Add a PNG download button beside the camera of every Plotly chart on the page (call once)."""
    _png_buttons(key="lstmviz_png_buttons", height=0)
