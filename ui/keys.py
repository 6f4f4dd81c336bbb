"""The keys of the page's widgets in `st.session_state`, which are also the link's parameters.

One name each: the sidebar binds its widgets to these keys, the link (`ui/links.py`,
`ui/feedlinks.py`) reads and writes them, and other parts that change a filter set them.
"""

# Parameter names: the widget keys they are bound to.
TOPIC, KEYWORD, PUB_MODE, PUBS, ZONE = "topic", "q", "pub_mode", "pubs", "tz"
START, END = "from", "to"  # the time range chosen on the chart
GROUP = "group"  # "off" when copies of a story are listed apart (the "group" toggle)
GROUPINGS = ("on", "off")
KNOWN = (TOPIC, KEYWORD, PUB_MODE, PUBS, ZONE, START, END, GROUP)
