"""A view as one standalone HTML file that opens offline: figures, paragraphs and equations.

:func:`view_html` writes everything into the file itself, so it opens from a USB stick on a machine
without a network and fetches nothing:

- plotly.js is inlined from the ``plotly`` package (``plotly.offline.get_plotlyjs()``; see
  https://plotly.com/python/interactive-html-export/), not loaded from a CDN; each chart's modebar
  downloads it as PNG (the camera) and as SVG (the button beside it), since here the page's own
  script can add a modebar button (https://plotly.com/javascript/configuration-options/);
- equations are typeset with KaTeX (https://katex.org) when it is vendored in
  ``lstmviz/static/katex/`` (``katex.min.js``, ``katex.min.css``, ``fonts/*.woff2``): the script and
  style are inlined and the fonts become ``data:`` URIs in the CSS. Without that folder the LaTeX
  source is shown in ``<pre>`` blocks;
- no web fonts: the page uses the reader's system fonts.

Every string of text is HTML-escaped, and the JSON and scripts placed inside ``<script>`` are written
so that they cannot close it (https://html.spec.whatwg.org/multipage/scripting.html#restrictions-for-contents-of-script-elements).
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

KATEX_DIR = Path(__file__).parent / "static" / "katex"
"""Where the vendored KaTeX lives (``katex.min.js``, ``katex.min.css``, ``fonts/``)."""

_FONT_TYPES = {".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf"}
_FONT_SOURCE = re.compile(r"""url\(\s*['"]?(?P<path>[^'")]+)['"]?\s*\)(?:\s*format\([^)]*\))?""")
_SRC_DECLARATION = re.compile(r"src:(?P<sources>[^;}]*)")

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto;
       max-width: 1100px; padding: 0 1rem; color: #1f2328; line-height: 1.5; }
h1 { font-size: 1.6rem; }
.figure { margin: 1.5rem 0; }
.equations { margin: 1rem 0; overflow-x: auto; }
pre.latex { background: #f6f8fa; padding: 0.5rem 0.75rem; border-radius: 6px; white-space: pre-wrap; }
"""

# Adds the SVG download beside Plotly's camera (PNG), then draws every figure of the page.
_FIGURES_SCRIPT = """
document.querySelectorAll("div.figure[data-figure]").forEach(function (div) {
  var figure = JSON.parse(document.getElementById(div.dataset.figure).textContent);
  var name = div.dataset.name;
  var svg = {
    name: "Download plot as SVG", icon: Plotly.Icons.camera,
    click: function (gd) { Plotly.downloadImage(gd, {format: "svg", filename: name}); }
  };
  Plotly.newPlot(div, figure.data, figure.layout || {}, {
    displaylogo: false, responsive: true, modeBarButtonsToAdd: [svg],
    toImageButtonOptions: {format: "png", filename: name, scale: 2}
  });
});
"""
_EQUATIONS_SCRIPT = """
document.querySelectorAll("div.latex[data-latex]").forEach(function (div) {
  katex.render(div.dataset.latex, div, {displayMode: true, throwOnError: false});
});
"""


def view_html(title: str, sections: Sequence[Any], *, katex_dir: Path | None = None) -> str:
    """One self-contained HTML page: ``title``, then each section in order.

    A section is a Plotly figure (anything with ``to_plotly_json``, e.g. ``go.Figure``), a paragraph
    (``str``, shown as plain text) or a list of LaTeX lines (one displayed equation each).
    ``katex_dir`` defaults to :data:`KATEX_DIR`; when it lacks KaTeX, equations are shown as source.
    """
    katex = _katex(KATEX_DIR if katex_dir is None else Path(katex_dir))
    body, figures = [], 0
    for section in sections:
        if hasattr(section, "to_plotly_json"):
            figures += 1
            body.append(_figure(section, figures))
        elif isinstance(section, str):
            body.append(f"<p>{html.escape(section)}</p>")
        elif isinstance(section, list | tuple) and all(isinstance(line, str) for line in section):
            body.append(_equations(section, typeset=katex is not None))
        else:
            raise TypeError(
                "a section is a Plotly figure, a paragraph (str) or a list of LaTeX lines (str), "
                f"not {type(section).__name__}"
            )
    head = [f"<title>{html.escape(title)}</title>", f"<style>{_STYLE}</style>"]
    scripts = []
    if figures:
        scripts += [_script(_plotly_js()), _script(_FIGURES_SCRIPT)]
    if katex is not None and any(part.startswith('<div class="equations">') for part in body):
        head.append(f"<style>{katex[1]}</style>")
        scripts += [_script(katex[0]), _script(_EQUATIONS_SCRIPT)]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            '<head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            *head,
            "</head>",
            "<body>",
            f"<h1>{html.escape(title)}</h1>",
            *body,
            *scripts,
            "</body>",
            "</html>",
            "",
        ]
    )


def _figure(figure: Any, number: int) -> str:
    data_id = f"figure-data-{number}"
    from plotly.io import to_json  # Plotly's encoder: NumPy arrays, dates, typed arrays

    text = to_json(figure, validate=False)
    return (
        f'<div class="figure" data-figure="{data_id}" data-name="figure-{number}"></div>\n'
        f'<script type="application/json" id="{data_id}">{_json_for_script(text)}</script>'
    )


def _equations(lines: Sequence[str], *, typeset: bool) -> str:
    if typeset:
        parts = [f'<div class="latex" data-latex="{html.escape(line)}"></div>' for line in lines]
    else:
        parts = [f'<pre class="latex">{html.escape(line)}</pre>' for line in lines]
    return '<div class="equations">' + "".join(parts) + "</div>"


def _json_for_script(text: str) -> str:
    """JSON that cannot end its ``<script>``: ``<``, ``>`` and ``&`` only occur inside its strings."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _script(code: str) -> str:
    """``code`` in a ``<script>`` element; no ``</script`` inside it can end the element early."""
    return "<script>" + re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE) + "</script>"


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _katex(folder: Path) -> tuple[str, str] | None:
    """KaTeX's script and its CSS with the fonts inlined, or None when ``folder`` lacks them."""
    script, style = folder / "katex.min.js", folder / "katex.min.css"
    if not (script.is_file() and style.is_file()):
        return None
    css = style.read_text(encoding="utf-8")
    return script.read_text(encoding="utf-8"), _SRC_DECLARATION.sub(
        lambda match: "src:" + _inlined_sources(match["sources"], folder), css
    )


def _inlined_sources(sources: str, folder: Path) -> str:
    """A CSS ``src`` list with each font present in ``folder`` as a ``data:`` URI, others dropped."""
    kept = []
    for source in _FONT_SOURCE.finditer(sources):
        path = folder / source["path"]
        kind = _FONT_TYPES.get(path.suffix)
        if kind and path.is_file() and path.resolve().is_relative_to(folder.resolve()):
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            kept.append(source.group().replace(source["path"], f"data:{kind};base64,{data}", 1))
    return ",".join(kept)
