"""What tests/ and bench/ both use, so that neither imports the other.

- `support.feedserver`: a real HTTP server on 127.0.0.1 that serves feeds as told.
- `support.feeds`: small RSS documents written from `Item`s.
- `support.corpus`: a generated corpus of realistic headlines and stories (seeded).
- `support.pgserver`: a throwaway PostgreSQL server.
- `support.servers`: the app under `streamlit run` on a free port, and chromium's flags.
"""
