"""Generated media end to end: text_to_image, image_to_image, text_to_speech and audio_to_audio
against the loopback fake hub (real HTTP, real SQLite) and replays of the real recorded HF
exchanges; seeds, dedup and caching; binary columns on pandas and polars; save_media and
media_html."""

from __future__ import annotations

import base64
import io
import json
import sqlite3
import wave
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from fake_hub import answers
from PIL import Image
from recorded import body, interactions

import hf_frame
from hf_frame import methods, runtime
from hf_frame.config import resolve_settings
from hf_frame.errors import RowErrorWarning
from hf_frame.formats.media import sniff
from hf_frame.formats.wire import BinaryAnswer
from hf_frame.tasks.generation import derived_seed

PROMPTS = ["a red fox", "a blue whale", None, "a red fox", "", "a green frog"]


def png_bytes(seed: int = 0, size: int = 8) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8), "RGB").save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def use_hub(hub):
    hf_frame.configure(base_url=hub.base_url)
    return hub


def task_requests(hub, task: str) -> list:
    return [r for r in hub.requests if r.task == task]


def opens(image: bytes) -> Image.Image:
    with Image.open(io.BytesIO(image)) as img:
        img.load()
        return img


# ---------------------------------------------------------------------------------------------
# text_to_image


def test_text_to_image_columns_dedup_and_derived_seeds(use_hub):
    df = pd.DataFrame({"prompt": PROMPTS}, index=[f"r{i}" for i in range(len(PROMPTS))])
    out = df.hf.text_to_image("prompt", width=16, height=12, negative_prompt="blurry")
    assert str(out["prompt_image"].dtype) == "binary[pyarrow]"
    assert str(out["prompt_image_format"].dtype) == "string[pyarrow]"
    sent = task_requests(use_hub, "text-to-image")
    assert sorted(r.json["inputs"] for r in sent) == ["a blue whale", "a green frog", "a red fox"]
    for r in sent:  # the default seed: derived from the prompt, documented and stable
        assert r.json["parameters"] == {"negative_prompt": "blurry", "width": 16, "height": 12,
                                        "seed": derived_seed(r.json["inputs"])}
    for label in ("r0", "r1", "r3", "r5"):
        image = out.loc[label, "prompt_image"]
        assert opens(image).size == (16, 12) and out.loc[label, "prompt_image_format"] == "png"
        expected = answers.text_to_image(df.loc[label, "prompt"], {"width": 16, "height": 12, "negative_prompt":
                                                                   "blurry", "seed": derived_seed(df.loc[label, "prompt"])})
        assert image == expected
    assert out.loc["r0", "prompt_image"] == out.loc["r3", "prompt_image"]
    assert out.loc[["r2", "r4"], "prompt_image"].isna().all() and out["prompt_error"].isna().all()

    use_hub.reset()
    again = df.hf.text_to_image("prompt", width=16, height=12, negative_prompt="blurry")
    assert use_hub.count() == 0  # reproducible, so cached
    pd.testing.assert_frame_equal(again, out)


def test_the_cache_keeps_images_as_bytes_not_base64(use_hub):
    out = pd.DataFrame({"prompt": ["a lighthouse"]}).hf.text_to_image("prompt")
    settings = resolve_settings()
    assert runtime.get_cache(settings).flush(timeout=10)
    with sqlite3.connect(settings.cache_path) as db:  # what the file holds, read by another connection
        stored = [bytes(v) for (v,) in db.execute("SELECT value FROM answers")]
    assert stored == [b"image/png\n" + out["prompt_image"][0]]


def test_an_explicit_seed_is_sent_for_every_row_and_cached(use_hub):
    df = pd.DataFrame({"prompt": ["a cat", "a dog", "a cat"]})
    first = df.hf.text_to_image("prompt", seed=7)
    assert {r.json["parameters"]["seed"] for r in use_hub.requests} == {7} and use_hub.count() == 2
    use_hub.reset()
    assert df.hf.text_to_image("prompt", seed=7)["prompt_image"].tolist() == first["prompt_image"].tolist()
    assert use_hub.count() == 0
    other = df.hf.text_to_image("prompt", seed=8)
    assert use_hub.count() == 2 and other["prompt_image"][0] != first["prompt_image"][0]


