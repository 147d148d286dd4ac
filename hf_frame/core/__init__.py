"""The framework-free core: the engine, cache keys and the progress bar. Never imports pandas or polars."""
