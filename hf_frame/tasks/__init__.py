"""The registry of task specs: HF task id -> spec instance.

Each module of this package defines its specs and lists one instance of each in ``SPECS``;
this is the only place they are registered. A spec is stateless: everything a call decides
(model, parameters, output options) travels in its :class:`~hf_frame.tasks.base.Call`.
"""

from __future__ import annotations

from . import chat, embeddings, generation, media, tabular, text
from .base import Call, RowFailure, Task

TASKS: dict[str, Task] = {spec.name: spec for module in (text, embeddings, media, chat, generation, tabular)
                          for spec in module.SPECS}

__all__ = ["TASKS", "Call", "RowFailure", "Task"]