def test_seed_none_sends_no_seed_and_never_touches_the_cache(use_hub):
    df = pd.DataFrame({"prompt": ["a cat", "a dog", "a cat"]})
    before = hf_frame.cache_info()["entries"]
    first = df.hf.text_to_image("prompt", seed=None)
    assert use_hub.count() == 2  # identical prompts within the call still share a request
    assert all("seed" not in (r.json.get("parameters") or {}) for r in use_hub.requests)
    assert first["prompt_image"][0] == first["prompt_image"][2]
    second = df.hf.text_to_image("prompt", seed=None)
    assert use_hub.count() == 4  # nothing was read from the cache...
    assert second["prompt_image"][0] != first["prompt_image"][0]  # ...and the model gave a new image
    assert hf_frame.cache_info()["entries"] == before  # ...and nothing was written to it
    # a seeded call after an unseeded one is not served the unseeded image
    seeded = df.hf.text_to_image("prompt", seed=1)
    assert use_hub.count() == 6 and seeded["prompt_image"][0] not in (first["prompt_image"][0], second["prompt_image"][0])


def test_a_template_prompt_and_missing_values(use_hub):
    df = pd.DataFrame({"animal": ["otter", "owl", None], "style": ["ukiyo-e", "pixel art", "oil"]})
    out = df.hf.text_to_image("An {animal} in {style}")
    assert [c for c in out.columns if c not in df.columns] == [
        "text_to_image_image", "text_to_image_image_format", "text_to_image_error"]
    assert sorted(r.json["inputs"] for r in use_hub.requests) == ["An otter in ukiyo-e", "An owl in pixel art"]
    assert out["text_to_image_image"].isna().tolist() == [False, False, True]


def test_answers_that_are_not_images_are_row_errors(use_hub):
    df = pd.DataFrame({"prompt": ["ok one", "json please", "forbidden"]})
    use_hub.fail(200, match="json please", body={"images": []})
    use_hub.fail(200, match="forbidden", body={"error": "NSFW content detected"})
    with pytest.warns(RowErrorWarning):
        out = df.hf.text_to_image("prompt", max_retries=0)
    assert out["prompt_error"][0] is pd.NA or pd.isna(out["prompt_error"][0])
    assert "expected an image file" in out["prompt_error"][1] and "images" in out["prompt_error"][1]
    assert "NSFW content detected" in out["prompt_error"][2]
    assert out["prompt_image"].isna().tolist() == [False, True, True]


def test_argument_checks():
    with pytest.raises(ValueError, match="seed must be"):
        methods.text_to_image("p", seed="random")
    with pytest.raises(ValueError, match="seed must be"):
        methods.text_to_image("p", seed=True)
    with pytest.raises(ValueError, match="width must be a positive integer"):
        methods.text_to_image("p", width=0)
    with pytest.raises(TypeError, match="negative_prompt"):
        methods.text_to_image("p", negative_prompt=["x"])


def test_polars_eager_lazy_and_expression(use_hub):
    pl = pytest.importorskip("polars")
    df = pl.DataFrame({"prompt": ["a cat", "a dog", None]})
    eager = df.hf.text_to_image("prompt")
    assert eager.schema["prompt_image"] == pl.Binary and eager.schema["prompt_image_format"] == pl.String
    assert use_hub.count() == 2
    use_hub.reset()
    lazy = df.lazy().hf.text_to_image("prompt", seed=3)
    assert lazy.collect_schema()["prompt_image"] == pl.Binary and use_hub.count() == 0
    collected = lazy.collect()
    assert use_hub.count() == 2 and all(opens(b).size == (8, 8) for b in collected["prompt_image"].drop_nulls())
    expr = df.with_columns(pl.col("prompt").hf.text_to_image(seed=3).alias("gen")).unnest("gen")
    assert use_hub.count() == 2  # the same seed: served from the cache
    assert expr["image"].to_list() == collected["prompt_image"].to_list()


# ---------------------------------------------------------------------------------------------
# image_to_image


