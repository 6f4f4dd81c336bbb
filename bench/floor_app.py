"""The floor under the browser figures: the trivial app's text box and line of output, plus
the two things a filter on the real page must redraw, drawn by the real page's code: the
density chart (ui/chart.py) and the first 50 headlines (lib/render.py) of what the text
picks from `FLOOR_HEADLINES` stored-like headlines (10,000 unless set).

Each new text picks a different sixth of the headlines, so the chart's data and the list
change on every rerun as they do for a new keyword. Nothing else of the page is drawn: no
sidebar, chips, pills, downloads or status lines.
"""

import os
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import streamlit as st

from lib.density import density
from lib.model import Headline
from lib.render import buckets_html
from lib.stories import Story
from lib.times import WINDOW
from support.corpus import headlines
from ui.chart import SELECTION_MODE, arrow_datasets, density_spec

NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)  # bench/__main__.py's fixed clock
ZONE = ZoneInfo("Europe/London")


@st.cache_resource
def stored() -> list[Headline]:
    """The headlines, made once per server."""
    return headlines(int(os.environ.get("FLOOR_HEADLINES", "10000")), NOW, "https://x.test/")


typed = st.text_input("Keyword", key="q")
st.write(f"Output: {typed or 'nothing yet'}.")
digits = "".join(c for c in typed or "" if c.isdigit())
shown = stored()
if digits:
    shown = [item for n, item in enumerate(shown) if n % 6 == int(digits) % 6]
spec = density_spec(density(shown, NOW, ZONE, WINDOW), ZONE, None)
st.vega_lite_chart(arrow_datasets(spec), width="stretch", key="density", on_select="rerun",
                   selection_mode=SELECTION_MODE)  # fmt: skip
st.html(buckets_html([("Latest", [Story(item, ()) for item in shown[:50]])], ZONE, None))
