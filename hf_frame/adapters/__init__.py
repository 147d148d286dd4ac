"""The frame adapters: pandas, polars (and what they share, in :mod:`.common`)."""
