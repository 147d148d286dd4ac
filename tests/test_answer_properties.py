"""Property test: whatever a service answers, every task gives a row error or a value of its output
type, never an exception out of the call, and never caches a value that does not decode into that
type.

For every spec in ``hf_frame.tasks.TASKS``, hypothesis draws answers (any JSON, valid answers with
parts replaced, field names the parsers look for) and hands each to a real call through
``httpx.MockTransport`` (the transport seam; nothing leaves the process), with the real engine and
the real SQLite cache. Then the cache is read back for every row.
"""

from __future__ import annotations

import itertools
import json
import math

import httpx
import pytest
from fake_hub import answers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_media_tasks import png_bytes, wav_bytes

from hf_frame import methods, runtime
from hf_frame.core import engine
from hf_frame.formats import media
from hf_frame.tasks import TASKS

IMAGE, AUDIO = png_bytes(7), wav_bytes()
_counter = itertools.count()
CHAT_SCHEMA = {"label": str, "n": int}
CHAT_ANSWER = answers.chat_completion("m", [{"role": "user", "content": "hi"}],
                                      {"type": "json_object", "value": {"type": "object", "properties": {
                                          "label": {"type": "string"}, "n": {"type": "integer"}}}})
TABLE = {"c0": [1.5, 2.5], "c1": ["x", "y"]}

# task -> (method, positional arguments, keyword arguments, the input columns for two rows, a valid answer).
# The input columns: a number of text columns, a kind ("image", "audio", "text", "numbers", "shared
# source") or a tuple of kinds, one column each. A valid answer of bytes is a file answer, sent as is.
RECIPES = {
    "text-classification": ("classify", ("c0",), {"top_k": None}, 1, [answers.classify("x")]),
    "zero-shot-classification": ("zero_shot", ("c0",), {"labels": ["a", "b"]}, 1, answers.zero_shot("x", ["a", "b"])),
    "token-classification": ("ner", ("c0",), {}, 1, answers.entities("Ada Lovelace met Bob in Paris")),
    "question-answering": ("qa", ("c0", "c1"), {}, 2, answers.answer_question("who?", "Ada wrote")),
    "table-question-answering": ("table_qa", ("c0",), {"table": {"a": ["1", "2"]}}, 1,
                                 answers.table_answer("how many?", {"a": ["1", "2"]})),
    "fill-mask": ("fill_mask", ("c0",), {}, 1, answers.fill_mask("The <mask> is blue.")),
    "summarization": ("summarize", ("c0",), {}, 1, [answers.summarize("a long text")]),
    "translation": ("translate", ("c0",), {}, 1, [answers.translate("a text")]),
    "text-generation": ("generate", ("c0",), {}, 1, [answers.generate("once")]),
    "sentence-similarity": ("similarity", ("c0", "c1"), {}, "shared source", answers.similarity("s", ["a", "b"])),
    "feature-extraction": ("embed", ("c0",), {}, 1, [answers.vector("a", 8), answers.vector("b", 8)]),
    "text-ranking": ("rerank", ("query", "c0"), {"endpoint": "http://127.0.0.1:9"}, 1,
                     [{"index": 1, "score": 0.5}, {"index": 0, "score": 0.25}]),
    "chat-completion": ("chat", ("c0",), {"json_schema": CHAT_SCHEMA}, 1, CHAT_ANSWER),
    "image-text-to-text": ("chat", ("c0",), {"images": "c1", "json_schema": CHAT_SCHEMA}, ("text", "image"),
                           CHAT_ANSWER),
    "image-classification": ("classify_image", ("c0",), {"top_k": None}, "image", answers.image_classify(IMAGE)),
    "zero-shot-image-classification": ("zero_shot_image", ("c0",), {"labels": ["cat", "dog"]}, "image",
                                       answers.zero_shot_image(IMAGE, ["cat", "dog"])),
    "object-detection": ("detect", ("c0",), {}, "image", answers.detect(IMAGE)),
    "image-segmentation": ("segment", ("c0",), {}, "image", answers.segment(IMAGE)),
    "image-to-text": ("caption", ("c0",), {}, "image", [answers.caption(IMAGE)]),
    "automatic-speech-recognition": ("transcribe", ("c0",), {"return_timestamps": True}, "audio",
                                     answers.transcribe(AUDIO, return_timestamps=True)),
    "audio-classification": ("classify_audio", ("c0",), {"top_k": None}, "audio", answers.audio_classify(AUDIO)),
    "visual-question-answering": ("visual_qa", ("c0", "c1"), {"top_k": None}, ("image", "text"),
                                  answers.visual_qa(IMAGE, "What is it?")),
    "document-question-answering": ("document_qa", ("c0", "c1"), {"top_k": 2}, ("image", "text"),
                                    answers.document_qa(IMAGE, "What is the total?", 3)),
    "text-to-image": ("text_to_image", ("c0",), {}, 1, IMAGE),
    "image-to-image": ("image_to_image", ("c0",), {"prompt": "c1"}, ("image", "text"), IMAGE),
    "text-to-speech": ("text_to_speech", ("c0",), {}, 1, AUDIO),
    "audio-to-audio": ("audio_to_audio", ("c0",), {}, "audio", answers.audio_to_audio(AUDIO)),
    "tabular-classification": ("tabular_classify", (["c0", "c1"],), {}, ("numbers", "text"),
                               answers.tabular("tabular-classification", TABLE)),
    "tabular-regression": ("tabular_regress", (["c0", "c1"],), {}, ("numbers", "text"),
                           answers.tabular("tabular-regression", TABLE)),
}

