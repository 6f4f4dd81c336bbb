"""The page script: wires the pages; each page sets itself up. `streamlit_app.py` serves it."""

import streamlit as st

pages = [
    st.Page("pages/headlines.py", title="Headlines", default=True),
    st.Page("pages/sources.py", title="Sources", url_path="sources"),
    st.Page("pages/about.py", title="About", url_path="about"),
]
st.navigation(pages, position="top").run()
