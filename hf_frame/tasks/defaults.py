"""The default model of every method: one the Hugging Face router serves for that task.

How they were chosen, on the date in ``checked``, from the Inference Providers documentation
(huggingface.co/docs/inference-providers, regenerated daily from the router's model mappings):

* ``source="served"``: the documentation showed this model served for the task by ``provider``;
* ``source="recommended"``: the task page recommends it and hf-inference (CPU models: BERT-style
  classifiers, sentence-transformers) is its provider, but the page's live example showed another
  model; kept because it is the better general default (sentiment, named entities, images,
  MiniLM, which ``provider="local"`` also ships);
* ``provider=None``: no provider listed the task at all; the long-standing default is kept and
  needs ``model=`` / ``endpoint=`` pointing at something that serves it;
* ``source="documented"``: the model huggingface_hub's own documentation and tests use for the
  task (with the provider they name, if any), at the date in ``checked``; not looked up on the
  Inference Providers pages.

``provider="auto"`` asks the Hub at run time anyway; this table only says what was true when
checked. ``local`` is the default of ``provider="local"`` where the remote one is too big to run
in-process.
"""

from __future__ import annotations

from typing import NamedTuple


class Default(NamedTuple):
    model: str | None
    provider: str | None  # who served it when checked (None: no provider lists the task)
    checked: str          # the date of the check (YYYY-MM-DD)
    source: str = "served"  # "served", "recommended" or "documented" (see the module docstring)
    local: str | None = None  # provider="local"'s default, when it differs


DEFAULTS: dict[str, Default] = {
    "text-classification": Default("distilbert/distilbert-base-uncased-finetuned-sst-2-english", "hf-inference",
                                   "2026-08-21", "recommended"),
    "zero-shot-classification": Default("facebook/bart-large-mnli", "hf-inference", "2026-08-21"),
    "token-classification": Default("dslim/bert-base-NER", "hf-inference", "2026-08-21", "recommended"),
    "question-answering": Default("deepset/roberta-base-squad2", "hf-inference", "2026-08-21"),
    "table-question-answering": Default("google/tapas-base-finetuned-wtq", "hf-inference", "2026-08-21"),
    "fill-mask": Default("google-bert/bert-base-uncased", "hf-inference", "2026-08-21"),
    "summarization": Default("facebook/bart-large-cnn", "hf-inference", "2026-08-21"),
    "translation": Default("google-t5/t5-small", "hf-inference", "2026-08-21"),
    "text-generation": Default("zai-org/GLM-5.2", "featherless-ai", "2026-08-21",
                               local="openai-community/gpt2"),
    "sentence-similarity": Default("sentence-transformers/all-MiniLM-L6-v2", "hf-inference", "2026-08-21", "recommended"),
    "feature-extraction": Default("sentence-transformers/all-MiniLM-L6-v2", "hf-inference", "2026-08-21", "recommended"),
    "text-ranking": Default(None, None, "2026-08-21"),  # rerank: the endpoint= server decides
    "chat-completion": Default("meta-llama/Llama-3.1-8B-Instruct", "nscale", "2026-08-21"),
    "image-classification": Default("google/vit-base-patch16-224", "hf-inference", "2026-08-21", "recommended"),
    "zero-shot-image-classification": Default("openai/clip-vit-base-patch32", None, "2026-08-21"),
    "object-detection": Default("facebook/detr-resnet-50", "hf-inference", "2026-08-21"),
    "image-segmentation": Default("nvidia/segformer-b0-finetuned-ade-512-512", "hf-inference", "2026-08-21"),
    "image-to-text": Default("Salesforce/blip-image-captioning-base", None, "2026-08-21"),
    "automatic-speech-recognition": Default("openai/whisper-large-v3", "hf-inference", "2026-08-21"),
    "audio-classification": Default("MIT/ast-finetuned-audioset-10-10-0.4593", None, "2026-08-21"),
    "visual-question-answering": Default("dandelin/vilt-b32-finetuned-vqa", "hf-inference", "2026-08-20", "documented"),
    "document-question-answering": Default("naver-clova-ix/donut-base-finetuned-docvqa", "hf-inference", "2026-08-20",
                                           "documented"),
    "text-to-image": Default("black-forest-labs/FLUX.1-schnell", "replicate", "2026-08-20", "documented"),
    "image-to-image": Default("black-forest-labs/FLUX.1-Kontext-dev", "together", "2026-08-20", "documented"),
    "text-to-speech": Default("hexgrad/Kokoro-82M", "replicate", "2026-08-20", "documented"),
    "audio-to-audio": Default("speechbrain/sepformer-wham", "hf-inference", "2026-08-20", "documented"),
    "tabular-classification": Default("julien-c/wine-quality", "hf-inference", "2026-08-20", "documented"),
    "tabular-regression": Default("scikit-learn/Fish-Weight", "hf-inference", "2026-08-20", "documented"),
    "image-text-to-text": Default("meta-llama/Llama-3.2-11B-Vision-Instruct", None, "2026-08-20", "documented"),
}


def default_model(task: str, provider: str | None = None) -> str | None:
    """The default model of ``task`` (``provider="local"`` may have a smaller one)."""
    entry = DEFAULTS.get(task)
    if entry is None:
        return None
    return entry.local if provider == "local" and entry.local else entry.model
