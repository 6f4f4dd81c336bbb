"""What the page adds for assistive technology where Streamlit's own elements fall short.

Vega draws each mark layer of the density chart as an SVG group with an ARIA role; the
bars carry their slot's text and the chart its description (ui/chart.py), but the layers
that show nothing to read (the drag selection's rectangles, the invisible frame, an empty
spike layer) have a role and no name, which screen readers announce as unnamed images.
This script takes those, and only those, out of the accessibility tree, whenever the
chart is drawn. A fixed string of the page's own, never feed content.
"""

from __future__ import annotations

import streamlit as st

UNNAMED_MARKS_SCRIPT = """
(() => {
  if (window.npUnnamedMarks) return;
  window.npUnnamedMarks = true;
  const unnamed = '.vega-embed g[role="graphics-symbol"]:not([aria-label]):not([aria-hidden])';
  const hide = () => {
    for (const group of document.querySelectorAll(unnamed)) {
      if (!group.querySelector("[aria-label]")) group.setAttribute("aria-hidden", "true");
    }
  };
  let queued = false;  // one look per frame, however many nodes a redraw adds
  const schedule = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; hide(); });
  };
  hide();
  new MutationObserver(schedule).observe(document.body, {childList: true, subtree: true});
})();
"""


def hide_unnamed_chart_marks() -> None:
    """Add the script above to the page (it runs once per browser tab)."""
    st.html(f"<script>{UNNAMED_MARKS_SCRIPT}</script>", unsafe_allow_javascript=True)
