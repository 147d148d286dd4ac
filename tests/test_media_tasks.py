"""Vision and audio methods end to end: every method against the loopback fake hub, every kind
of cell, dedup and cache by content, row errors for bad media, bounded memory, the local
provider's payloads, and replays of the real recorded HF exchanges (../shared/hf-recorded).
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import socket
import struct
import threading
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from fake_hub import answers
from PIL import Image
from recorded import RECORDED_DIR as RECORDED  # noqa: E402

import hf_frame
from hf_frame import decode_mask
from hf_frame.errors import InputTypeError, RowErrors, RowErrorWarning
from hf_frame.formats.media import loading
from hf_frame.methods import METHODS
from hf_frame.tasks import TASKS
from hf_frame.tasks import media as media_tasks

MEDIA_METHODS = ["classify_image", "zero_shot_image", "detect", "segment", "caption", "transcribe", "classify_audio"]


# ---------------------------------------------------------------------------------------------
# sample media


def png_bytes(seed: int = 0, size: int = 8) -> bytes:
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8), "RGB")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def jpeg_bytes(seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8), "RGB").save(buf, format="JPEG")
    return buf.getvalue()


def wav_bytes(freq: float = 440.0, seconds: float = 0.05, rate: int = 8000) -> bytes:
    frames = b"".join(struct.pack("<h", int(12000 * math.sin(2 * math.pi * freq * i / rate)))
                      for i in range(int(seconds * rate)))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


@pytest.fixture
def images(tmp_path) -> list[Path]:
    paths = []
    for i in range(3):
        path = tmp_path / f"img{i}.png"
        path.write_bytes(png_bytes(i))
        paths.append(path)
    return paths


@pytest.fixture
def sounds(tmp_path) -> list[Path]:
    paths = []
    for i, freq in enumerate((220.0, 440.0)):
        path = tmp_path / f"clip{i}.wav"
        path.write_bytes(wav_bytes(freq))
        paths.append(path)
    return paths


@pytest.fixture
def use_hub(hub):
    hf_frame.configure(base_url=hub.base_url)
    return hub


def media_requests(hub) -> list:
    return [r for r in hub.requests if r.task in TASKS and r.task not in ("feature-extraction",)]


def sent_media(record) -> bytes:
    """The file bytes of a recorded request: the raw body or the base64 ``inputs``."""
    if isinstance(record.json, dict):
        return base64.b64decode(record.json["inputs"])
    return record.body


# ---------------------------------------------------------------------------------------------
# a small image host on loopback


class ImageHost:
    """Serves ``files`` (path -> bytes) over HTTP; records every request's headers."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.headers: list[dict] = []
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                host.headers.append({k.lower(): v for k, v in self.headers.items()})
                data = host.files.get(self.path)
                if data is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def image_host():
    host = ImageHost()
    yield host
    host.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# registration


def test_every_media_method_is_registered_with_its_task():
    expected = {
        "classify_image": "image-classification", "zero_shot_image": "zero-shot-image-classification",
        "detect": "object-detection", "segment": "image-segmentation", "caption": "image-to-text",
        "transcribe": "automatic-speech-recognition", "classify_audio": "audio-classification",
    }
    for method, task in expected.items():
        assert method in METHODS
        assert TASKS[task].method == method
        assert hasattr(pd.DataFrame({"x": [1]}).hf, method)
        assert hasattr(pd.Series([1]).hf, method)
    assert "decode_mask" in hf_frame.__all__


# ---------------------------------------------------------------------------------------------
# every method against the fake hub


def test_classify_image_top1_sends_raw_bytes(use_hub, images):
    df = pd.DataFrame({"img": [str(p) for p in images]})
    out = df.hf.classify_image("img")
    assert [c for c in out.columns if c != "img"] == ["img_label", "img_score", "img_error"]
    assert out["img_label"].dtype == pd.ArrowDtype(pa.string())
    assert out["img_score"].dtype == pd.ArrowDtype(pa.float64())
    for i, path in enumerate(images):
        best = answers.image_classify(path.read_bytes())[0]
        assert out["img_label"][i] == best["label"]
        assert out["img_score"][i] == pytest.approx(best["score"])
    records = media_requests(use_hub)
    assert len(records) == 3
    for record in records:
        assert record.json is None  # raw body
        assert record.headers["content-type"] == "image/png"
        assert record.path.endswith("/models/google/vit-base-patch16-224")