def test_image_to_image_with_and_without_a_prompt(use_hub, tmp_path):
    path = tmp_path / "in.png"
    path.write_bytes(png_bytes(1))
    df = pd.DataFrame({"photo": [str(path), png_bytes(1), png_bytes(2), None]})
    out = df.hf.image_to_image("photo", prompt="make it snow")
    assert list(out.columns[-2:]) == ["photo_image", "photo_error"]  # no format column (see the contract)
    sent = task_requests(use_hub, "image-to-image")
    assert len(sent) == 2  # the path and the bytes of the same image are one request
    assert all(r.json["parameters"] == {"prompt": "make it snow"} for r in sent)
    assert out["photo_image"][0] == out["photo_image"][1] and out["photo_image"][0] != out["photo_image"][2]
    assert all(opens(b).size == (8, 8) for b in out["photo_image"][:3]) and pd.isna(out["photo_image"][3])
    use_hub.reset()
    df.hf.image_to_image("photo", prompt="make it snow")
    assert use_hub.count() == 0  # "auto": the first answer per image and prompt is kept
    plain = df.hf.image_to_image("photo", prefix="plain")
    sent = task_requests(use_hub, "image-to-image")
    assert len(sent) == 2 and all(r.json is None and r.body[:4] == b"\x89PNG" for r in sent)  # raw bytes
    assert plain["plain_image"][0] != out["photo_image"][0]


def test_image_to_image_prompt_column_and_unreadable_images(use_hub, tmp_path):
    df = pd.DataFrame({"photo": [png_bytes(1), str(tmp_path / "missing.png"), b"not an image", png_bytes(1)],
                       "ask": ["add a hat", "add a hat", "add a hat", None]})
    with pytest.warns(RowErrorWarning):
        out = df.hf.image_to_image("photo", prompt="ask", seed=5)
    assert task_requests(use_hub, "image-to-image")[0].json["parameters"] == {"prompt": "add a hat", "seed": 5}
    assert use_hub.count() == 1
    assert out["photo_image"][0] == answers.image_to_image(png_bytes(1), {"prompt": "add a hat", "seed": 5})
    assert "row 1" in out["photo_error"][1] and "missing.png" in out["photo_error"][1]
    assert "row 2" in out["photo_error"][2] and "not an image" in out["photo_error"][2]
    assert out["photo_image"].isna().tolist() == [False, True, True, True]  # a missing prompt: null, no request


# ---------------------------------------------------------------------------------------------
# text_to_speech and audio_to_audio


def test_text_to_speech(use_hub):
    df = pd.DataFrame({"line": ["hello there", "good night", "hello there", None]})
    out = df.hf.text_to_speech("line")
    assert str(out["line_audio"].dtype) == "binary[pyarrow]" and out["line_audio_format"][0] == "wav"
    sent = task_requests(use_hub, "text-to-speech")
    assert len(sent) == 2 and all("parameters" not in r.json for r in sent)  # the HF API has no seed for it
    with wave.open(io.BytesIO(out["line_audio"][0])) as w:
        assert w.getnchannels() == 1 and w.getnframes() == 1600  # 0.1 s per word at 8 kHz
    assert out["line_audio"][0] == out["line_audio"][2]
    use_hub.reset()
    df.hf.text_to_speech("line")
    assert use_hub.count() == 0
    seeded = df.hf.text_to_speech("line", seed=11, voice="af_nicole")
    assert task_requests(use_hub, "text-to-speech")[0].json["parameters"] == {"voice": "af_nicole", "seed": 11}
    assert seeded["line_audio"][0] == answers.speech("hello there", {"seed": 11})


def test_audio_to_audio(use_hub, tmp_path):
    clip = answers.speech("a b c", {"seed": 1})
    df = pd.DataFrame({"rec": [clip, None]})
    out = df.hf.audio_to_audio("rec")
    assert out["rec_outputs"].dtype == pd.ArrowDtype(pa.list_(pa.struct(
        [("label", pa.string()), ("audio", pa.binary()), ("content_type", pa.string())])))
    outputs = out["rec_outputs"][0]
    assert [o["label"] for o in outputs] == ["label_0", "label_1"]
    assert [o["content_type"] for o in outputs] == ["audio/wav"] * 2
    expected = answers.audio_to_audio(clip)
    for got, want in zip(outputs, expected):
        assert got["audio"] == base64.b64decode(want["blob"]) and sniff(got["audio"]) == "audio/wav"
    assert task_requests(use_hub, "audio-to-audio")[0].body == clip  # raw bytes, no parameters
    assert pd.isna(out["rec_outputs"][1])


# ---------------------------------------------------------------------------------------------
# replays of the real recorded exchanges


