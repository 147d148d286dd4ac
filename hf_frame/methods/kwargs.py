"""The keyword arguments of the methods that pass extra keywords on to the API, as typed dicts.

Every method takes the settings as keywords (``**settings: Unpack[SettingsKwargs]``). The
methods that pass other keywords on to the API (``summarize``, ``translate``, ``generate``,
``caption``, ``transcribe``, ``chat``, ``document_qa``, ``text_to_image``, ``image_to_image``,
``text_to_speech``: ``max_new_tokens=40``) type those keywords with the dicts below, each the
settings plus the parameters the task's API documents. So editors complete both, and type
checkers check both.

Nothing here is enforced at run time: a parameter not listed still reaches the API as it is.
Type checkers accept such parameters through ``parameters={...}``, which every method takes and
which is sent the same way.
"""

from __future__ import annotations

from typing import Any

from ..config import SettingsKwargs

__all__ = ["ChatKwargs", "DocumentQAKwargs", "GenerationKwargs", "ImageToImageKwargs", "Seq2SeqKwargs",
           "TextGenerationKwargs", "TextToImageKwargs", "TextToSpeechKwargs", "TranscriptionKwargs"]


class GenerationKwargs(SettingsKwargs, total=False):
    """Settings, and the generation parameters of transformers' ``generate`` that the HF API takes
    under the same names (``caption``; the base of the other generation dicts)."""

    max_new_tokens: int
    max_length: int
    min_length: int
    min_new_tokens: int
    do_sample: bool
    temperature: float
    top_k: int
    top_p: float
    min_p: float
    typical_p: float
    epsilon_cutoff: float
    eta_cutoff: float
    repetition_penalty: float
    num_beams: int
    num_beam_groups: int
    num_return_sequences: int
    no_repeat_ngram_size: int
    length_penalty: float
    early_stopping: bool | str
    penalty_alpha: float
    diversity_penalty: float
    use_cache: bool
    bad_words_ids: list[list[int]]
    # the nested spellings of the HF task specs (their keys win over the top-level ones)
    generate_kwargs: dict[str, Any]
    generate_parameters: dict[str, Any]
    generation_parameters: dict[str, Any]


class Seq2SeqKwargs(GenerationKwargs, total=False):
    """``summarize`` and ``translate``: generation parameters, and how the text is tokenized."""

    clean_up_tokenization_spaces: bool
    truncation: str | bool  # "do_not_truncate", "longest_first", "only_first", "only_second"


class TextGenerationKwargs(GenerationKwargs, total=False):
    """``generate``: generation parameters, and those of text-generation-inference (TGI)."""

    seed: int
    stop: str | list[str]
    stop_sequences: list[str]
    frequency_penalty: float
    truncate: int
    best_of: int
    watermark: bool
    details: bool
    decoder_input_details: bool
    top_n_tokens: int
    grammar: dict[str, Any]
    adapter_id: str


class TranscriptionKwargs(SettingsKwargs, total=False):
    """``transcribe``: how long audio is cut, and nested generation parameters."""

    chunk_length_s: float
    stride_length_s: float | tuple[float, float]
    generate_kwargs: dict[str, Any]
    generate_parameters: dict[str, Any]
    generation_parameters: dict[str, Any]


class ChatKwargs(SettingsKwargs, total=False):
    """``chat``: the sampling parameters of OpenAI-compatible chat completions (and the common
    extras of TGI, vLLM and llama.cpp), sent at the root of the body. ``max_tokens``, the reply's
    length, is a key of :class:`SettingsKwargs` already (where it is a token budget; ``chat``
    sends it to the API)."""

    max_completion_tokens: int
    temperature: float
    top_p: float
    top_k: int
    min_p: float
    seed: int
    stop: str | list[str]
    frequency_penalty: float
    presence_penalty: float
    repetition_penalty: float
    logit_bias: dict[str, float]
    logprobs: bool
    top_logprobs: int


class DocumentQAKwargs(SettingsKwargs, total=False):
    """``document_qa``: the document question-answering parameters of the HF API."""

    doc_stride: int
    max_answer_len: int
    max_seq_len: int
    max_question_len: int
    handle_impossible_answer: bool
    lang: str
    word_boxes: list[Any]


class TextToImageKwargs(SettingsKwargs, total=False):
    """``text_to_image``: the text-to-image parameters the method does not name."""

    scheduler: str


class ImageToImageKwargs(SettingsKwargs, total=False):
    """``image_to_image``: the image-to-image parameters of the HF API."""

    negative_prompt: str
    guidance_scale: float
    num_inference_steps: int
    target_size: dict[str, int]  # {"width": ..., "height": ...}


class TextToSpeechKwargs(SettingsKwargs, total=False):
    """``text_to_speech``: generation parameters, and a provider's voice options."""

    generation_parameters: dict[str, Any]
    generate_kwargs: dict[str, Any]
    forward_params: dict[str, Any]
    voice: str
    speed: float