def test_classify_image_top_k_sends_json_base64(use_hub, images):
    df = pd.DataFrame({"img": [str(images[0])]})
    out = df.hf.classify_image("img", top_k=3)
    expected = answers.image_classify(images[0].read_bytes(), 3)
    assert out["img_labels"].dtype == pd.ArrowDtype(pa.list_(pa.struct([("label", pa.string()), ("score", pa.float64())])))
    labels = out["img_labels"][0]
    assert [x["label"] for x in labels] == [x["label"] for x in expected]
    assert out["img_label"][0] == expected[0]["label"]
    (record,) = media_requests(use_hub)
    assert record.headers["content-type"] == "application/json"
    assert record.json["parameters"] == {"top_k": 3}
    assert base64.b64decode(record.json["inputs"]) == images[0].read_bytes()


def test_zero_shot_image(use_hub, images):
    df = pd.DataFrame({"img": [str(p) for p in images]})
    out = df.hf.zero_shot_image("img", labels=["cat", "dog", "car"])
    assert [c for c in out.columns if c != "img"] == [
        "img_label", "img_score", "img_score_cat", "img_score_dog", "img_score_car", "img_error"]
    for i, path in enumerate(images):
        expected = {x["label"]: x["score"] for x in answers.zero_shot_image(path.read_bytes(), ["cat", "dog", "car"])}
        best = max(expected, key=expected.get)
        assert out["img_label"][i] == best
        assert out["img_score"][i] == pytest.approx(expected[best])
        for label in ("cat", "dog", "car"):
            assert out[f"img_score_{label}"][i] == pytest.approx(expected[label])
    for record in media_requests(use_hub):
        assert record.json["parameters"] == {"candidate_labels": ["cat", "dog", "car"]}


def test_zero_shot_image_rejects_bad_labels():
    with pytest.raises(ValueError, match="labels is empty"):
        METHODS["zero_shot_image"]("img", labels=[])
    with pytest.raises(ValueError, match="duplicates"):
        METHODS["zero_shot_image"]("img", labels=["a", "a"])


def test_detect(use_hub, images):
    df = pd.DataFrame({"img": [str(p) for p in images]})
    out = df.hf.detect("img")
    box = pa.struct([(k, pa.int64()) for k in ("xmin", "ymin", "xmax", "ymax")])
    assert out["img_objects"].dtype == pd.ArrowDtype(
        pa.list_(pa.struct([("label", pa.string()), ("score", pa.float64()), ("box", box)])))
    for i, path in enumerate(images):
        expected = answers.detect(path.read_bytes())
        got = out["img_objects"][i]
        assert [o["label"] for o in got] == [o["label"] for o in expected]
        assert [o["box"] for o in got] == [o["box"] for o in expected]
        assert [o["score"] for o in got] == pytest.approx([o["score"] for o in expected])
    assert all(r.json is None for r in media_requests(use_hub))


def test_detect_threshold_is_a_parameter(use_hub, images):
    df = pd.DataFrame({"img": [str(p) for p in images]})
    out = df.hf.detect("img", threshold=0.8)
    for i, path in enumerate(images):
        expected = answers.detect(path.read_bytes(), 0.8)
        assert len(out["img_objects"][i]) == len(expected)
    assert all(r.json["parameters"] == {"threshold": 0.8} for r in media_requests(use_hub))
    with pytest.raises(ValueError, match="threshold"):
        METHODS["detect"]("img", threshold=2)


def test_segment_masks_are_png_bytes(use_hub, images):
    df = pd.DataFrame({"img": [str(p) for p in images]})
    out = df.hf.segment("img")
    assert out["img_segments"].dtype == pd.ArrowDtype(
        pa.list_(pa.struct([("label", pa.string()), ("score", pa.float64()), ("mask", pa.binary())])))
    for i, path in enumerate(images):
        expected = answers.segment(path.read_bytes())
        got = out["img_segments"][i]
        assert [s["label"] for s in got] == [s["label"] for s in expected]
        for seg, exp in zip(got, expected):
            assert seg["mask"] == base64.b64decode(exp["mask"])
            mask = decode_mask(seg["mask"])
            assert mask.shape == (4, 4) and mask.dtype == np.uint8
            assert set(np.unique(mask)) <= {0, 255}


