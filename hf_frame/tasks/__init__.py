"""The registry of task specs: HF task id -> spec instance."""

from __future__ import annotations

from .base import Call, Task
from .embeddings import FeatureExtraction
from .text import (
    FillMask,
    QuestionAnswering,
    SentenceSimilarity,
    Summarization,
    TableQuestionAnswering,
    TextClassification,
    TextGeneration,
    TokenClassification,
    Translation,
    ZeroShotClassification,
)

TASKS: dict[str, Task] = {}


def register(task: Task) -> Task:
    """Add a task spec to the registry (keyed by its HF task id)."""
    TASKS[task.name] = task
    return task


for _spec in (TextClassification, ZeroShotClassification, TokenClassification, QuestionAnswering,
              TableQuestionAnswering, FillMask, Summarization, Translation, TextGeneration,
              SentenceSimilarity, FeatureExtraction):
    register(_spec())

__all__ = ["TASKS", "Call", "Task", "register"]
