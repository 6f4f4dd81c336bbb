"""What a viewer reads of Markdown source made by `lib.render.literal_markdown`.

AppTest hands back the Markdown source an element was given; tests compare what the
viewer reads: the escaping backslashes and the invisible word joiners taken out. Written
apart from `literal_markdown` so the tests check it rather than repeat it.
"""

from __future__ import annotations

import re
import string

_ESCAPED = re.compile("\\\\([" + re.escape(string.punctuation) + "])")


def viewer_text(source: str) -> str:
    """The text Streamlit shows for `source` (escapes read, word joiners removed)."""
    return _ESCAPED.sub(r"\1", source).replace("\u2060", "")
