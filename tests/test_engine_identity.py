"""The unique-first engine gives exactly the outputs of the per-row path, over every task's
recorded answers (../shared/hf-recorded).

The reference below is the per-row path the engine replaced: every row prepared, answered and
decoded on its own, and ``build_array`` called on one result per row. The engine under test
runs the real method on a frame with duplicates, missing values and a failing input, over
httpx (a ``MockTransport`` answering each input with its recorded answer), once fresh and once
from the SQLite cache. Values and Arrow types must be equal, row by row.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pandas as pd
import pyarrow as pa
import pytest
from recorded import RECORDED_DIR, body, interactions

import hf_frame
from hf_frame import methods

BAD = "this input fails with a 400"


def recording(name: str, index: int = 0) -> tuple[Any, Any]:
    pair = interactions(name)[index]
    return body(pair["request"]), body(pair["response"])


@dataclass
class Case:
    """One task: the method to call, its input columns (value -> recorded answer) and how the
    wire carries an input (to answer each request with that input's recording)."""

    name: str
    method: str
    args: tuple
    kwargs: dict
    answers: dict  # input value (tuple of the row's inputs) -> recorded answer
    bad: tuple  # an input the server refuses
    kind: str = "text"  # text | pair | similarity | chat | media
    literal: Any = None  # similarity: the literal source sentence
    extra: dict = field(default_factory=dict)


def _text_case(name: str, method: str, *, second: str | None = None, second_index: int | None = None,
               recorded_input: Callable[[Any], str] = lambda r: r["inputs"], **kwargs) -> Case:
    request, answer = recording(name)
    text = recorded_input(request)
    answers = {(text,): answer, (text + " (again)",): answer}
    if second is not None:  # another recording of the same task answers a second distinct input
        other_request, other = recording(second, second_index or 0)
        answers[(recorded_input(other_request),)] = other
    return Case(name, method, ("col",), kwargs, answers, (BAD,))


def _first_text(request: Any) -> str:
    inputs = request["inputs"]
    return inputs[0] if isinstance(inputs, list) else inputs


def cases() -> list[Case]:
    out = [
        _text_case("text_classification", "classify", recorded_input=_first_text, top_k=None),
        _text_case("text_classification", "classify", recorded_input=_first_text),
        _text_case("token_classification", "ner"),
        _text_case("fill_mask", "fill_mask"),
        _text_case("summarization", "summarize"),
        _text_case("translation", "translate", second="translation_with_source_and_target_language"),
    ]
    for name in ("zero_shot_classification_multi_label", "zero_shot_classification_single_label"):
        request, _ = recording(name)
        labels = request["parameters"]["candidate_labels"]
        labels = labels.split(",") if isinstance(labels, str) else labels
        out.append(_text_case(name, "zero_shot", labels=labels, multi_label="multi" in name))
    request, answer = recording("question_answering")
    q, c = request["question"], request["context"]
    out.append(Case("question_answering", "qa", ("q", "c"), {}, {(q, c): answer, (q, c + "!"): answer},
                    (BAD, c), kind="pair"))
    request, answer = recording("table_question_answering")
    out.append(Case("table_question_answering", "table_qa", ("col",), {"table": request["table"]},
                    {(request["query"],): answer, (request["query"] + "?",): answer}, (BAD,)))
    request, answer = recording("sentence_similarity")
    source = request["inputs"]["source_sentence"]
    out.append(Case("sentence_similarity", "similarity", ("col", source), {},
                    {(s,): score for s, score in zip(request["inputs"]["sentences"], answer)}, (BAD,),
                    kind="similarity", literal=source))
    for name in ("chat_completion_no_stream", "chat_completion_with_non_tgi"):
        request, answer = recording(name)
        system = request["messages"][0]["content"]
        prompt = request["messages"][-1]["content"]
        out.append(Case(name, "chat", ("col",), {"system": system, "details": True},
                        {(prompt,): answer, (prompt + " Briefly.",): answer}, (BAD,), kind="chat"))
    request, answer = recording("chat_completion_with_response_format")
    schema = request["response_format"]["value"]
    out.append(Case("chat_completion_with_response_format", "chat", ("col",), {"json_schema": schema},
                    {(request["messages"][-1]["content"],): answer}, (BAD,), kind="chat"))
    media = [("image_classification", "classify_image", {"top_k": None}),
             ("object_detection", "detect", {}), ("image_segmentation", "segment", {}),
             ("image_to_text", "caption", {}), ("automatic_speech_recognition", "transcribe", {}),
             ("audio_classification", "classify_audio", {"top_k": 4})]
    request, _ = recording("zero_shot_image_classification")
    media.append(("zero_shot_image_classification", "zero_shot_image",
                  {"labels": request["parameters"]["candidate_labels"].split(",")}))
    for name, method, kwargs in media:
        request, answer = recording(name)
        data = base64.b64decode(request["image"]) if isinstance(request, dict) else request
        magic = b"fLaC" if "audio" in name or "speech" in name else b"\x89PNG\r\n\x1a\n"
        out.append(Case(name, method, ("col",), kwargs, {(data,): answer}, (magic + b"0" * 64,), kind="media"))
    return out


def _case_id(case: Case) -> str:
    return f"{case.name}-{case.method}" + ("-top1" if case.method == "classify" and not case.kwargs else "")


CASES = cases() if RECORDED_DIR.is_dir() else []  # without the recordings: nothing to compare


# ---------------------------------------------------------------------------------------------
# the wire: each input answered with its recording


def _inputs_of(request: httpx.Request, case: Case) -> list[tuple]:
    if not request.headers.get("content-type", "").startswith("application/json"):
        return [(request.content,)]
    payload = json.loads(request.content)
    if case.kind == "chat":
        return [(payload["messages"][-1]["content"],)]
    inputs = payload["inputs"]
    if case.kind == "media":
        return [(base64.b64decode(inputs),)]
    if case.kind == "pair":
        return [(inputs["question"], inputs["context"])]
    if case.kind == "similarity":
        return [(s,) for s in inputs["sentences"]]
    if isinstance(inputs, dict) and "query" in inputs:
        return [(inputs["query"],)]
    return [(x,) for x in inputs] if isinstance(inputs, list) else [(inputs,)]


def _transport(case: Case) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        keys = _inputs_of(request, case)
        if any(k == case.bad for k in keys):
            return httpx.Response(400, json={"error": "refused by the test server"})
        answers = [case.answers[k] for k in keys]
        if case.kind == "similarity":
            return httpx.Response(200, json=answers)
        return httpx.Response(200, json=answers[0])
    return httpx.MockTransport(handler)


# ---------------------------------------------------------------------------------------------
# the per-row reference


def _rows(case: Case) -> list[tuple]:
    """Distinct inputs, each several times, missing values, and the failing input twice."""
    values = list(case.answers)
    missing = tuple(None for _ in values[0])
    rows = []
    for i in range(3):
        rows += values[i % len(values):] + [missing, case.bad] + values[: i % len(values)]
    return rows


def _job(case: Case, **settings) -> methods.Job:
    build = methods.METHODS[case.method]
    return build(*case.args, **case.kwargs, **settings)


def reference(case: Case, rows: list[tuple]) -> tuple[pa.StructArray, list[bool]]:
    """Outputs row by row: prepare, parse the recorded answer, encode + decode (as a cached
    answer), then ``build_array`` on one result per row. Also: which rows fail."""
    job = _job(case)
    call = job.calls[0]
    task = call.task
    results, failed = [], []
    for i, values in enumerate(rows):
        if case.kind == "similarity":
            values = (case.literal, values[0])
        item = task.prepare(call, values, i) if case.kind != "media" else (None if values[0] is None else values)
        if item is None:
            results.append(None), failed.append(False)
            continue
        key = values if case.kind != "similarity" else (values[1],)
        if key == case.bad:
            results.append(None), failed.append(True)
            continue
        answer = case.answers[key]
        if case.kind == "similarity":
            answer = [answer]
        [result] = task.parse(call, answer, [item])
        results.append(task.decode(task.encode(result)))
        failed.append(False)
    return task.build_array(call, results), failed


def _arrow(series: pd.Series) -> pa.Array:
    array = pa.array(series.array)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _frame(case: Case, rows: list[tuple]) -> pd.DataFrame:
    names = [a for a in case.args if a in ("col", "q", "c")]
    return pd.DataFrame({name: pd.Series([r[i] for r in rows], dtype=object) for i, name in enumerate(names)})


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_outputs_equal_the_per_row_path(case: Case, tmp_path):
    rows = _rows(case)
    expected, failed = reference(case, rows)
    settings = {"transport": _transport(case), "base_url": "https://router.example", "cache": str(tmp_path),
                "errors": "ignore", "max_retries": 0, "token": "hf_test"}
    df = _frame(case, rows)
    job = _job(case, **settings)
    prefix = job.default_prefix([a if a in df.columns else None for a in case.args])
    runs = []
    for attempt in ("fresh", "cached"):
        out = getattr(df.hf, case.method)(*case.args, **case.kwargs, **settings)
        stats = hf_frame.last_run()
        runs.append(out)
        if attempt == "cached":  # every answer from the cache; the failed input is asked again
            assert (stats["cached"], stats["requests"]) == (len(case.answers), 1), stats
    fields = [f.name for f in expected.type]
    for out in runs:
        for name, want in zip(fields, expected.flatten()):
            column = _arrow(out[f"{prefix}_{name}"])
            assert column.type == want.type, name
            assert column.to_pylist() == want.to_pylist(), name
        errors = out[f"{prefix}_error"]
        assert errors.notna().tolist() == failed
        messages = {m for m in errors.dropna()}
        assert len(messages) == 1  # both failing rows carry the same message


def test_every_recording_with_a_task_is_covered():
    """A new recording of a task hf_frame runs must be added to the cases above."""
    if not RECORDED_DIR.is_dir():
        pytest.skip("recorded traffic not available")
    covered = {c.name for c in CASES} | {"translation_with_source_and_target_language"}
    not_ours = {"audio_to_audio", "conversational", "document_question_answering", "text_to_image",
                "text_to_image_default", "text_to_image_with_parameters", "text_to_speech",
                "visual_question_answering", "chat_completion_with_stream", "chat_completion_with_tool",
                "chat_completion_unprocessable_entity",
                "feature_extraction_with_sentence_transformers", "feature_extraction_with_transformers"}
    recorded = {p.stem for p in RECORDED_DIR.glob("*.json")}
    assert recorded - covered - not_ours == set()
