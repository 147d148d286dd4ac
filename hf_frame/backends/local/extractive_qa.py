"""Extractive question answering: the best answer spans of a context, from a model's start/end logits.

transformers 5 removed the question-answering pipeline; this is the transformers 4 pipeline's
algorithm, so answers stay the same across transformers versions:

1. long contexts are split into overlapping windows (``doc_stride``) that each repeat the question
   (:func:`_encode`), and the model gives start/end logits per token of every window (:func:`_logits`);
2. in each window the logits of non-context tokens are masked (the CLS token stays, as some models
   use it for "no answer"), turned into probabilities with a softmax, and every span with
   start <= end and at most ``max_answer_len`` tokens is scored ``p_start * p_end``
   (:func:`_score_window`, :func:`_best_spans`);
3. the best spans over all windows win, mapped back to characters of the context through the
   tokenizer's offsets, optionally widened to whole words (:func:`_answers`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import LocalModelError
from .models import max_input_length

#: A candidate answer: (score, first character, end character) in the context.
Span = tuple[float, int, int]


@dataclass(frozen=True)
class _Options:
    """The QA parameters of one request, validated, and the window geometry they imply."""

    top_k: int
    max_answer_len: int
    handle_impossible: bool
    align_to_words: bool
    max_len: int  # tokens per window
    stride: int  # tokens two windows share (before room is made for the question)


def _options(params: dict, tokenizer, model) -> _Options:
    """The request's QA parameters with the HF API defaults (top_k 1, max_answer_len 15, 384-token
    windows overlapping by 128), windows capped by what the model takes."""
    top_k = int(params.get("top_k") or 1)
    max_answer_len = int(params.get("max_answer_len") or 15)
    handle_impossible = bool(params.get("handle_impossible_answer", False))
    align_to_words = params.get("align_to_words", True) is not False
    if top_k < 1 or max_answer_len < 1:
        raise LocalModelError("question-answering: top_k and max_answer_len must be >= 1")
    max_len = min(int(params.get("max_seq_len") or 384), max_input_length(tokenizer, model))
    stride = min(int(params.get("doc_stride") or 128), max_len // 2)
    return _Options(top_k, max_answer_len, handle_impossible, align_to_words, max_len, stride)


def _encode(tokenizer, pairs: list[dict], options: _Options):
    """The windows of every (question, context) pair, with offsets and the window -> pair mapping."""
    max_len = options.max_len
    # The windows' overlap must leave room for the question; shrink it for long questions.
    longest_question = max(len(tokenizer(p["question"], add_special_tokens=False)["input_ids"]) for p in pairs)
    if longest_question + 8 > max_len:  # leave room for special tokens and some context
        raise LocalModelError(
            f"question-answering: a question of {longest_question} tokens leaves no room for the context "
            f"(the model takes {max_len} tokens)")
    stride = max(0, min(options.stride, max_len - longest_question - 4 - 1))
    return tokenizer(
        [p["question"] for p in pairs], [p["context"] for p in pairs],
        truncation="only_second", max_length=max_len, stride=stride, padding=True,
        return_overflowing_tokens=True, return_offsets_mapping=True, return_tensors="pt",
    )


def _logits(model, enc, batch_size: int, device: str) -> tuple[np.ndarray, np.ndarray]:
    """Start and end logits of every window, run through the model ``batch_size`` windows at a time."""
    import torch

    n_windows = enc["input_ids"].shape[0]
    feed = {k: v for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
    if "token_type_ids" in feed and not getattr(model.config, "type_vocab_size", 2) > 1:
        feed.pop("token_type_ids")  # RoBERTa-style models have no segment embeddings
    starts, ends = [], []
    with torch.no_grad():
        for lo in range(0, n_windows, batch_size):
            out = model(**{k: v[lo:lo + batch_size].to(device) for k, v in feed.items()})
            starts.append(out.start_logits.float().cpu().numpy())
            ends.append(out.end_logits.float().cpu().numpy())
    return np.concatenate(starts), np.concatenate(ends)


def _masked_softmax(logits: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Softmax over the tokens where ``keep`` is true (0 elsewhere), in float64."""
    x = np.where(keep, logits.astype(np.float64), -np.inf)
    x = np.exp(x - x.max())
    return x / x.sum()


