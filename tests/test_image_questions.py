"""visual_qa and document_qa: the request shape, the typed columns, dedup by (image content,
question), row errors for unreadable images, polars, and replays of the recorded exchanges."""

from __future__ import annotations

import base64
import io
import json

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from fake_hub import answers
from PIL import Image
from recorded import body, interactions

import hf_frame
from hf_frame import methods
from hf_frame.errors import RowErrorWarning


def png_bytes(seed: int = 0) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def use_hub(hub):
    hf_frame.configure(base_url=hub.base_url)
    return hub


def sent(hub, task):
    return [r for r in hub.requests if r.task == task]


def test_visual_qa_body_columns_and_dedup(use_hub, tmp_path):
    path = tmp_path / "a.png"
    path.write_bytes(png_bytes(1))
    df = pd.DataFrame({"photo": [str(path), png_bytes(1), png_bytes(2), None],
                       "q": ["What colour?", "What colour?", "What colour?", "What colour?"]})
    out = df.hf.visual_qa("photo", "q")
    assert list(out.columns[2:]) == ["photo_answer", "photo_score", "photo_error"]
    assert str(out["photo_answer"].dtype) == "string[pyarrow]" and str(out["photo_score"].dtype) == "double[pyarrow]"
    requests = sent(use_hub, "visual-question-answering")
    assert len(requests) == 2  # the same picture as a path and as bytes: one request
    first = requests[0].json
    assert set(first) == {"inputs", "parameters"} and first["parameters"] == {"top_k": 1}
    assert set(first["inputs"]) == {"image", "question"} and first["inputs"]["question"] == "What colour?"
    best = answers.visual_qa(png_bytes(1), "What colour?", 1)[0]
    assert out["photo_answer"][0] == out["photo_answer"][1] == best["answer"]
    assert out["photo_score"][0] == best["score"] and pd.isna(out["photo_answer"][3])


def test_visual_qa_a_literal_question_top_k_and_questions_per_row(use_hub):
    image = png_bytes(3)
    df = pd.DataFrame({"photo": [image, image], "q": ["Is it day?", "How many?"]})
    out = df.hf.visual_qa("photo", "q", top_k=3)
    assert len(sent(use_hub, "visual-question-answering")) == 2  # same image, two questions: two requests
    assert out["photo_answers"].dtype == pd.ArrowDtype(pa.list_(pa.struct([("answer", pa.string()),
                                                                           ("score", pa.float64())])))
    assert out["photo_answers"][1] == answers.visual_qa(image, "How many?", 3)
    use_hub.reset()
    literal = df.hf.visual_qa("photo", "Is it day?", top_k=None, prefix="day")
    [request] = sent(use_hub, "visual-question-answering")  # one image, one question: one request
    assert "parameters" not in request.json  # top_k=None: every answer the server gives (5 here)
    assert len(literal["day_answers"][0]) == 5 and literal["day_answers"][0] == literal["day_answers"][1]


def test_document_qa(use_hub):
    scan = png_bytes(4)
    df = pd.DataFrame({"scan": [scan, b"%PDF-1.7 not an image", None]})
    with pytest.warns(RowErrorWarning):
        out = df.hf.document_qa("scan", "What is the total?", lang="en")
    assert list(out.columns[1:]) == ["scan_answer", "scan_score", "scan_start", "scan_end", "scan_error"]
    assert str(out["scan_start"].dtype) == "int64[pyarrow]"
    [request] = sent(use_hub, "document-question-answering")
    assert request.json["parameters"] == {"top_k": 1, "lang": "en"}
    assert base64.b64decode(request.json["inputs"]["image"]) == scan
    best = answers.document_qa(scan, "What is the total?")[0]
    assert (out["scan_answer"][0], out["scan_start"][0], out["scan_end"][0]) == (best["answer"], 2, 3)
    assert "row 1" in out["scan_error"][1] and "not an image" in out["scan_error"][1]
    assert pd.isna(out["scan_answer"][2]) and pd.isna(out["scan_error"][2])
    two = df.iloc[:1].hf.document_qa("scan", "What is the total?", top_k=2)
    assert [a["answer"] for a in two["scan_answers"][0]] == [best["answer"], "candidate 1"]


def test_a_missing_question_is_a_null_row(use_hub):
    out = pd.DataFrame({"photo": [png_bytes()], "q": [None]}).hf.visual_qa("photo", "q")
    assert use_hub.count() == 0 and pd.isna(out["photo_answer"][0]) and pd.isna(out["photo_error"][0])


def test_polars_struct_expression_and_lazy(use_hub):
    pl = pytest.importorskip("polars")
    df = pl.DataFrame({"photo": [png_bytes(5), png_bytes(6)], "q": ["Why?", "Why?"]})
    expr = df.select(pl.struct("photo", "q").hf.visual_qa().alias("v")).unnest("v")
    assert expr.columns == ["answer", "score", "error"] and expr.schema["score"] == pl.Float64
    lazy = df.lazy().hf.document_qa("photo", pl.lit("Total?"))
    assert lazy.collect_schema()["photo_start"] == pl.Int64
    assert lazy.collect()["photo_answer"].to_list() == [answers.document_qa(png_bytes(i), "Total?")[0]["answer"]
                                                        for i in (5, 6)]


def test_argument_checks():
    with pytest.raises(ValueError, match="top_k must be a positive integer"):
        methods.visual_qa("a", "b", top_k=0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        methods.visual_qa("a", "b", lang="en")


# ---------------------------------------------------------------------------------------------
# replays of the recorded exchanges (they were recorded with the legacy root-level body)


def replay(name):
    pair = interactions(name)[0]
    request, answer = body(pair["request"]), body(pair["response"])
    seen = []

    def handler(r: httpx.Request) -> httpx.Response:
        seen.append(json.loads(r.content))
        return httpx.Response(200, json=answer)

    model = pair["request"]["uri"].split("/models/", 1)[1]
    return request, answer, model, seen, {"transport": httpx.MockTransport(handler),
                                          "base_url": "https://api-inference.huggingface.co"}


def test_replay_visual_question_answering():
    request, answer, model, seen, settings = replay("visual_question_answering")
    image = base64.b64decode(request["image"])
    out = pd.DataFrame({"img": [image]}).hf.visual_qa("img", request["question"], top_k=None, model=model, **settings)
    [sent_body] = seen
    assert sent_body["inputs"] == {"image": request["image"], "question": request["question"]}
    assert out["img_answer"][0] == "woman" and out["img_score"][0] == pytest.approx(0.9386941194534302)
    assert out["img_answers"][0] == [{"answer": a["answer"], "score": a["score"]} for a in answer]


def test_replay_document_question_answering():
    request, answer, model, seen, settings = replay("document_question_answering")
    image = base64.b64decode(request["image"])
    out = pd.DataFrame({"doc": [image]}).hf.document_qa("doc", request["question"], model=model, **settings)
    assert seen[0]["inputs"] == {"image": request["image"], "question": request["question"]}
    row = out.iloc[0]
    assert row["doc_answer"] == "$1,000,000,000"  # Donut: no score, no word positions
    assert pd.isna(row["doc_score"]) and pd.isna(row["doc_start"]) and pd.isna(row["doc_end"]) and pd.isna(row["doc_error"])
