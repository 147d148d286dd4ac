"""The framework-free core: keys, the engine, the event-loop runner. Never imports pandas or polars."""
