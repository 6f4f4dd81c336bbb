"""The floor: the smallest Streamlit app with a text box and a line of output."""

import streamlit as st

typed = st.text_input("Keyword", key="q")
st.write(f"Output: {typed or 'nothing yet'}.")