FIELDS = ["label", "score", "labels", "scores", "entity_group", "entity", "word", "start", "end", "answer",
          "cells", "coordinates", "aggregator", "sequence", "token_str", "token", "summary_text",
          "translation_text", "generated_text", "data", "embedding", "index", "relevance_score", "results",
          "box", "xmin", "ymin", "xmax", "ymax", "mask", "text", "chunks", "timestamp", "choices", "message",
          "content", "usage", "finish_reason", "prompt_tokens", "completion_tokens", "tool_calls", "blob",
          "content-type", "content_type", "predictions"]

leaves = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True, allow_infinity=True)
          | st.text(max_size=8) | st.sampled_from(["", "data:image/png;base64,AAAA", '{"label": "x", "n": 1}']))
json_values = st.recursive(
    leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=4),
                                                                        inner, max_size=5),
    max_leaves=24)


def near(value):
    """A valid answer with any of its parts (or none) replaced by something else."""
    if isinstance(value, bytes):  # a file: cut short, another kind of file, any bytes, or JSON
        cut = st.integers(0, len(value) - 1).map(lambda n: value[:n])
        return st.just(value) | cut | st.sampled_from([IMAGE, AUDIO]) | st.binary(max_size=24) | leaves
    if isinstance(value, dict):
        same = st.fixed_dictionaries({k: near(v) for k, v in value.items()})
    elif isinstance(value, list):
        same = st.tuples(*[near(v) for v in value]).map(list) if value else st.just([])
    else:
        same = st.just(value)
    return same | json_values if isinstance(value, (dict, list)) else same | leaves


def answers_for(task: str):
    return st.just(RECIPES[task][4]) | near(RECIPES[task][4]) | json_values


def test_every_task_has_a_recipe():
    assert set(RECIPES) == set(TASKS)


def columns_for(kind) -> list[list]:
    if isinstance(kind, tuple):
        return [column for one in kind for column in columns_for(one)]
    n = next(_counter)  # fresh inputs for every example: nothing comes from an earlier example's cache
    if kind == "text":
        return [[f"input {n} a", f"input {n} b"]]
    if kind == "numbers":
        return [[n + 0.5, n + 1.5]]
    if kind == "image":
        return [[png_bytes(1000 + 2 * n), png_bytes(1001 + 2 * n)]]
    if kind == "audio":
        return [[wav_bytes(200 + 2 * n), wav_bytes(201 + 2 * n)]]
    if kind == "shared source":  # one request: both rows compare to the same sentence
        return [[f"source {n}", f"source {n}"], [f"input {n} a", f"input {n} b"]]
    return [[f"input {n} a <mask>", f"input {n} b <mask>"] for _ in range(kind)]


def run_with_answer(task: str, answer):
    method, args, kwargs, kind, _ = RECIPES[task]
    if isinstance(answer, bytes):  # a file answer, labelled as what it sniffs as
        body, content_type = answer, media.sniff(answer) or "application/octet-stream"
    else:  # NaN and Infinity as Python writes them: the decoder takes them
        body, content_type = json.dumps(answer).encode(), "application/json"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": content_type})

    job = getattr(methods, method)(*args, **kwargs, base_url="http://127.0.0.1:9", max_retries=0, cache="memory",
                                   transport=httpx.MockTransport(handler), errors="ignore", progress=False)
    columns = columns_for(kind)
    return job, columns


def decodes_into_its_type(call, data: bytes) -> None:
    value = call.task.decode(data)
    call.task.build_array(call, [value])  # raises if the cached value does not fit the output type


@pytest.mark.parametrize("task", sorted(RECIPES))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_any_answer_gives_a_row_error_or_a_typed_value_and_caches_only_what_decodes(task, data):
    answer = data.draw(answers_for(task), label="answer")
    job, columns = run_with_answer(task, answer)
    rows = list(zip(*columns))
    for call in job.calls:
        outcome = engine.run(call, rows)  # never raises
        cache = runtime.get_cache(call.settings)
        stored = cache.get_many([k for k in outcome.row_keys if k is not None])
        for key, result, error in zip(outcome.row_keys, outcome.results, outcome.errors):
            if error is not None:
                assert isinstance(error, str) and key not in stored  # a failed row is never cached
                continue
            assert result is not None
            call.task.build_array(call, [result])  # the value has the output type
            assert key in stored
            decodes_into_its_type(call, stored[key])
    out = job.run(columns)  # the method on top of the cache: no exception either
    assert len(out) == len(rows)


def test_nan_and_infinity_scores_are_values_not_crashes():
    """JSON's non-standard NaN/Infinity reach the parsers as floats: a float column holds them."""
    job, columns = run_with_answer("text-classification", [[{"label": "A", "score": math.nan}]])
    out = job.run(columns)
    assert out.field("label").to_pylist() == ["A", "A"]


@pytest.mark.parametrize("task", sorted(RECIPES))
def test_every_recipe_answer_gives_a_value_for_every_row(task):
    """A recipe's valid answer is valid: the property test reaches the parsers' success paths."""
    job, columns = run_with_answer(task, RECIPES[task][4])
    rows = list(zip(*columns))
    for call in job.calls:
        outcome = engine.run(call, rows)
        assert outcome.errors == [None] * len(rows) and all(r is not None for r in outcome.results)


@pytest.mark.parametrize("blob", ["", "!!", "AAAA", "data:image/png;base64,AAAA"])
def test_a_separated_sound_that_is_not_audio_is_a_row_error_and_not_cached(blob):
    good = answers.audio_to_audio(AUDIO)[0]
    job, columns = run_with_answer("audio-to-audio", [good, {**good, "blob": blob}])
    outcome = engine.run(job.calls[0], list(zip(*columns)))
    assert outcome.results == [None, None]
    assert all("sound 1" in error for error in outcome.errors)
    assert runtime.get_cache(job.calls[0].settings).get_many(outcome.row_keys) == {}
