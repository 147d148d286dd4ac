"""The in-process backend behind ``provider="local"`` (its design: :mod:`.backend`)."""

from .backend import (
    EMBEDDING_TASKS,
    SUPPORTED_TASKS,
    UNSUPPORTED_TASKS,
    LocalBackend,
    LocalModelError,
    LocalModelLoadError,
    decode_wav,
    minilm_path,
)

__all__ = [
    "EMBEDDING_TASKS",
    "SUPPORTED_TASKS",
    "UNSUPPORTED_TASKS",
    "LocalBackend",
    "LocalModelError",
    "LocalModelLoadError",
    "decode_wav",
    "minilm_path",
]