def _score_window(start_logits: np.ndarray, end_logits: np.ndarray, seq_ids: list, word_ids: list,
                  offsets: list, options: _Options) -> tuple[list[Span], float | None]:
    """(the best spans of one window, its "no answer" score: the CLS token's, or None without one)."""
    context_mask = np.array([s == 1 for s in seq_ids])
    if not context_mask.any():  # a window without context tokens (empty context)
        return [], None
    keep = context_mask.copy()
    cls_index = 0 if seq_ids and seq_ids[0] is None else None
    if cls_index is not None:
        keep[cls_index] = True
    p_start = _masked_softmax(start_logits, keep)
    p_end = _masked_softmax(end_logits, keep)
    null_score = None if cls_index is None else float(p_start[cls_index] * p_end[cls_index])
    p_start = np.where(context_mask, p_start, 0.0)
    p_end = np.where(context_mask, p_end, 0.0)
    return _best_spans(p_start, p_end, context_mask, word_ids, offsets, options), null_score


def _best_spans(p_start: np.ndarray, p_end: np.ndarray, context_mask: np.ndarray, word_ids: list,
                offsets: list, options: _Options) -> list[Span]:
    """The ``top_k`` best-scoring spans of context tokens (start <= end, at most ``max_answer_len`` long)."""
    scores = np.tril(np.triu(np.outer(p_start, p_end)), options.max_answer_len - 1)
    flat = scores.ravel()
    spans = []
    for index in np.argsort(-flat)[: options.top_k]:
        s, e = divmod(int(index), scores.shape[1])
        if not (context_mask[s] and context_mask[e]) or flat[index] <= 0:
            continue
        if options.align_to_words and word_ids[s] is not None and word_ids[e] is not None:
            s, e = _widen_to_words(s, e, context_mask, word_ids)
        spans.append((float(flat[index]), offsets[s][0], offsets[e][1]))
    return spans


def _widen_to_words(s: int, e: int, context_mask: np.ndarray, word_ids: list) -> tuple[int, int]:
    """Token span [s, e] extended to whole words: the first token of the start word, the last of the end word."""
    while s > 0 and context_mask[s - 1] and word_ids[s - 1] == word_ids[s]:
        s -= 1
    while e + 1 < len(word_ids) and context_mask[e + 1] and word_ids[e + 1] == word_ids[e]:
        e += 1
    return s, e


def _answers(context: str, candidates: list[Span], null_score: float, options: _Options) -> Any:
    """The answer for one pair: its best ``top_k`` distinct spans (a dict when ``top_k`` is 1)."""
    answers, seen = [], set()
    for score, a, b in sorted(candidates, key=lambda c: -c[0]):
        if (a, b) in seen:  # the same span found in two overlapping windows
            continue
        seen.add((a, b))
        answers.append({"score": score, "start": a, "end": b, "answer": context[a:b]})
    if options.handle_impossible:
        answers.append({"score": null_score, "start": 0, "end": 0, "answer": ""})
        answers.sort(key=lambda r: -r["score"])
    answers = answers[:options.top_k]
    if not answers:  # empty context: nothing to extract
        answers = [{"score": 0.0, "start": 0, "end": 0, "answer": ""}]
    return answers[0] if options.top_k == 1 else answers


def extractive_qa(bundle, pairs: list[dict], params: dict, batch_size: int, device: str) -> list:
    """Best answer spans for ``pairs`` ({question, context}): one answer (or list of ``top_k``) per pair.

    ``bundle`` holds a question-answering model and its fast tokenizer (needed for the offsets).
    """
    options = _options(params, bundle.tokenizer, bundle.model)
    enc = _encode(bundle.tokenizer, pairs, options)
    start_logits, end_logits = _logits(bundle.model, enc, batch_size, device)
    offsets = enc["offset_mapping"].tolist()
    candidates: list[list[Span]] = [[] for _ in pairs]
    null_scores: list[float] = [1.0 for _ in pairs]
    for w, i in enumerate(enc["overflow_to_sample_mapping"].tolist()):
        spans, null_score = _score_window(start_logits[w], end_logits[w], enc.sequence_ids(w),
                                          enc.word_ids(w), offsets[w], options)
        candidates[i] += spans
        if null_score is not None:
            null_scores[i] = min(null_scores[i], null_score)
    return [_answers(pair["context"], candidates[i], null_scores[i], options) for i, pair in enumerate(pairs)]
