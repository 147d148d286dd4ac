"""hf-inference: Hugging Face's own serverless API, whose wire form every task spec already speaks.

Routes (after ``{base_url}/hf-inference``): ``/models/{model}`` (``/pipeline/{task}`` for feature
extraction and sentence similarity), chat through the router's ``/v1/chat/completions``; text
generation of the LLMs it serves with vLLM (mapped as ``conversational`` on the Hub) on
``/models/{model}/v1/completions`` with the OpenAI completions body.
"""

from __future__ import annotations

from .base import Helper, Passthrough, Target
from .openai_style import Completions

#: Every task hf-inference serves that hf_frame has a method for.
TASKS = ("text-classification", "zero-shot-classification", "token-classification", "question-answering",
         "table-question-answering", "fill-mask", "summarization", "translation", "text-generation",
         "sentence-similarity", "feature-extraction", "image-classification", "zero-shot-image-classification",
         "object-detection", "image-segmentation", "image-to-text", "automatic-speech-recognition",
         "audio-classification", "chat-completion", "text-to-image", "text-to-speech", "image-to-image",
         "audio-to-audio", "document-question-answering", "visual-question-answering", "tabular-classification",
         "tabular-regression")
OTHER_TASKS: tuple[str, ...] = ()


class TextGeneration(Passthrough):
    """The legacy pipeline body, or OpenAI completions for models the Hub maps as chat models."""

    def __init__(self):
        super().__init__("hf-inference", "text-generation")
        self.completions = _Completions()

    def build(self, call, target: Target, request, binary):
        if target.mapped_task == "conversational":
            return self.completions.build(call, target, request, binary)
        return super().build(call, target, request, binary)

    async def finish(self, call, target, reply, poller):
        if target.mapped_task == "conversational":
            return await self.completions.finish(call, target, reply, poller)
        return reply.body


class _Completions(Completions):
    def __init__(self):
        super().__init__("hf-inference", "text-generation")

    def path(self, target):
        return f"/models/{target.model}/v1/completions"


HELPERS: dict[str, Helper] = {task: Passthrough("hf-inference", task) for task in TASKS}
HELPERS["text-generation"] = TextGeneration()