def replay_transport(name: str):
    """A transport answering the recorded response to its recorded request; the requests seen."""
    pair = interactions(name)[0]
    response = pair["response"]
    content_type = response["headers"]["Content-Type"][0]
    raw = base64.b64decode(response["body"]["base64"]) if "base64" in response["body"] else \
        response["body"]["text"].encode()
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(response["status"], content=raw, headers={"Content-Type": content_type})

    model = pair["request"]["uri"].split("/models/", 1)[1]
    settings = {"transport": httpx.MockTransport(handler), "base_url": "https://api-inference.huggingface.co"}
    return body(pair["request"]), raw, model, settings, seen


@pytest.mark.parametrize("name", ["text_to_image", "text_to_image_default", "text_to_image_with_parameters"])
def test_replay_text_to_image(name):
    request, raw, model, settings, seen = replay_transport(name)
    params = request.get("parameters") or {}
    df = pd.DataFrame({"prompt": [request["inputs"], request["inputs"]]})
    out = df.hf.text_to_image("prompt", model=model, seed=None, **params, **settings)
    assert len(seen) == 1 and json.loads(seen[0].content) == request  # the recorded body, byte for byte in JSON
    assert seen[0].url.path == f"/hf-inference/models/{model}"
    assert out["prompt_image"].tolist() == [raw, raw] and out["prompt_image_format"].tolist() == ["jpeg", "jpeg"]
    image = opens(out["prompt_image"][0])
    assert image.format == "JPEG"
    if params:
        assert image.size == (params["width"], params["height"])


def test_replay_text_to_speech():
    request, raw, model, settings, seen = replay_transport("text_to_speech")
    out = pd.DataFrame({"text": [request["inputs"]]}).hf.text_to_speech("text", model=model, **settings)
    assert json.loads(seen[0].content) == request == {"inputs": "Hello world"}
    assert out["text_audio"][0] == raw and out["text_audio_format"][0] == "flac" and raw[:4] == b"fLaC"


def test_replay_audio_to_audio(tmp_path):
    request, raw, model, settings, seen = replay_transport("audio_to_audio")
    path = tmp_path / "mix.flac"
    path.write_bytes(request)
    out = pd.DataFrame({"mix": [str(path)]}).hf.audio_to_audio("mix", model=model, **settings)
    assert seen[0].content == request and seen[0].headers["content-type"] == "audio/flac"
    recorded = json.loads(raw)
    outputs = out["mix_outputs"][0]
    assert [(o["label"], o["content_type"]) for o in outputs] == [("label_0", "audio/flac"), ("label_1", "audio/flac")]
    assert [o["audio"] for o in outputs] == [base64.b64decode(r["blob"]) for r in recorded]
    assert all(o["audio"][:4] == b"fLaC" for o in outputs)


def test_recorded_answers_parse_into_the_documented_types():
    """The spec layer alone: a recorded file answer -> the typed row, and the cache codec round trip."""
    for name, job, kind in [("text_to_image", methods.text_to_image("p"), "image"),
                            ("text_to_speech", methods.text_to_speech("t"), "audio")]:
        _, raw, _, _, _ = replay_transport(name)
        call = job.calls[0]
        [result] = call.task.parse(call, BinaryAnswer(raw, "application/octet-stream"), ["x"])
        assert call.task.decode(call.task.encode(result)) == result
        row = call.task.build_array(call, [result, None]).to_pylist()
        assert row[0][kind] == raw and row[1] is None
    with pytest.raises(ValueError, match="not an image"):
        call = methods.text_to_image("p").calls[0]
        call.task.parse(call, BinaryAnswer(b"<html>busy</html>", "text/html"), ["x"])


# ---------------------------------------------------------------------------------------------
# save_media and media_html


def test_save_media_names_files_from_the_index(use_hub, tmp_path):
    df = pd.DataFrame({"prompt": ["a cat", None, "a dog"]}, index=["cat", "none", "dog/2"])
    out = df.hf.text_to_image("prompt")
    written = hf_frame.save_media(out["prompt_image"], tmp_path / "renders")
    assert written == [tmp_path / "renders" / "cat.png", tmp_path / "renders" / "dog_2.png"]
    assert written[0].read_bytes() == out.loc["cat", "prompt_image"]
    assert opens(written[1].read_bytes()).size == (8, 8)
    with pytest.raises(FileExistsError, match="cat.png"):
        hf_frame.save_media(out["prompt_image"], tmp_path / "renders", overwrite=False)
    speech = pd.DataFrame({"t": ["hi"]}).hf.text_to_speech("t")
    assert hf_frame.save_media(speech["t_audio"], tmp_path, prefix="line-") == [tmp_path / "line-0.wav"]


