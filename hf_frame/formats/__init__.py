"""Pure value formats: how cells, vectors, texts, prompts, schemas and media are read and written.

Nothing here does network I/O or holds process state; every layer above may use these."""
