"""Handlers of the text tasks: classification, zero-shot, token classification, fill-mask, text
generation, extractive and table question answering, summarization and translation.

Each handler takes ``(model, body, params)`` -- the :class:`~.models.ModelHandle` of the request,
the HF API request body and its ``parameters`` -- checks them before loading anything, and returns
what the HF API answers for that body.
"""

from __future__ import annotations

from typing import Any

from ...errors import LocalModelError
from .decoding import answer, check_params, jsonable, listed, root_inputs, text_inputs
from .extractive_qa import extractive_qa
from .models import Loaded, ModelHandle
from .seq2seq import GENERATE_DICTS, GENERATE_KEYS, generate_text, generation_kwargs, sampling_default


def text_classification(model: ModelHandle, body: dict, params: dict) -> Any:
    """``[[{label, score}, ...]]``: one list per text, best first, for a single string too (as the HF API)."""
    check_params(model.task, params, {"top_k", "function_to_apply"})
    texts, _ = text_inputs(model.task, body.get("inputs"))  # the answer has the same shape either way
    # top_k=None: every label, best first -- what the HF API returns when top_k is not given.
    kwargs = {"top_k": params.get("top_k"), "truncation": True}
    if params.get("function_to_apply") is not None:
        kwargs["function_to_apply"] = params["function_to_apply"]
    out = model.per_input(model.pipeline(), texts, **kwargs)
    return jsonable([o if isinstance(o, list) else [o] for o in out])


def _candidate_labels(task: str, labels: Any) -> list[str]:
    """The zero-shot labels: a list of strings, or one comma-separated string."""
    if isinstance(labels, str):  # the HF API also takes "a,b,c"
        labels = [label.strip() for label in labels.split(",") if label.strip()]
    if not labels or not isinstance(labels, (list, tuple)) or not all(isinstance(x, str) for x in labels):
        raise LocalModelError(f"{task}: parameters.candidate_labels must be a non-empty list of strings")
    return list(labels)


def zero_shot_classification(model: ModelHandle, body: dict, params: dict) -> Any:
    """``{sequence, labels, scores}`` per text."""
    check_params(model.task, params, {"candidate_labels", "multi_label", "hypothesis_template"})
    texts, many = text_inputs(model.task, body.get("inputs"))
    kwargs = {"candidate_labels": _candidate_labels(model.task, params.get("candidate_labels")),
              "multi_label": bool(params.get("multi_label", False))}
    if params.get("hypothesis_template") is not None:
        kwargs["hypothesis_template"] = params["hypothesis_template"]
    return answer(model.per_input(model.pipeline(), texts, **kwargs), many)


def token_classification(model: ModelHandle, body: dict, params: dict) -> Any:
    """``[{entity_group, score, word, start, end}]`` per text."""
    check_params(model.task, params, {"aggregation_strategy", "ignore_labels", "stride"})
    texts, many = text_inputs(model.task, body.get("inputs"))
    # The HF API groups entities ("simple") unless told otherwise; its answers carry entity_group.
    kwargs = {"aggregation_strategy": params.get("aggregation_strategy") or "simple"}
    for name in ("ignore_labels", "stride"):
        if params.get(name) is not None:
            kwargs[name] = params[name]
    return answer(model.per_input(model.pipeline(), texts, **kwargs), many)


def fill_mask(model: ModelHandle, body: dict, params: dict) -> Any:
    """``[{score, token, token_str, sequence}]`` per text."""
    check_params(model.task, params, {"top_k", "targets"})
    texts, many = text_inputs(model.task, body.get("inputs"))
    kwargs = {k: params[k] for k in ("top_k", "targets") if params.get(k) is not None}
    return answer(model.per_input(model.pipeline(), texts, **kwargs), many)


# TGI features with no transformers equivalent, and the values meaning "not used".
_TGI_ONLY = {"details": (False,), "decoder_input_details": (False,), "watermark": (False,),
             "top_n_tokens": (0,), "grammar": (), "adapter_id": (), "frequency_penalty": (0, 0.0),
             "truncate": (), "best_of": (1,)}
_TEXT_GENERATION_PARAMS = (GENERATE_KEYS | set(GENERATE_DICTS) | set(_TGI_ONLY)
                           | {"return_full_text", "seed", "stop", "stop_sequences"})


def _pipeline_generation_kwargs(params: dict) -> dict:
    """The text-generation pipeline's kwargs for the HF API (TGI) parameters."""
    kwargs = sampling_default(generation_kwargs(params))
    if params.get("return_full_text") is not None:
        kwargs["return_full_text"] = bool(params["return_full_text"])
    stop = params.get("stop") or params.get("stop_sequences")
    if stop:
        kwargs["stop_sequence"] = [stop] if isinstance(stop, str) else list(stop)
    return kwargs


