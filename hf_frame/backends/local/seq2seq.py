"""Generation with ``generate``: HF API generation parameters, summarization, translation, captioning.

transformers 5 removed the summarization, translation and image-to-text pipelines; this module
does what they did -- tokenize (with the model's task prefix) or preprocess the images, ``generate``,
decode -- so results stay the same across transformers versions. The text-generation and speech
pipelines still exist, but take their generation parameters from :func:`generation_kwargs` too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from ...errors import LocalModelError
from .models import max_input_length

#: HF API generation parameters that transformers' ``generate`` takes under the same name.
GENERATE_KEYS = frozenset({
    "max_new_tokens", "max_length", "min_length", "min_new_tokens", "do_sample", "temperature",
    "top_k", "top_p", "typical_p", "epsilon_cutoff", "eta_cutoff", "repetition_penalty",
    "num_beams", "num_beam_groups", "num_return_sequences", "no_repeat_ngram_size",
    "length_penalty", "early_stopping", "penalty_alpha", "use_cache", "diversity_penalty",
    "bad_words_ids", "min_p",
})
#: Nested dicts of generation parameters, under the names the various HF task specs use.
GENERATE_DICTS = ("generate_kwargs", "generate_parameters", "generation_parameters")
# Setting any of these turns sampling on, as in text-generation-inference (TGI samples as soon as
# a "warper" is configured, even without do_sample).
_SAMPLING_WARPERS = ("temperature", "top_k", "top_p", "typical_p")


# ------------------------------------------------------------------------------------------------
# Parameters
# ------------------------------------------------------------------------------------------------


def generation_kwargs(params: dict) -> dict:
    """Generation kwargs from HF API parameters: top-level generation keys, plus the nested
    ``generate_parameters`` / ``generation_parameters`` / ``generate_kwargs`` dicts (which win)."""
    kwargs = {k: v for k, v in params.items() if k in GENERATE_KEYS and v is not None}
    for name in GENERATE_DICTS:
        nested = params.get(name)
        if nested is None:
            continue
        if not isinstance(nested, dict):
            raise LocalModelError(f"parameter {name!r} must be an object, got {type(nested).__name__}")
        kwargs.update({k: v for k, v in nested.items() if v is not None})
    return kwargs


def sampling_default(kwargs: dict) -> dict:
    """Greedy decoding unless sampling is asked for, explicitly or through a warper (as TGI does).

    transformers 5's text-generation pipeline would otherwise sample by default, making results
    non-deterministic -- and different from the HF API.
    """
    if "do_sample" not in kwargs:
        kwargs["do_sample"] = any(kwargs.get(k) is not None for k in _SAMPLING_WARPERS)
    return kwargs


# ------------------------------------------------------------------------------------------------
# Summarization and translation
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """How to generate for one summarization/translation request."""

    prefix: str  # prepended to every text (T5 puts the task there: "summarize: ", ...)
    generate: dict  # kwargs of ``generate``
    truncation: bool | str
    decode: dict  # kwargs of ``batch_decode``
    per_text: int  # sequences returned per text
    src_lang: str | None  # set on the tokenizer while generating (mBART/NLLB/M2M prepend its code)


def _translation_defaults(tokenizer, specific: dict, params: dict, fallback: dict) -> tuple[dict, int | None]:
    """(the config's task defaults, the token forced first) for the languages a translation asks for."""
    src, tgt = params.get("src_lang"), params.get("tgt_lang")
    if src and tgt and f"translation_{src}_to_{tgt}" in specific:  # T5: the task is in a text prefix
        return dict(specific[f"translation_{src}_to_{tgt}"]), None
    if not (src or tgt):  # no languages given: the model's first translation task, if any
        return next((dict(v) for k, v in specific.items() if k.startswith("translation")), {}), None
    if not tgt:
        return fallback, None
    # Multilingual models: the target language token is forced at the start of the output.
    forced_bos = _language_token_id(tokenizer, tgt)
    if forced_bos is None:
        raise LocalModelError(f"translation: the model does not know target language {tgt!r}")
    return fallback, forced_bos


def _language_token_id(tokenizer, lang: str) -> int | None:
    """Id of the language-code token ``lang`` (``fr_XX``, ``fra_Latn``, ``__fr__``...), or None."""
    get_lang_id = getattr(tokenizer, "get_lang_id", None)  # M2M100 maps "fr" -> "__fr__"
    if callable(get_lang_id):
        with contextlib.suppress(Exception):  # not a code it knows: try the token spellings below
            return int(get_lang_id(lang))
    for token in (lang, f"__{lang}__"):
        token_id = tokenizer.convert_tokens_to_ids(token)
        if token_id is not None and token_id != tokenizer.unk_token_id:
            return int(token_id)
    return None


def _truncation(params: dict) -> bool | str:
    """The tokenizer's ``truncation`` for the HF API's ``truncation`` parameter (default: truncate)."""
    truncation = params.get("truncation")
    if truncation in (None, True):
        return True
    return False if truncation == "do_not_truncate" else truncation


def _decode_kwargs(params: dict) -> dict:
    """``batch_decode`` kwargs: special tokens dropped, spaces cleaned up as the caller asks."""
    decode = {"skip_special_tokens": True}
    clean = params.get("clean_up_tokenization_spaces")
    if clean is not None:
        decode["clean_up_tokenization_spaces"] = bool(clean)
    return decode


def _plan(tokenizer, model, task: str, params: dict) -> _Plan:
    """How to generate: the model config's task defaults (e.g. num_beams=4 for summarization, T5's
    text prefix), overridden by the caller's parameters."""
    specific = getattr(model.config, "task_specific_params", None) or {}
    task_params = dict(specific.get(task) or {})
    forced_bos = src_lang = None
    if task == "translation":
        task_params, forced_bos = _translation_defaults(tokenizer, specific, params, task_params)
        if params.get("src_lang") and hasattr(tokenizer, "src_lang"):
            src_lang = params["src_lang"]
    prefix = task_params.pop("prefix", None) or getattr(model.config, "prefix", None) or ""
    gen = {k: v for k, v in task_params.items() if k in GENERATE_KEYS}
    gen.update(generation_kwargs(params))
    if forced_bos is not None:
        gen["forced_bos_token_id"] = forced_bos
    return _Plan(prefix, gen, _truncation(params), _decode_kwargs(params),
                 int(gen.get("num_return_sequences") or 1), src_lang)


@contextlib.contextmanager
def _source_language(tokenizer, src_lang: str | None) -> Iterator[None]:
    """The tokenizer set to source language ``src_lang`` for the enclosed calls (the model is shared:
    the previous language is put back afterwards, unless there was none to put back)."""
    if src_lang is None:
        yield
        return
    previous = tokenizer.src_lang
    tokenizer.src_lang = src_lang
    try:
        yield
    finally:
        if previous is not None:
            tokenizer.src_lang = previous


def _generate_all(bundle, batches: Iterator[dict], gen: dict, decode: dict) -> list[str]:
    """The decoded sequences ``generate`` gives for each batch of model inputs, in order."""
    import torch

    texts: list[str] = []
    for inputs in batches:
        with torch.no_grad():
            ids = bundle.model.generate(**inputs, **gen)
        texts += bundle.tokenizer.batch_decode(ids, **decode)
    return texts


def generate_text(bundle, task: str, texts: list[str], params: dict, batch_size: int,
                  device: str) -> list[list[str]]:
    """Summaries / translations of ``texts``: one list of generated strings per text.

    ``bundle`` holds a seq2seq model and its tokenizer; ``task`` is ``summarization`` or ``translation``.
    """
    tokenizer, model = bundle.tokenizer, bundle.model
    plan = _plan(tokenizer, model, task, params)
    max_length = max_input_length(tokenizer, model) if plan.truncation else None

    def batches():
        for lo in range(0, len(texts), batch_size):
            chunk = [plan.prefix + t for t in texts[lo:lo + batch_size]]
            enc = tokenizer(chunk, return_tensors="pt", padding=True, truncation=plan.truncation,
                            max_length=max_length)
            yield {k: v.to(device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}

    with _source_language(tokenizer, plan.src_lang):
        outputs = [t.strip() for t in _generate_all(bundle, batches(), plan.generate, plan.decode)]
    per = plan.per_text
    return [outputs[i:i + per] for i in range(0, len(outputs), per)]


# ------------------------------------------------------------------------------------------------
# Captioning
# ------------------------------------------------------------------------------------------------


def caption(bundle, images: list, gen: dict, batch_size: int, device: str) -> list[str]:
    """One caption per PIL image (``bundle``: an image-text-to-text model, its tokenizer and image processor)."""

    def batches():
        for lo in range(0, len(images), batch_size):
            pixels = bundle.image_processor(images=images[lo:lo + batch_size], return_tensors="pt")["pixel_values"]
            yield {"pixel_values": pixels.to(device, dtype=bundle.model.dtype)}

    return _generate_all(bundle, batches(), gen, {"skip_special_tokens": True})