def test_save_media_polars_lists_and_errors(tmp_path):
    pl = pytest.importorskip("polars")
    jpeg = io.BytesIO()
    Image.new("RGB", (2, 2)).save(jpeg, format="JPEG")
    assert hf_frame.save_media(pl.Series([png_bytes(), None, jpeg.getvalue()]), tmp_path) == [
        tmp_path / "0.png", tmp_path / "2.jpg"]
    assert hf_frame.save_media([b"\x00\x01"], tmp_path / "x") == [tmp_path / "x" / "0.bin"]
    with pytest.raises(TypeError, match="row 'a' holds str"):
        hf_frame.save_media(pd.Series(["text"], index=["a"]), tmp_path)
    with pytest.raises(ValueError, match="both be written"):
        hf_frame.save_media(pd.Series([png_bytes(), png_bytes()], index=["a/b", "a_b"]), tmp_path)
    assert not (tmp_path / "a_b.png").exists()  # nothing was written


def test_media_html_shows_thumbnails_and_players():
    df = pd.DataFrame({"prompt": ["<b>cat</b>", "x" * 200], "image": [png_bytes(), None],
                       "audio": [answers.speech("hi", {"seed": 1}), b"\x00\x01"]})
    html = hf_frame.media_html(df, width=64)
    assert html._repr_html_() == str(html)
    assert html.count('<img src="data:image/png;base64,') == 1 and 'width="64"' in html
    assert html.count('<audio controls src="data:audio/wav;base64,') == 1 and "&lt;2 bytes&gt;" in html
    assert "&lt;b&gt;cat&lt;/b&gt;" in html and "x" * 77 + "..." in html
    assert "... 1 more rows" in hf_frame.media_html(df, max_rows=1)
    series_html = hf_frame.media_html(df["image"])
    assert "<th>image</th>" in series_html and series_html.count("<img") == 1


def test_media_html_on_polars():
    pl = pytest.importorskip("polars")
    html = hf_frame.media_html(pl.DataFrame({"image": [png_bytes()], "n": [1]}))
    assert "<th>image</th><th>n</th>" in html and "<img" in html


def test_generated_columns_write_to_parquet(use_hub, tmp_path):
    out = pd.DataFrame({"prompt": ["a cat"]}).hf.text_to_image("prompt")
    out.to_parquet(tmp_path / "out.parquet")
    back = pd.read_parquet(tmp_path / "out.parquet")
    assert back["prompt_image"][0] == out["prompt_image"][0]


def test_outputs_never_reach_the_disk_unasked(use_hub, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    pd.DataFrame({"prompt": ["a cat"]}).hf.text_to_image("prompt", cache=False)
    pd.DataFrame({"t": ["hi"]}).hf.text_to_speech("t", cache=False)
    assert list(Path(work).iterdir()) == []


def test_the_command_line_previews_sizes_and_writes_parquet(hub, tmp_path, capsys):
    from hf_frame import cli

    pd.DataFrame({"prompt": ["a cat", "a dog"]}).to_csv(tmp_path / "in.csv", index=False)
    status = cli.main(["text-to-image", str(tmp_path / "in.csv"), "-c", "prompt", "--seed", "3", "--width", "16",
                       "--base-url", hub.base_url])
    out = capsys.readouterr().out
    assert status == 0 and "bytes>" in out and "\\x89PNG" not in out and "IHDR" not in out
    assert {r.json["parameters"]["seed"] for r in hub.requests} == {3}
    status = cli.main(["text-to-speech", str(tmp_path / "in.csv"), "-c", "prompt", "-o", str(tmp_path / "o.parquet"),
                       "--seed", "none", "--base-url", hub.base_url])
    assert status == 0 and hub.count() == 4  # --seed none: nothing from the cache
    assert cli.main(["text-to-image", str(tmp_path / "in.csv"), "-c", "prompt", "--seed", "auto",
                     "--base-url", hub.base_url]) == 0
    assert sorted(r.json["parameters"]["seed"] for r in hub.requests[-2:]) == sorted(
        [derived_seed("a cat"), derived_seed("a dog")])
    audio = pd.read_parquet(tmp_path / "o.parquet")["prompt_audio"]
    assert all(sniff(a) == "audio/wav" for a in audio)
