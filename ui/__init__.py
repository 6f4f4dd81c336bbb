"""The thin Streamlit glue the pages share: cached loaders, sidebar, consent, clock."""
