"""The public methods, framework-free: what ``df.hf.<name>`` calls, each building a :class:`Job`.

A job knows which inputs it needs (columns or literals), the output type it will produce (known
before anything is sent, so polars lazy plans can declare it) and how to run on plain Python
values. The pandas and polars adapters only fetch columns, call :meth:`Job.run`, and attach the
typed results; so every method behaves the same on every backend.

``METHODS`` (name -> job-building function) is written out below: it is the one list of what
the accessors, namespaces and the CLI offer.
"""

from __future__ import annotations

from typing import Callable

from .chat import chat
from .embeddings import EmbedJob, RerankJob, SearchJob, embed, rerank, search
from .generation import audio_to_audio, image_to_image, text_to_image, text_to_speech
from .job import ERROR_FIELD, FRAME, Input, Job, Selection, make_job
from .media import (
    caption,
    classify_audio,
    classify_image,
    detect,
    document_qa,
    segment,
    transcribe,
    visual_qa,
    zero_shot_image,
)
from .operators import agg, cluster, dedup, filter, join, top_k
from .plan import Plan, Stage
from .tabular import TabularJob, tabular_classify, tabular_regress
from .text import (
    classify,
    fill_mask,
    generate,
    ner,
    qa,
    similarity,
    summarize,
    table_qa,
    table_to_dict,
    translate,
    zero_shot,
)

METHODS: dict[str, Callable[..., Job]] = {
    f.__name__: f
    for f in (
        # text
        classify, zero_shot, ner, qa, table_qa, fill_mask, summarize, translate, generate, similarity,
        # chat
        chat,
        # vision and audio
        classify_image, classify_audio, zero_shot_image, detect, segment, caption, transcribe,
        visual_qa, document_qa,
        # generation
        text_to_image, image_to_image, text_to_speech, audio_to_audio,
        # tables
        tabular_classify, tabular_regress,
        # embeddings
        embed, search, rerank,
        # table operators
        filter, top_k, join, dedup, cluster, agg,
    )
}

__all__ = [
    "ERROR_FIELD", "FRAME", "METHODS", "EmbedJob", "Input", "Job", "Plan", "RerankJob", "SearchJob", "Selection",
    "Stage", "TabularJob", "agg", "audio_to_audio", "caption", "chat", "classify", "classify_audio", "classify_image",
    "cluster", "dedup", "detect", "document_qa", "embed", "fill_mask", "filter", "generate", "image_to_image", "join",
    "make_job", "ner", "qa", "rerank", "search", "segment", "similarity", "summarize", "table_qa", "table_to_dict",
    "tabular_classify", "tabular_regress", "text_to_image", "text_to_speech", "top_k", "transcribe", "translate",
    "visual_qa", "zero_shot", "zero_shot_image",
]