def _seeded(loaded: Loaded, seed: Any) -> Loaded:
    """``loaded`` with the global RNG seeded right before each generation, inside the model lock, so
    that the same seed gives the same text (like TGI's per-request seed)."""
    import torch

    pipe = loaded.obj

    def seeded(inputs, **kw):
        torch.manual_seed(int(seed))
        return pipe(inputs, **kw)

    return Loaded(seeded, loaded.lock)


def text_generation(model: ModelHandle, body: dict, params: dict) -> Any:
    """``[{generated_text}]`` per text; greedy unless sampling is asked for (as TGI)."""
    task = model.task
    check_params(task, params, _TEXT_GENERATION_PARAMS)
    used = sorted(k for k, unused in _TGI_ONLY.items() if params.get(k) is not None and params[k] not in unused)
    if used:
        raise LocalModelError(f"{task}: parameter(s) {', '.join(used)} not supported locally (TGI-only features)")
    texts, many = text_inputs(task, body.get("inputs"))
    kwargs = _pipeline_generation_kwargs(params)
    seed = params.get("seed")
    loaded = model.pipeline()
    if seed is not None:
        loaded = _seeded(loaded, seed)
    return answer(model.per_input(loaded, texts, **kwargs), many)


def question_answering(model: ModelHandle, body: dict, params: dict) -> Any:
    """Extractive QA (the transformers 4 pipeline's algorithm, which transformers 5 removed)."""
    task = model.task
    check_params(task, params, {"top_k", "max_answer_len", "handle_impossible_answer", "doc_stride",
                                "max_seq_len", "max_question_len", "align_to_words"})
    pairs, many = listed(root_inputs(body, ("question", "context")))  # legacy bodies: at the root
    for pair in pairs:
        if not (isinstance(pair, dict) and isinstance(pair.get("question"), str)
                and isinstance(pair.get("context"), str)):
            raise LocalModelError(f"{task}: 'inputs' must be {{'question': str, 'context': str}} (or a list of them)")
    loaded = model.qa_model()
    return answer(model.compute(loaded, lambda: extractive_qa(loaded.obj, pairs, params, model.batch_size,
                                                              model.device)), many)


def _table_query(task: str, item: Any) -> dict:
    """One table-QA input, with every cell as text (TAPAS tokenizes cell *text*; the HF API likewise
    wants string cells)."""
    if not (isinstance(item, dict) and isinstance(item.get("query"), str) and isinstance(item.get("table"), dict)):
        raise LocalModelError(f"{task}: 'inputs' must be {{'query': str, 'table': {{column: [cells]}}}}")
    table = {str(col): [str(cell) for cell in cells] for col, cells in item["table"].items()}
    return {"query": item["query"], "table": table}


def table_question_answering(model: ModelHandle, body: dict, params: dict) -> Any:
    """``{answer, coordinates, cells, aggregator}`` per (query, table)."""
    check_params(model.task, params, {"padding", "sequential", "truncation"})
    items, many = listed(root_inputs(body, ("query", "table")))  # legacy bodies: at the root
    queries = [_table_query(model.task, item) for item in items]
    kwargs = {k: params[k] for k in ("padding", "sequential", "truncation") if params.get(k) is not None}
    loaded = model.pipeline()
    # TAPAS runs one table at a time anyway (each has its own row/column structure).
    out = model.compute(loaded, lambda: [loaded.obj(table=q["table"], query=q["query"], **kwargs) for q in queries])
    return answer(out, many)


_SEQ2SEQ_PARAMS = GENERATE_KEYS | set(GENERATE_DICTS) | {"clean_up_tokenization_spaces", "truncation"}


def summarization(model: ModelHandle, body: dict, params: dict) -> Any:
    """``[{summary_text}]`` for a text; one dict (or list of them) per text for a list."""
    return _generated(model, body, params, _SEQ2SEQ_PARAMS, "summary_text")


def translation(model: ModelHandle, body: dict, params: dict) -> Any:
    """``[{translation_text}]`` for a text; ``src_lang``/``tgt_lang`` pick the languages."""
    return _generated(model, body, params, _SEQ2SEQ_PARAMS | {"src_lang", "tgt_lang"}, "translation_text")


def _generated(model: ModelHandle, body: dict, params: dict, allowed: set[str], key: str) -> Any:
    """Summarization / translation: tokenize, ``generate``, decode (as the removed pipelines did)."""
    check_params(model.task, params, allowed)
    texts, many = text_inputs(model.task, body.get("inputs"))
    loaded = model.generator()
    out = model.compute(loaded, lambda: generate_text(loaded.obj, model.task, texts, params, model.batch_size,
                                                      model.device))
    results = [[{key: text} for text in seqs] for seqs in out]
    if not many:  # like the HF API: [{"summary_text": ...}] (one dict per returned sequence)
        return results[0]
    # A list of texts: one dict per text (a list of dicts with num_return_sequences > 1), as
    # the transformers 4 pipelines returned.
    return [r[0] if len(r) == 1 else r for r in results]