def test_segment_parameters(use_hub, images):
    df = pd.DataFrame({"img": [str(images[0])]})
    df.hf.segment("img", subtask="panoptic", threshold=0.5)
    (record,) = media_requests(use_hub)
    assert record.json["parameters"] == {"subtask": "panoptic", "threshold": 0.5}
    with pytest.raises(ValueError, match="subtask"):
        METHODS["segment"]("img", subtask="bogus")


def test_caption(use_hub, images):
    df = pd.DataFrame({"img": [str(p) for p in images]})
    out = df.hf.caption("img")
    assert [c for c in out.columns if c != "img"] == ["img_caption", "img_error"]
    for i, path in enumerate(images):
        assert out["img_caption"][i] == answers.caption(path.read_bytes())["generated_text"]


def test_caption_generation_keywords_go_to_parameters(use_hub, images):
    pd.DataFrame({"img": [str(images[0])]}).hf.caption("img", max_new_tokens=20)
    (record,) = media_requests(use_hub)
    assert record.json["parameters"] == {"max_new_tokens": 20}


def test_transcribe(use_hub, sounds):
    df = pd.DataFrame({"clip": [str(p) for p in sounds]})
    out = df.hf.transcribe("clip")
    assert [c for c in out.columns if c != "clip"] == ["clip_text", "clip_error"]
    for i, path in enumerate(sounds):
        assert out["clip_text"][i] == answers.transcribe(path.read_bytes())["text"]
    for record in media_requests(use_hub):
        assert record.json is None
        assert record.headers["content-type"] == "audio/wav"
        assert record.path.endswith("/models/openai/whisper-large-v3")


def test_transcribe_with_timestamps(use_hub, sounds):
    df = pd.DataFrame({"clip": [str(p) for p in sounds]})
    out = df.hf.transcribe("clip", return_timestamps=True)
    assert out["clip_chunks"].dtype == pd.ArrowDtype(
        pa.list_(pa.struct([("text", pa.string()), ("start", pa.float64()), ("end", pa.float64())])))
    for i, path in enumerate(sounds):
        expected = answers.transcribe(path.read_bytes(), True)
        assert out["clip_text"][i] == expected["text"]
        assert out["clip_chunks"][i] == [
            {"text": c["text"], "start": c["timestamp"][0], "end": c["timestamp"][1]} for c in expected["chunks"]]
    assert all(r.json["parameters"] == {"return_timestamps": True} for r in media_requests(use_hub))


def test_classify_audio(use_hub, sounds):
    df = pd.DataFrame({"clip": [str(p) for p in sounds]})
    out = df.hf.classify_audio("clip")
    assert [c for c in out.columns if c != "clip"] == ["clip_label", "clip_score", "clip_error"]
    for i, path in enumerate(sounds):
        best = answers.audio_classify(path.read_bytes())[0]
        assert out["clip_label"][i] == best["label"]
        assert out["clip_score"][i] == pytest.approx(best["score"])
    out = df.hf.classify_audio("clip", top_k=2, prefix="k2")
    assert [len(x) for x in out["k2_labels"]] == [2, 2]


def test_series_accessor_and_index_labels(use_hub, images):
    s = pd.Series([str(p) for p in images], index=["a", "b", "c"], name="img")
    out = s.hf.caption()
    assert list(out.index) == ["a", "b", "c"]
    assert list(out.columns) == ["caption", "error"]
    assert out["caption"]["b"] == answers.caption(images[1].read_bytes())["generated_text"]


# ---------------------------------------------------------------------------------------------
# every kind of cell


def test_every_kind_of_cell(use_hub, tmp_path, image_host):
    data = [png_bytes(10 + i) for i in range(9)]
    paths = []
    for i, d in enumerate(data[:4]):
        path = tmp_path / f"cell{i}.png"
        path.write_bytes(d)
        paths.append(path)
    image_host.files["/remote.png"] = data[4]
    pil = Image.open(io.BytesIO(data[5]))
    pil.load()
    cells = [
        str(paths[0]),                               # str path
        paths[1],                                    # pathlib.Path
        paths[2].as_uri(),                           # file:// URL
        open(paths[3], "rb"),                        # an open binary file
        image_host.url("/remote.png"),               # http URL
        pil,                                         # PIL image (sent as PNG)
        data[6],                                     # bytes
        io.BytesIO(data[7]),                         # file-like object
        {"bytes": data[8], "path": "orig.png"},      # datasets-style dict
        None,                                        # missing
        float("nan"),                                # missing
        "",                                          # empty string: missing
    ]
    try:
        out = pd.DataFrame({"img": cells}).hf.caption("img")
    finally:
        cells[3].close()
    records = media_requests(use_hub)
    assert len(records) == 9
    sent = {sent_media(r) for r in records}
    for i in (0, 1, 2, 3, 4, 6, 7, 8):
        assert data[i] in sent
        assert out["img_caption"][i] == answers.caption(data[i])["generated_text"]
    # the PIL image went out as a PNG of the same pixels
    pil_sent = loading._encode_png(pil)
    assert pil_sent in sent
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(pil_sent))), np.asarray(pil))
    assert out["img_caption"][5] == answers.caption(pil_sent)["generated_text"]
    assert out["img_caption"][9:].isna().all() and out["img_error"].isna().all()


