"""The news page's core: config, fetching, parsing, storing and querying headlines.

Nothing in this package imports Streamlit; every step is a plain function over plain data
and can be used from the command line (`python -m lib --help`).
"""
