"""Visitors' strings shown as text: :func:`plain` escapes a string for Streamlit's Markdown.

Every string that comes from a visitor (link query values, typed text, file names, names inside
uploaded files) goes through :func:`plain` before it reaches an element that renders Markdown:
``st.markdown``, ``st.caption``, ``st.error`` / ``st.warning`` / ``st.info`` / ``st.success``,
``st.toast``, widget labels, ``help=`` tooltips, ``st.metric`` labels, ``st.table`` cells, tab and
expander labels, and the options of ``st.radio``, ``st.pills`` and ``st.segmented_control`` (pass
``format_func=plain``). ``f"Loaded {plain(upload.name)}"`` shows the name as typed, whatever it holds.

How: CommonMark lets a backslash escape any ASCII punctuation character, which then stands for
itself (https://spec.commonmark.org/0.31.2/#backslash-escapes), and GitHub-flavoured Markdown's
autolinks, raw HTML, tables and footnotes all start with punctuation. Streamlit's own extensions are
covered too: colours and badges (``:red[...]``) are remark directives that an escaped colon does not
open, LaTeX is not rendered after an escaped ``$``, and ``:material/...:`` icons are found by
searching the source for ``:material/``, which an escaped slash breaks (Streamlit's frontend,
``StreamlitMarkdown.tsx``). Line breaks become hard breaks (a backslash before the newline) and
leading spaces character references, so that no line opens a code block.

A few patterns are found in the parsed text, where escapes are gone: GitHub's autolinks
(``http://...``, ``www....``, ``a@b.c``, by ``mdast-util-gfm-autolink-literal``) and Streamlit's
``:streamlit:`` logo and emoji shortcodes. :func:`plain` puts an invisible WORD JOINER (U+2060)
after every colon followed by a visible character, before every at-sign and after ``www``, so they
do not match (a shortcode opens, and a scheme ends, with such a colon): the page looks the same, but
a copy of the text holds those invisible characters. A colon before a space, as in "Loaded: x",
is left alone, so the page's own messages stay searchable.
Proved in a real browser by ``tests/test_safe_text.py``.

These calls do not interpret Markdown or HTML, so they need no escaping (escaping would show the
backslashes): ``st.text``, ``st.code``, ``st.json``, ``st.dataframe`` / ``st.data_editor`` cells,
``st.download_button``'s ``file_name`` and ``data``, widget values (``value=``, ``placeholder=``),
the options of ``st.selectbox``, and ``st.query_params``. (``st.text``, ``st.code``, ``st.json``
and ``st.selectbox`` are checked in the browser test, as are radio and pills options, which do
render Markdown.)
Plotly text (titles, axis titles, hover text, annotations) is not Markdown but understands a few
HTML tags, ``<a href>`` among them: escape visitors' strings there with ``html.escape``.
"""

from __future__ import annotations

import re

_ASCII_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
_ESCAPES = str.maketrans({char: "\\" + char for char in _ASCII_PUNCTUATION})
# Some patterns are found in the parsed text, where the escapes are gone: GFM's autolinks
# (http://..., www...., a@b.c; mdast-util-gfm-autolink-literal), and Streamlit's :streamlit: logo
# and emoji shortcodes. An invisible WORD JOINER (U+2060) after every colon followed by a visible
# character (each shortcode opens, and each scheme ends, with one), before every at-sign and after
# "www" keeps them from matching, and keeps the text as it looks.
WORD_JOINER = "\u2060"
_MATCHED_IN_TEXT = re.compile(r"(?<=:)(?=\S)|(?=@)|(?<=[Ww]{3})(?=\.)")
_LEADING_BLANKS = re.compile(r"^[ \t]+", re.MULTILINE)


def plain(text: str) -> str:
    """``text`` escaped so that Streamlit's Markdown shows it literally, character for character."""
    escaped = _MATCHED_IN_TEXT.sub(WORD_JOINER, str(text)).translate(_ESCAPES)
    escaped = _LEADING_BLANKS.sub(lambda blanks: "".join(f"&#{ord(c)};" for c in blanks.group()), escaped)
    return "\\\n".join(escaped.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