def test_jpeg_content_type_is_sniffed(use_hub, tmp_path):
    path = tmp_path / "photo.bin"  # the extension is irrelevant: magic bytes decide
    path.write_bytes(jpeg_bytes())
    pd.DataFrame({"img": [str(path)]}).hf.classify_image("img")
    (record,) = media_requests(use_hub)
    assert record.headers["content-type"] == "image/jpeg"


def test_binary_pandas_column(use_hub):
    data = [png_bytes(1), None, png_bytes(2)]
    df = pd.DataFrame({"img": pd.array(data, dtype=pd.ArrowDtype(pa.binary()))})
    out = df.hf.classify_image("img")
    assert out["img_label"][0] == answers.image_classify(data[0])[0]["label"]
    assert pd.isna(out["img_label"][1]) and pd.isna(out["img_error"][1])
    assert out["img_label"][2] == answers.image_classify(data[2])[0]["label"]


def _polars():
    pl = pytest.importorskip("polars")
    if not hasattr(pl.DataFrame, "hf"):
        pytest.skip("the polars namespace has not landed")
    return pl


def test_binary_polars_column(use_hub):
    pl = _polars()
    data = [png_bytes(1), None, png_bytes(2)]
    df = pl.DataFrame({"img": data}, schema={"img": pl.Binary})
    out = df.hf.classify_image("img")
    assert out["img_label"].to_list() == [answers.image_classify(data[0])[0]["label"], None,
                                          answers.image_classify(data[2])[0]["label"]]


@pytest.mark.parametrize("mode", ["eager", "lazy", "streaming", "expr"])
def test_polars_paths_match_pandas(use_hub, images, mode):
    pl = _polars()
    paths = [str(p) for p in images] + [None]
    expected = [[{"label": x["label"], "score": x["score"], "mask": base64.b64decode(x["mask"])}
                 for x in answers.segment(p.read_bytes())] for p in images] + [None]
    df = pl.DataFrame({"img": paths})
    if mode == "eager":
        out = df.hf.segment("img")
    elif mode == "expr":
        out = df.with_columns(pl.col("img").hf.segment().alias("s")).unnest("s")
        out = out.rename({"segments": "img_segments", "error": "img_error"})
    else:
        out = df.lazy().hf.segment("img").collect(**({"engine": "streaming"} if mode == "streaming" else {}))
    assert out.schema["img_segments"] == pl.List(pl.Struct({"label": pl.String, "score": pl.Float64,
                                                            "mask": pl.Binary}))
    assert out["img_segments"].to_list() == expected
    assert out["img_error"].to_list() == [None] * 4
    assert len(media_requests(use_hub)) == 3  # cache is per test: each unique image sent once


def test_url_fetch_never_sends_the_token(use_hub, image_host):
    image_host.files["/a.png"] = png_bytes(3)
    pd.DataFrame({"img": [image_host.url("/a.png")]}).hf.caption("img", token="hf_secret_token")
    assert image_host.headers and all("authorization" not in h for h in image_host.headers)
    (record,) = media_requests(use_hub)
    assert record.authorization == "Bearer hf_secret_token"


def test_wrong_cell_type_raises_naming_row_and_column(use_hub):
    with pytest.raises(InputTypeError, match=r"classify_image: column 'img' row 1 holds int"):
        pd.DataFrame({"img": [png_bytes(1), 5]}).hf.classify_image("img")
    assert media_requests(use_hub) == []


# ---------------------------------------------------------------------------------------------
# dedup and cache by content


