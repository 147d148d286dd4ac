"""``df.hf.chat(prompt, images=...)``: images as ``image_url`` content parts (data URIs, or the
URL itself), content-hash dedup, missing and unreadable images, structured output, the router
and ``endpoint=``, polars."""

from __future__ import annotations

import base64
import hashlib
import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import hf_frame
from hf_frame import methods
from hf_frame.errors import InputTypeError, RowErrorWarning

MODEL = "Qwen/Qwen2.5-VL-7B-Instruct"


def png_bytes(seed: int = 0) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def sha8(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:8]


@pytest.fixture
def hf(hub):
    hf_frame.configure(base_url=hub.base_url, retry_backoff=0.001)
    return hub


def bodies(hub):
    return [r.json for r in hub.requests if r.path.endswith("/chat/completions")]


def test_a_literal_prompt_with_an_image_column(hf, tmp_path):
    path = tmp_path / "cat.png"
    path.write_bytes(png_bytes(1))
    df = pd.DataFrame({"photo": [str(path), png_bytes(1), png_bytes(2)]})
    out = df.hf.chat("Describe the photo.", images="photo", model=MODEL, system="Be brief.")
    assert list(out.columns) == ["photo", "photo_reply", "photo_error"]
    sent = bodies(hf)
    assert len(sent) == 2  # the path and the bytes of the same picture: one request
    assert hf.requests[0].path == "/v1/chat/completions" and sent[0]["model"] == MODEL
    system, user = sent[0]["messages"]
    assert system == {"role": "system", "content": "Be brief."}
    text, image = user["content"]
    assert text == {"type": "text", "text": "Describe the photo."}
    assert image["type"] == "image_url" and image["image_url"]["url"].startswith("data:image/png;base64,")
    assert base64.b64decode(image["image_url"]["url"].split(",", 1)[1]) in (png_bytes(1), png_bytes(2))
    assert out["photo_reply"].tolist() == [f"Echo: Describe the photo. [image {sha8(png_bytes(i))}]" for i in (1, 1, 2)]
    hf.reset()
    df.hf.chat("Describe the photo.", images="photo", model=MODEL, system="Be brief.")
    assert hf.count() == 0  # cached by content


def test_without_a_model_images_go_to_the_default_vision_model(hf):
    df = pd.DataFrame({"photo": [png_bytes(3)], "q": ["What is it?"]})
    df.hf.chat("Describe the photo.", images="photo")
    df.hf.chat("q")
    vision, text = bodies(hf)
    assert vision["model"] == "meta-llama/Llama-3.2-11B-Vision-Instruct"
    assert text["model"] == "meta-llama/Llama-3.1-8B-Instruct"


def test_urls_are_sent_as_urls_and_templates_and_several_images(hf):
    url = "http://127.0.0.1:9/never-fetched.jpg"  # nothing listens there: the model's server fetches it
    df = pd.DataFrame({"a": [url, png_bytes(3)], "b": [png_bytes(4), png_bytes(4)], "item": ["mug", "lamp"]})
    out = df.hf.chat("Compare the two pictures of a {item}.", images=["a", "b"], model=MODEL)
    assert out["chat_error"].isna().all()
    first = next(b for b in bodies(hf) if "mug" in b["messages"][0]["content"][0]["text"])
    parts = first["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "Compare the two pictures of a mug."}
    assert parts[1] == {"type": "image_url", "image_url": {"url": url}}
    assert parts[2]["image_url"]["url"].startswith("data:image/png;base64,")
    assert out["chat_reply"][0] == f"Echo: Compare the two pictures of a mug. [image {url}] [image {sha8(png_bytes(4))}]"


def test_missing_and_unreadable_images(hf, tmp_path):
    df = pd.DataFrame({"q": ["What is it?"] * 3,
                       "img": [None, str(tmp_path / "gone.png"), b"GIF-not-really"]})
    with pytest.warns(RowErrorWarning):
        out = df.hf.chat("q", images="img", model=MODEL)
    assert hf.count() == 0
    assert pd.isna(out["q_reply"][0]) and pd.isna(out["q_error"][0])  # missing image: null, no request
    assert "column 'img' row 1" in out["q_error"][1] and "gone.png" in out["q_error"][1]
    assert "row 2" in out["q_error"][2] and "not an image" in out["q_error"][2]
    with pytest.raises(InputTypeError, match="column 'img' row 0 holds int"):
        pd.DataFrame({"q": ["x"], "img": [5]}).hf.chat("q", images="img", model=MODEL)


def test_structured_output_with_images(hf):
    df = pd.DataFrame({"photo": [png_bytes(5)]})
    out = df.hf.chat("Count the cats.", images="photo", model=MODEL, json_schema={"cats": int, "colour": str})
    assert out["photo_cats"].tolist() == [1] and out["photo_colour"].tolist() == ["x"]
    assert bodies(hf)[0]["response_format"]["type"] == "json_schema"


def test_an_endpoint_and_a_provider_suffix(hf):
    df = pd.DataFrame({"photo": [png_bytes(6)]})
    df.hf.chat("Caption it.", images="photo", endpoint=f"{hf.base_url}/v1/", model="served-vlm")
    assert hf.requests[-1].path == "/v1/chat/completions" and bodies(hf)[-1]["model"] == "served-vlm"
    df.hf.chat("Caption it.", images="photo", model=MODEL, provider="together", base_url=hf.base_url)
    assert bodies(hf)[-1]["model"] == f"{MODEL}:together"


def test_polars_lazy_and_expression(hf):
    pl = pytest.importorskip("polars")
    df = pl.DataFrame({"photo": [png_bytes(7), png_bytes(7)], "q": ["Why?", "Why?"]})
    lazy = df.lazy().hf.chat("q", images="photo", model=MODEL)
    assert lazy.collect_schema()["q_reply"] == pl.String and hf.count() == 0
    assert lazy.collect()["q_reply"].to_list() == [f"Echo: Why? [image {sha8(png_bytes(7))}]"] * 2
    assert hf.count() == 1
    expr = df.select(pl.col("q").hf.chat(images=pl.col("photo"), model=MODEL).alias("c")).unnest("c")
    assert expr["reply"].to_list() == [f"Echo: Why? [image {sha8(png_bytes(7))}]"] * 2 and hf.count() == 1


def test_argument_checks():
    with pytest.raises(ValueError, match="images is an empty list"):
        methods.chat("p", images=[])
    assert methods.chat("p", images="img").call.task.name == "image-text-to-text"
    assert methods.chat("p").call.task.name == "chat-completion"