def test_same_content_under_many_names_is_sent_once(use_hub, tmp_path, image_host):
    data = png_bytes(42)
    a, b = tmp_path / "a.png", tmp_path / "copy_of_a.png"
    a.write_bytes(data)
    b.write_bytes(data)
    image_host.files["/a.png"] = data
    df = pd.DataFrame({"img": [str(a), str(b), image_host.url("/a.png"), data, str(a)]})
    out = df.hf.classify_image("img")
    assert len(media_requests(use_hub)) == 1
    assert out["img_label"].nunique() == 1 and out["img_error"].isna().all()
    assert hf_frame.last_run()["unique"] == 1


def test_rerun_is_served_from_cache_and_edited_file_is_resent(use_hub, tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(png_bytes(1))
    df = pd.DataFrame({"img": [str(path)]})
    first = df.hf.caption("img")
    assert len(media_requests(use_hub)) == 1
    again = df.hf.caption("img")
    assert len(media_requests(use_hub)) == 1 and hf_frame.last_run()["cached"] == 1
    assert again["img_caption"][0] == first["img_caption"][0]
    # edit in place: same path, same size, new content
    path.write_bytes(png_bytes(2))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    edited = df.hf.caption("img")
    assert len(media_requests(use_hub)) == 2
    assert edited["img_caption"][0] == answers.caption(png_bytes(2))["generated_text"]
    assert edited["img_caption"][0] != first["img_caption"][0]


def test_parameters_are_part_of_the_key(use_hub, images):
    df = pd.DataFrame({"img": [str(images[0])]})
    df.hf.detect("img")
    df.hf.detect("img", threshold=0.9, prefix="t")
    assert len(media_requests(use_hub)) == 2


# ---------------------------------------------------------------------------------------------
# bad input: row errors naming the row and the path or URL; other rows go on


def test_bad_inputs_become_row_errors(use_hub, tmp_path, image_host):
    good = tmp_path / "good.png"
    good.write_bytes(png_bytes(1))
    text = tmp_path / "notes.png"
    text.write_bytes(b"just some text, not an image")
    big = tmp_path / "big.png"
    big.write_bytes(png_bytes(2) + b"\x00" * 5000)
    missing = tmp_path / "missing.png"
    dead_url = f"http://127.0.0.1:{free_port()}/x.png"
    image_host.files["/big.png"] = big.read_bytes()
    cells = [str(good), str(missing), dead_url, image_host.url("/nope.png"), str(text), b"\x00\x01binary",
             str(big), image_host.url("/big.png"), "ftp://example.com/a.png", big.read_bytes(), str(good)]
    df = pd.DataFrame({"img": cells}, index=[f"r{i}" for i in range(len(cells))])
    with pytest.warns(RowErrorWarning, match="9 of 11 rows failed"):
        out = df.hf.classify_image("img", max_media_bytes=4000)
    errors = out["img_error"]
    assert errors.isna().tolist() == [True] + [False] * 9 + [True]
    assert out["img_label"]["r0"] == out["img_label"]["r10"] == answers.image_classify(good.read_bytes())[0]["label"]
    expected = {
        "r1": ["row 'r1'", "file not found", str(missing)],
        "r2": ["row 'r2'", "could not fetch", dead_url],
        "r3": ["row 'r3'", "HTTP 404", image_host.url("/nope.png")],
        "r4": ["row 'r4'", str(text), "is not an image"],
        "r5": ["row 'r5'", "is not an image"],
        "r6": ["row 'r6'", str(big), "over the size limit"],
        "r7": ["row 'r7'", image_host.url("/big.png"), "over the size limit"],
        "r8": ["row 'r8'", "unsupported URL scheme", "ftp://example.com/a.png"],
        "r9": ["row 'r9'", "bytes>", "over the size limit"],
    }
    for row, parts in expected.items():
        for part in parts:
            assert part in errors[row], (row, errors[row])
        assert errors[row].startswith("classify_image: column 'img' ")
    assert len(media_requests(use_hub)) == 1  # only the good image, once


def test_errors_raise_names_rows(use_hub, tmp_path):
    good = tmp_path / "good.png"
    good.write_bytes(png_bytes(1))
    df = pd.DataFrame({"img": [str(good), str(tmp_path / "gone.png")]})
    with pytest.raises(RowErrors) as info:
        df.hf.caption("img", errors="raise")
    assert list(info.value.errors) == [1]
    assert "gone.png" in info.value.errors[1]
    # the good row was cached: the rerun sends nothing new
    df.iloc[:1].hf.caption("img")
    assert len(media_requests(use_hub)) == 1


def test_audio_method_rejects_images(use_hub, images):
    out = pd.DataFrame({"clip": [str(images[0])]}).hf.transcribe("clip", errors="ignore")
    assert "is not audio" in out["clip_error"][0] and str(images[0]) in out["clip_error"][0]
    assert media_requests(use_hub) == []


def test_file_deleted_before_sending_is_a_row_error(use_hub, tmp_path, monkeypatch):
    paths = [tmp_path / f"{i}.png" for i in range(2)]
    for i, p in enumerate(paths):
        p.write_bytes(png_bytes(i))
    original = media_tasks.MediaTask.resolve_items

    async def resolve_then_delete(self, call, items):
        resolved = await original(self, call, items)
        paths[1].unlink()
        return resolved

    monkeypatch.setattr(media_tasks.MediaTask, "resolve_items", resolve_then_delete)
    out = pd.DataFrame({"img": [str(p) for p in paths]}).hf.caption("img", errors="ignore")
    assert out["img_error"][0] is pd.NA or pd.isna(out["img_error"][0])
    assert "file not found" in out["img_error"][1] and str(paths[1]) in out["img_error"][1]


def test_url_changed_between_key_and_send_is_a_row_error(use_hub, image_host, monkeypatch):
    image_host.files["/v.png"] = png_bytes(1)
    url = image_host.url("/v.png")
    original = media_tasks.MediaTask.resolve_items

    async def resolve_then_change(self, call, items):
        resolved = await original(self, call, items)
        media_tasks.fetcher_for(call).forget(url)  # as if evicted from the download LRU
        image_host.files["/v.png"] = png_bytes(2)
        return resolved

    monkeypatch.setattr(media_tasks.MediaTask, "resolve_items", resolve_then_change)
    out = pd.DataFrame({"img": [url]}).hf.caption("img", errors="ignore")
    assert "changed while it was being read" in out["img_error"][0] and url in out["img_error"][0]
    assert media_requests(use_hub) == []


def test_server_error_for_one_image_does_not_stop_others(use_hub, images):
    marker = images[1].read_bytes()[-24:]  # only in the second image's (raw) body
    use_hub.fail(500, times=math.inf, match=marker)
    out = pd.DataFrame({"img": [str(p) for p in images]}).hf.caption("img", errors="ignore", max_retries=0)
    assert out["img_error"].isna().tolist() == [True, False, True]
    assert "HTTP 500" in out["img_error"][1]


# ---------------------------------------------------------------------------------------------
# memory: bytes are read only for requests about to go out


def test_only_requests_in_flight_hold_bytes(use_hub, tmp_path, monkeypatch):
    use_hub.latency = 0.02
    paths = []
    for i in range(40):
        path = tmp_path / f"{i}.png"
        path.write_bytes(png_bytes(i))
        paths.append(str(path))
    state = {"held": 0, "max": 0, "loads": 0}
    real_load = media_tasks.media.load

    async def counting_load(ref, fetcher=None, **kw):
        data = await real_load(ref, fetcher, **kw)
        state["held"] += 1
        state["loads"] += 1
        state["max"] = max(state["max"], state["held"])
        return data

    task = TASKS["image-to-text"]
    real_parse = type(task).parse

    def counting_parse(self, call, answer, items):
        state["held"] -= len(items)
        return real_parse(self, call, answer, items)

    # the task calls media.load through the package, so the package attribute is the one to patch
    monkeypatch.setattr(media_tasks.media, "load", counting_load)
    monkeypatch.setattr(type(task), "parse", counting_parse)
    out = pd.DataFrame({"img": paths}).hf.caption("img", max_concurrency=4)
    assert out["img_error"].isna().all()
    assert state["loads"] == 40
    assert state["max"] <= 4, state


# ---------------------------------------------------------------------------------------------
# provider="local": the payload handed to the in-process backend


def test_local_provider_payloads(monkeypatch, images, sounds):
    seen = []

    async def fake_run_local(task, model, settings, payload):
        seen.append((task, payload))
        inputs = payload["inputs"]
        many = isinstance(inputs, list)
        per = [answers.image_classify(x, (payload.get("parameters") or {}).get("top_k")) for x in
               (inputs if many else [inputs])]
        return per if many else per[0]

    from hf_frame.backends.local import dispatch as local_dispatch

    monkeypatch.setattr(local_dispatch, "run_local", fake_run_local)
    df = pd.DataFrame({"img": [str(p) for p in images]})
    out = df.hf.classify_image("img", top_k=2, provider="local", batch_size=2)
    assert all(isinstance(p["inputs"], (bytes, list)) for _, p in seen)
    sent = [x for _, p in seen for x in (p["inputs"] if isinstance(p["inputs"], list) else [p["inputs"]])]
    assert sorted(sent) == sorted(p.read_bytes() for p in images)
    assert any(isinstance(p["inputs"], list) and len(p["inputs"]) == 2 for _, p in seen)  # batched locally
    assert all(p["parameters"] == {"top_k": 2} for _, p in seen)
    for i, path in enumerate(images):
        assert out["img_label"][i] == answers.image_classify(path.read_bytes())[0]["label"]


def test_build_local_payload_without_parameters(images):
    from hf_frame import runtime as runner
    from hf_frame.methods import make_job

    job = make_job("caption", "image-to-text", [], model=None, parameters=None, settings={"provider": "local"})
    ref = media_tasks.media.describe(str(images[0]))
    item = media_tasks.MediaItem(__import__("hashlib").sha256(images[0].read_bytes()).hexdigest(), ref)
    payload = runner.run(job.call.task.build_local_payload(job.call, [item]))
    assert payload == {"inputs": images[0].read_bytes()}


# ---------------------------------------------------------------------------------------------
# replays of real recorded HF exchanges: the same bytes must give the recorded answers' columns


def load_recording(name: str) -> dict:
    path = RECORDED / f"{name}.json"
    if not path.exists():
        pytest.skip(f"recorded traffic not available at {path}")
    return json.loads(path.read_text())["interactions"][0]


def recorded_media(interaction: dict) -> tuple[bytes, dict]:
    """(media bytes, parameters) of a recorded request: a raw body or JSON with base64."""
    body = interaction["request"]["body"]
    if "base64" in body:
        return base64.b64decode(body["base64"]), {}
    payload = json.loads(body["text"])
    return base64.b64decode(payload.get("inputs", payload.get("image"))), payload.get("parameters") or {}


def replay(name: str, tmp_path: Path):
    """(path of the recorded media on disk, recorded answer, model, settings replaying the exchange)."""
    interaction = load_recording(name)
    data, params = recorded_media(interaction)
    model = interaction["request"]["uri"].split("/models/", 1)[1]
    answer = json.loads(interaction["response"]["body"]["text"])
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "POST" and request.url.path.endswith(f"/models/{model}")
        if request.headers["content-type"] == "application/json":
            body = json.loads(request.content)
            sent, sent_params = base64.b64decode(body["inputs"]), body.get("parameters") or {}
        else:
            sent, sent_params = request.content, {}
        seen.append(sent_params)
        if sent != data:
            return httpx.Response(400, json={"error": "not the recorded media"})
        return httpx.Response(200, json=answer)

    path = tmp_path / f"{name}.media"
    path.write_bytes(data)
    return path, data, params, answer, model, seen, {"transport": httpx.MockTransport(handler),
                                                     "base_url": "https://api-inference.huggingface.co"}


def _frame(path: Path, data: bytes) -> pd.DataFrame:
    # the same media as a path and as bytes: one request (same content), two rows
    return pd.DataFrame({"media": [str(path), data]})


def test_replay_image_classification(tmp_path):
    path, data, _, answer, model, seen, settings = replay("image_classification", tmp_path)
    out = _frame(path, data).hf.classify_image("media", top_k=None, model=model, **settings)
    ranked = sorted(answer, key=lambda x: -x["score"])
    assert out["media_error"].isna().all() and len(seen) == 1 and seen[0] == {}
    assert out["media_label"].tolist() == [ranked[0]["label"]] * 2
    assert out["media_score"].tolist() == [ranked[0]["score"]] * 2
    assert out["media_labels"][0] == [{"label": x["label"], "score": x["score"]} for x in ranked]
    assert out["media_label"][0] == "brassiere, bra, bandeau"


def test_replay_zero_shot_image_classification(tmp_path):
    path, data, params, answer, model, seen, settings = replay("zero_shot_image_classification", tmp_path)
    labels = params["candidate_labels"].split(",")
    out = _frame(path, data).hf.zero_shot_image("media", labels=labels, model=model, **settings)
    assert out["media_error"].isna().all() and len(seen) == 1
    assert seen[0] == {"candidate_labels": labels}
    scores = {x["label"]: x["score"] for x in answer}
    assert out["media_label"].tolist() == ["woman", "woman"]
    assert out["media_score"][0] == scores["woman"]
    for label in labels:
        assert out[f"media_score_{label}"][0] == scores[label]


def test_replay_object_detection(tmp_path):
    path, data, _, answer, model, seen, settings = replay("object_detection", tmp_path)
    out = _frame(path, data).hf.detect("media", model=model, **settings)
    assert out["media_error"].isna().all() and len(seen) == 1
    assert out["media_objects"][0] == [{"label": o["label"], "score": o["score"], "box": o["box"]} for o in answer]
    assert out["media_objects"][0][0]["box"] == {"xmin": 59, "ymin": 39, "xmax": 420, "ymax": 510}


def test_replay_image_segmentation(tmp_path):
    path, data, _, answer, model, seen, settings = replay("image_segmentation", tmp_path)
    out = _frame(path, data).hf.segment("media", model=model, **settings)
    assert out["media_error"].isna().all() and len(seen) == 1
    segments = out["media_segments"][0]
    assert [(s["label"], s["score"]) for s in segments] == [(s["label"], s["score"]) for s in answer]
    for seg, rec in zip(segments, answer):
        assert seg["mask"] == base64.b64decode(rec["mask"])
        mask = decode_mask(seg["mask"])
        assert mask.ndim == 2 and mask.shape == Image.open(io.BytesIO(base64.b64decode(rec["mask"]))).size[::-1]


def test_replay_image_to_text(tmp_path):
    path, data, _, answer, model, seen, settings = replay("image_to_text", tmp_path)
    out = _frame(path, data).hf.caption("media", model=model, **settings)
    assert out["media_caption"].tolist() == [answer[0]["generated_text"]] * 2
    assert out["media_caption"][0] == "a woman in a hat and dress posing for a photo"


def test_replay_automatic_speech_recognition(tmp_path):
    path, data, _, answer, model, seen, settings = replay("automatic_speech_recognition", tmp_path)
    assert media_tasks.media.sniff(data) == "audio/flac"
    out = _frame(path, data).hf.transcribe("media", model=model, **settings)
    assert out["media_error"].isna().all() and len(seen) == 1
    assert out["media_text"].tolist() == [answer["text"]] * 2
    assert out["media_text"][0] == "A MAN SAID TO THE UNIVERSE SIR I EXIST"


def test_replay_audio_classification(tmp_path):
    path, data, _, answer, model, seen, settings = replay("audio_classification", tmp_path)
    out = _frame(path, data).hf.classify_audio("media", top_k=4, model=model, **settings)
    assert out["media_error"].isna().all() and len(seen) == 1 and seen[0] == {"top_k": 4}
    assert out["media_label"][0] == "neu"
    assert out["media_labels"][0] == [{"label": x["label"], "score": x["score"]} for x in answer]


# ---------------------------------------------------------------------------------------------
# parsers accept every documented answer shape


@pytest.mark.parametrize("answer", [
    [{"label": "a", "score": 0.2}, {"label": "b", "score": 0.8}],
    [[{"label": "a", "score": 0.2}, {"label": "b", "score": 0.8}]],
    {"labels": ["b", "a"], "scores": [0.8, 0.2]},
])
def test_zero_shot_image_answer_shapes(answer):
    job = METHODS["zero_shot_image"]("img", labels=["a", "b"])
    task = job.call.task
    (result,) = task.parse(job.call, answer, [object()])
    assert task.to_row(job.call, result) == {"label": "b", "score": 0.8, "score_a": 0.2, "score_b": 0.8}


@pytest.mark.parametrize("answer", [{"text": "hi"}, [{"text": "hi"}]])
def test_transcribe_answer_shapes(answer):
    job = METHODS["transcribe"]("clip")
    (result,) = job.call.task.parse(job.call, answer, [object()])
    assert job.call.task.to_row(job.call, result) == {"text": "hi"}


@pytest.mark.parametrize("answer", [[{"generated_text": "x"}], {"generated_text": "x"}, [[{"generated_text": "x"}]]])
def test_caption_answer_shapes(answer):
    job = METHODS["caption"]("img")
    assert job.call.task.parse(job.call, answer, [object()]) == ["x"]


def test_unexpected_answer_is_a_row_error(use_hub, images):
    use_hub.malformed(times=math.inf)
    out = pd.DataFrame({"img": [str(images[0])]}).hf.caption("img", errors="ignore", max_retries=0)
    assert out["img_caption"].isna().all() and "not valid JSON" in out["img_error"][0]

