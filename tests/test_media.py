"""Tests of hf_frame.media: describing cells, fingerprinting, loading, fetching, sniffing.

URL tests run against a real HTTP server on 127.0.0.1 (``http.server`` in a thread), or
``httpx.MockTransport`` where the protocol detail matters (Content-Length, streamed bodies).
Sample media come from the recorded HF traffic in ``../shared/hf-recorded`` (skipped if absent).
"""

from __future__ import annotations

import asyncio
import base64
import doctest
import hashlib
import io
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pytest
from recorded import RECORDED_DIR as RECORDED  # noqa: E402

from hf_frame.errors import InputError
from hf_frame.formats import media
from hf_frame.formats.media import (
    MediaError,
    MediaRef,
    UrlFetcher,
    decode_mask,
    describe,
    encode_base64,
    fetching,
    fingerprint,
    load,
    loading,
    refs,
    requests,
    sniff,
    sniffing,
    to_request,
    validate_kind,
)

needs_recorded = pytest.mark.skipif(not RECORDED.is_dir(), reason=f"{RECORDED} is absent")


def run(coro):
    return asyncio.run(coro)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def recorded_request_body(name: str) -> bytes:
    record = json.loads((RECORDED / name).read_text())
    return base64.b64decode(record["interactions"][0]["request"]["body"]["base64"])


def recorded_response(name: str):
    record = json.loads((RECORDED / name).read_text())
    body = record["interactions"][0]["response"]["body"]
    return base64.b64decode(body["base64"]) if "base64" in body else json.loads(body["text"])


def png_bytes(color=(255, 0, 0), size=(8, 6)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))  # enough for sniffing; not decodable


# --------------------------------------------------------------------------------------------
# a local HTTP server
# --------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # do not wait for the deliberately slow handler on shutdown


class LocalServer:
    """Serves ``routes`` (path -> bytes) and counts GETs per path; records request headers."""

    def __init__(self):
        self.routes: dict[str, bytes] = {}
        self.hits: dict[str, int] = {}
        self.headers: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                path = self.path
                server.hits[path] = server.hits.get(path, 0) + 1
                server.headers.append({k.lower(): v for k, v in self.headers.items()})
                if path.startswith("/redirect"):
                    self.send_response(302)
                    self.send_header("Location", path.removeprefix("/redirect"))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif path == "/slow":
                    time.sleep(1.5)
                    self._send(200, b"late")
                elif path == "/endless":  # no Content-Length, body ends when the server closes
                    self.send_response(200)
                    self.end_headers()
                    try:
                        for _ in range(64):
                            self.wfile.write(b"\0" * 65536)
                    except OSError:
                        pass
                    self.close_connection = True
                elif path in server.routes:
                    self._send(200, server.routes[path])
                else:
                    self._send(404, b"not here")

            def _send(self, status, body):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,), daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = LocalServer()
    yield srv
    srv.close()


async def with_fetcher(fn, **kwargs):
    """Run ``fn(fetcher)`` with a fetcher over a fresh client (proxies from env ignored)."""
    async with httpx.AsyncClient(trust_env=False, headers=kwargs.pop("headers", None)) as client:
        return await fn(UrlFetcher(client, **kwargs))


# --------------------------------------------------------------------------------------------
# describe
# --------------------------------------------------------------------------------------------


def test_importing_media_does_not_import_pillow():
    code = "import sys, hf_frame.formats.media; print('PIL' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    "value",
    [None, float("nan"), np.float32("nan"), np.float64("nan"), {"bytes": None, "path": None}],
)
def test_missing_values_describe_to_none(value):
    assert describe(value) is None


def test_pandas_missing_values_describe_to_none():
    pd = pytest.importorskip("pandas")
    assert describe(pd.NA) is None
    assert describe(pd.NaT) is None


def test_describe_paths_without_touching_disk(tmp_path):
    ref = describe("/definitely/not/here.png")  # no error yet: nothing is read
    assert ref.source == "path" and ref.value == Path("/definitely/not/here.png")
    assert ref.name == "/definitely/not/here.png"
    assert describe(tmp_path / "a.png").value == tmp_path / "a.png"
    assert describe("~/x.png").value == Path.home() / "x.png"
    assert describe((tmp_path / "a b.png").as_uri()).value == tmp_path / "a b.png"


def test_describe_urls_and_redacts_passwords():
    assert describe("https://example.com/a.jpg").source == "url"
    assert describe("HTTP://example.com/a.jpg").source == "url"
    ref = describe("https://user:secret@example.com/a.jpg")
    assert ref.value == "https://user:secret@example.com/a.jpg"
    assert "secret" not in ref.name and "secret" not in repr(ref)
    with pytest.raises(MediaError, match="unsupported URL scheme 'ftp'.*ftp://example.com/a.jpg"):
        describe("ftp://example.com/a.jpg")


def test_describe_in_memory_values():
    assert describe(b"abc").value == b"abc"
    buf = bytearray(b"abc")
    ref = describe(buf)
    buf[0] = ord("z")  # a later edit of the buffer does not change the described content
    assert ref.value == b"abc" and type(ref.value) is bytes
    assert describe(memoryview(b"xyz")).value == b"xyz"
    assert describe(f"data:image/png;base64,{encode_base64(PNG)}").value == PNG
    assert "bytes" in repr(describe(b"\0" * 10_000)) and "\\x00" not in repr(describe(b"\0" * 10))


def test_describe_datasets_dicts():
    ref = describe({"bytes": PNG, "path": "cat.png"})
    assert ref.source == "bytes" and ref.value == PNG and ref.name == "cat.png"
    assert describe({"bytes": None, "path": "/data/cat.png"}).source == "path"
    assert describe({"path": "https://x.org/cat.png"}).source == "url"
    with pytest.raises(MediaError, match="'bytes' or 'path'"):
        describe({"image": PNG})


def test_describe_pil_and_file_objects(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    ref = describe(Image.new("RGB", (3, 2)))
    assert ref.source == "pil" and ref.name == "<PIL image 3x2 RGB>"
    assert describe(io.BytesIO(PNG)).source == "file"
    (tmp_path / "f.bin").write_bytes(PNG)
    with open(tmp_path / "f.bin", "rb") as f:
        assert describe(f).name == f"<file {tmp_path / 'f.bin'}>"


@pytest.mark.parametrize("value", [42, 1.5, ["a.png"], object(), ""])
def test_describe_rejects_non_media(value):
    with pytest.raises(MediaError):
        describe(value)


def test_media_error_is_a_value_error_and_an_input_error():
    assert issubclass(MediaError, ValueError) and issubclass(MediaError, InputError)


# --------------------------------------------------------------------------------------------
# fingerprint and load: local sources
# --------------------------------------------------------------------------------------------


def test_same_content_same_fingerprint_across_sources(tmp_path):
    data = png_bytes()
    (tmp_path / "a.png").write_bytes(data)
    (tmp_path / "copy.png").write_bytes(data)
    refs = [
        describe(str(tmp_path / "a.png")),
        describe(tmp_path / "copy.png"),
        describe(data),
        describe({"bytes": data, "path": "elsewhere.png"}),
        describe(io.BytesIO(data)),
    ]
    keys = {run(fingerprint(ref)) for ref in refs}
    assert keys == {sha(data)}
    assert run(fingerprint(describe(png_bytes(color=(0, 0, 255))))) != sha(data)


def test_file_modified_in_place_gets_new_fingerprint(tmp_path):
    path = tmp_path / "img.png"
    path.write_bytes(b"A" * 100)
    first = run(fingerprint(describe(path)))
    assert first == sha(b"A" * 100)

    # same size, new content; bump mtime explicitly in case the filesystem clock is coarse
    path.write_bytes(b"B" * 100)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    second = run(fingerprint(describe(path)))
    assert second == sha(b"B" * 100)

    path.write_bytes(b"C" * 101)  # different size
    assert run(fingerprint(describe(path))) == sha(b"C" * 101)


def test_path_fingerprint_is_memoized(tmp_path, monkeypatch):
    path = tmp_path / "img.png"
    path.write_bytes(b"memo me" * 1000)
    calls = []
    real = loading._hash_stream
    monkeypatch.setattr(loading, "_hash_stream", lambda *a: calls.append(1) or real(*a))
    keys = {run(fingerprint(describe(p))) for p in (path, str(path), tmp_path / "." / "img.png")}
    assert len(keys) == 1
    assert len(calls) == 1  # one read; the rest were one stat each


def test_path_fingerprint_reads_in_blocks(tmp_path, monkeypatch):
    data = os.urandom(10_000)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    monkeypatch.setattr(loading, "BLOCK_SIZE", 1024)
    reads = []
    real_open = loading._open

    class Spy:
        def __init__(self, f):
            self.f = f

        def read(self, n=-1):
            reads.append(n)
            return self.f.read(n)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(loading, "_open", lambda p, name: Spy(real_open(p, name)))
    assert run(fingerprint(describe(path))) == sha(data)
    assert reads and all(0 < n <= 1024 for n in reads)
    assert len(reads) == math.ceil(len(data) / 1024) + 1  # + the final empty read


def test_load_reads_files_when_asked(tmp_path):
    path = tmp_path / "x.png"
    ref = describe(path)  # does not exist yet: describing is free
    path.write_bytes(PNG)
    assert run(load(ref)) == PNG


def test_missing_file(tmp_path):
    missing = tmp_path / "nope" / "y.png"
    ref = describe(str(missing))
    for step in (fingerprint, load):
        with pytest.raises(MediaError) as info:
            run(step(ref))
        assert str(info.value) == f"file not found: {missing}"


def test_directory_is_not_media(tmp_path):
    with pytest.raises(MediaError, match="not a regular file"):
        run(load(describe(tmp_path)))


def test_size_limit_on_files_bytes_and_streams(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(b"\0" * 2000)
    for step in (fingerprint, load):
        with pytest.raises(MediaError) as info:
            run(step(describe(path), max_bytes=1000))
        message = str(info.value)
        assert str(path) in message and "2,000 bytes" in message and "1,000 bytes" in message
    assert run(load(describe(path), max_bytes=2000)) == b"\0" * 2000
    with pytest.raises(MediaError, match="over the size limit"):
        run(load(describe(b"\0" * 2000), max_bytes=1000))
    with pytest.raises(MediaError, match="over the size limit"):
        run(fingerprint(describe(io.BytesIO(b"\0" * 2000)), max_bytes=1000))


def test_size_limit_defaults_to_the_fetchers(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(b"\0" * 2000)

    async def go(fetcher):
        await load(describe(path), fetcher)

    with pytest.raises(MediaError, match="over the size limit of 1,000 bytes"):
        run(with_fetcher(go, max_bytes=1000))


def test_seekable_file_objects_are_rewound(tmp_path):
    f = io.BytesIO(PNG)
    f.read(5)  # the caller left it mid-way
    ref = describe(f)
    assert run(fingerprint(ref)) == sha(PNG)
    assert run(load(ref)) == PNG
    assert run(load(ref)) == PNG


def test_non_seekable_stream_is_read_once_and_kept(tmp_path):
    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self.data, self.reads = data, 0

        def readable(self):
            return True

        def read(self, n=-1):
            self.reads += 1
            out, self.data = (self.data, b"") if n < 0 else (self.data[:n], self.data[n:])
            return out

    pipe = Pipe(PNG)
    ref = describe(pipe)
    assert run(fingerprint(ref)) == sha(PNG)
    assert run(load(ref)) == PNG
    assert pipe.reads == 1


def test_text_mode_file_is_rejected(tmp_path):
    (tmp_path / "t.txt").write_text("hello")
    with open(tmp_path / "t.txt") as f:
        with pytest.raises(MediaError, match="text mode"):
            run(load(describe(f)))
        with pytest.raises(MediaError, match="text mode"):
            run(fingerprint(describe(f)))


def test_pil_images_load_as_png():
    Image = pytest.importorskip("PIL.Image")
    image = Image.new("RGB", (4, 3), (10, 20, 30))
    ref = describe(image)
    data = run(load(ref))
    assert sniff(data) == "image/png"
    assert Image.open(io.BytesIO(data)).getpixel((1, 1)) == (10, 20, 30)
    assert run(fingerprint(ref)) == sha(data)
    # modes PNG cannot store are converted
    assert sniff(run(load(describe(Image.new("CMYK", (2, 2)))))) == "image/png"


def test_url_needs_a_fetcher():
    with pytest.raises(MediaError, match="UrlFetcher is needed to download https://x.org/a.png"):
        run(load(describe("https://x.org/a.png")))


# --------------------------------------------------------------------------------------------
# URLs
# --------------------------------------------------------------------------------------------


def test_fetch_dedup_and_lru_reuse(server):
    data = png_bytes()
    server.routes["/a.png"] = data
    server.routes["/mirror/a.png"] = data

    async def go(fetcher):
        ref_a, ref_b = describe(server.url("/a.png")), describe(server.url("/mirror/a.png"))
        key_a = await fingerprint(ref_a, fetcher)
        key_b = await fingerprint(ref_b, fetcher)
        loaded = await load(ref_a, fetcher)
        return key_a, key_b, loaded

    key_a, key_b, loaded = run(with_fetcher(go))
    assert key_a == key_b == sha(data)  # same image under two URLs: one key
    assert loaded == data
    assert server.hits == {"/a.png": 1, "/mirror/a.png": 1}  # load was served by the LRU


def test_lru_budget_evicts_and_redownloads(server):
    server.routes["/1"] = b"1" * 600
    server.routes["/2"] = b"2" * 600
    server.routes["/huge"] = b"h" * 5000

    async def go(fetcher):
        for path in ("/1", "/2", "/1", "/huge", "/huge"):
            await fetcher.fetch(server.url(path))

    run(with_fetcher(go, cache_bytes=1000))
    # /2 evicted /1 (1200 > 1000); /huge is bigger than the whole budget and never cached
    assert server.hits == {"/1": 2, "/2": 1, "/huge": 2}


def test_concurrent_fetches_share_one_download(server):
    server.routes["/a.png"] = PNG

    async def go(fetcher):
        return await asyncio.gather(*(fetcher.fetch(server.url("/a.png")) for _ in range(8)))

    assert run(with_fetcher(go)) == [PNG] * 8
    assert server.hits == {"/a.png": 1}


def test_redirects_are_followed(server):
    server.routes["/real.png"] = PNG

    async def go(fetcher):
        return await fetcher.fetch(server.url("/redirect/real.png"))

    assert run(with_fetcher(go)) == PNG
    assert server.hits == {"/redirect/real.png": 1, "/real.png": 1}


def test_authorization_header_is_not_sent_to_media_hosts(server):
    server.routes["/a.png"] = PNG

    async def go(fetcher):
        return await fetcher.fetch(server.url("/a.png"))

    run(with_fetcher(go, headers={"Authorization": "Bearer hf_secret", "X-Other": "kept"}))
    assert "authorization" not in server.headers[0]
    assert server.headers[0]["x-other"] == "kept"


def test_http_error_status_names_the_url(server):
    async def go(fetcher):
        await fetcher.fetch(server.url("/missing.png"))

    with pytest.raises(MediaError) as info:
        run(with_fetcher(go))
    assert str(info.value) == f"HTTP 404 Not Found fetching {server.url('/missing.png')}"


def test_connection_error_names_the_url():
    with socket.socket() as sock:  # find a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/a.png"

    async def go(fetcher):
        await fetcher.fetch(url)

    with pytest.raises(MediaError, match=f"could not fetch {url}"):
        run(with_fetcher(go))


def test_timeout_names_the_url(server):
    async def go(fetcher):
        await fetcher.fetch(server.url("/slow"))

    started = time.monotonic()
    with pytest.raises(MediaError, match=f"timed out after 0.2s fetching {server.url('/slow')}"):
        run(with_fetcher(go, timeout=0.2))
    assert time.monotonic() - started < 1.4


def test_streamed_body_over_limit_is_aborted(server):
    async def go(fetcher):
        await fetcher.fetch(server.url("/endless"))

    with pytest.raises(MediaError) as info:
        run(with_fetcher(go, max_bytes=100_000))
    message = str(info.value)
    assert server.url("/endless") in message and "more than 100,000 bytes" in message


def test_failed_download_is_not_cached(server):
    async def go(fetcher):
        for _ in range(2):
            with pytest.raises(MediaError):
                await fetcher.fetch(server.url("/later.png"))
        server.routes["/later.png"] = PNG
        return await fetcher.fetch(server.url("/later.png"))

    assert run(with_fetcher(go)) == PNG
    assert server.hits["/later.png"] == 3


# protocol-level checks with a mock transport


def mock_fetcher_run(handler, fn, **kwargs):
    async def main():
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await fn(UrlFetcher(client, **kwargs))

    return run(main())


def test_content_length_over_limit_is_refused_before_reading():
    produced = []

    async def body():
        for _ in range(100):
            produced.append(1)
            yield b"\0" * 1000

    def handler(request):
        return httpx.Response(200, headers={"Content-Length": "100000"}, content=body())

    expected = r"https://m\.test/big\.png is 100,000 bytes, over the size limit of 1,000 bytes"
    with pytest.raises(MediaError, match=expected):
        mock_fetcher_run(handler, lambda f: f.fetch("https://m.test/big.png"), max_bytes=1000)
    assert produced == []


def test_stream_without_content_length_stops_at_limit():
    produced = []

    async def body():
        for _ in range(100):
            produced.append(1)
            yield b"\0" * 1000

    def handler(request):
        return httpx.Response(200, content=body())

    with pytest.raises(MediaError, match="more than 2,500 bytes"):
        mock_fetcher_run(handler, lambda f: f.fetch("https://m.test/big.png"), max_bytes=2500)
    assert len(produced) == 3  # aborted as soon as the limit was crossed


@pytest.mark.parametrize("status", [400, 403, 500, 503])
def test_error_statuses(status):
    def handler(request):
        return httpx.Response(status, text="nope")

    with pytest.raises(MediaError, match=f"HTTP {status} .*fetching https://m.test/a.png"):
        mock_fetcher_run(handler, lambda f: f.fetch("https://m.test/a.png"))


def test_transport_errors_become_media_errors():
    def handler(request):
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(MediaError, match="timed out after 5s fetching https://m.test/a.png"):
        mock_fetcher_run(handler, lambda f: f.fetch("https://m.test/a.png"), timeout=5)

    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(MediaError, match="could not fetch https://m.test/a.png: connection ref"):
        mock_fetcher_run(refuse, lambda f: f.fetch("https://m.test/a.png"))


def test_error_messages_hide_url_passwords():
    def handler(request):
        return httpx.Response(404)

    with pytest.raises(MediaError) as info:
        mock_fetcher_run(handler, lambda f: f.fetch("https://bob:hunter2@m.test/a.png"))
    assert "hunter2" not in str(info.value) and "https://m.test/a.png" in str(info.value)


# --------------------------------------------------------------------------------------------
# sniff and validate_kind
# --------------------------------------------------------------------------------------------


@needs_recorded
def test_sniff_recorded_media():
    assert sniff(recorded_request_body("image_classification.json")) == "image/png"
    assert sniff(recorded_request_body("automatic_speech_recognition.json")) == "audio/flac"
    assert sniff(recorded_response("text_to_image.json")) == "image/jpeg"
    assert sniff(recorded_response("text_to_speech.json")) == "audio/flac"


@needs_recorded
def test_recorded_media_fingerprint_and_validate(tmp_path):
    image = recorded_request_body("image_classification.json")
    audio = recorded_request_body("automatic_speech_recognition.json")
    (tmp_path / "img.png").write_bytes(image)
    assert run(fingerprint(describe(tmp_path / "img.png"))) == run(fingerprint(describe(image)))
    assert validate_kind(image, "image") == "image/png"
    assert validate_kind(audio, "audio") == "audio/flac"
    expected = r"clip\.flac is not an image \(detected audio/flac; first bytes: b'fLaC"
    with pytest.raises(MediaError, match=expected):
        validate_kind(audio, "image", "clip.flac")
    with pytest.raises(MediaError, match="is not audio"):
        validate_kind(image, "audio")


@pytest.mark.parametrize(
    "fmt, mime",
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp"),
     ("BMP", "image/bmp"), ("TIFF", "image/tiff"), ("ICO", "image/x-icon")],
)
def test_sniff_images_written_by_pillow(fmt, mime):
    Image = pytest.importorskip("PIL.Image")
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(buf, format=fmt)
    assert sniff(buf.getvalue()) == mime
    assert validate_kind(buf.getvalue(), "image") == mime


def test_sniff_wav_written_by_wave_module():
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * 160)
    assert sniff(buf.getvalue()) == "audio/wav"
    assert validate_kind(buf.getvalue(), "audio") == "audio/wav"


@pytest.mark.parametrize(
    "head, mime",
    [
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio/mpeg"),
        (b"\xff\xfb\x90\x64\x00", "audio/mpeg"),  # MPEG-1 layer III frame
        (b"\xff\xf1\x50\x80\x00", "audio/aac"),  # ADTS
        (b"OggS\x00\x02" + b"\0" * 20, "audio/ogg"),
        (b"fLaC\x00\x00\x00\x22", "audio/flac"),
        (b"FORM\x00\x00\x10\x00AIFFCOMM", "audio/aiff"),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", "audio/mp4"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00", "video/mp4"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", "image/avif"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "video/webm"),
        (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska", "video/x-matroska"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"<!DOCTYPE html><html>", None),
        (b'{"error": "nope"}', None),
        (b"BM but not a bitmap header", None),
        (b"", None),
    ],
)
def test_sniff_magic_bytes(head, mime):
    assert sniff(head) == mime


def test_audio_containers_are_accepted_as_audio():
    webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm"
    assert validate_kind(webm, "audio") == "video/webm"
    with pytest.raises(MediaError, match="is not an image"):
        validate_kind(webm, "image")


def test_validate_kind_messages():
    with pytest.raises(MediaError) as info:
        validate_kind(b"<html><body>login</body></html>", "image", "https://x.org/a.jpg")
    expected = "https://x.org/a.jpg is not an image (first bytes: b'<html><body>logi')"
    assert str(info.value) == expected
    with pytest.raises(MediaError, match="data is empty, not audio"):
        validate_kind(b"", "audio")
    with pytest.raises(ValueError, match="kind must be"):
        validate_kind(PNG, "video")


# --------------------------------------------------------------------------------------------
# requests and masks
# --------------------------------------------------------------------------------------------


def test_encode_base64_round_trips():
    data = os.urandom(1000)
    assert base64.b64decode(encode_base64(data)) == data


def test_to_request_raw_body_without_parameters():
    body, headers = to_request(PNG, "image", None)
    assert body == PNG and headers == {"Content-Type": "image/png"}
    # parameters that are all None are the same as none
    assert to_request(PNG, "image", {"top_k": None}) == (PNG, {"Content-Type": "image/png"})


def test_to_request_json_body_with_parameters():
    body, headers = to_request(PNG, "image", {"top_k": 3, "threshold": None, "labels": ["a"]})
    assert headers == {"Content-Type": "application/json"}
    assert body == {"inputs": encode_base64(PNG), "parameters": {"top_k": 3, "labels": ["a"]}}
    json.dumps(body)  # JSON-able


def test_to_request_refuses_wrong_kind():
    with pytest.raises(MediaError, match="photo.jpg is not an image"):
        to_request(b"plain text", "image", None, name="photo.jpg")


@needs_recorded
def test_decode_recorded_segmentation_masks():
    segments = recorded_response("image_segmentation.json")
    assert segments and all("mask" in s for s in segments)
    for segment in segments:
        mask = decode_mask(segment["mask"])
        assert mask.ndim == 2 and mask.dtype == np.uint8
        assert set(np.unique(mask)) <= set(range(256)) and mask.any()
        assert np.array_equal(mask, decode_mask(base64.b64decode(segment["mask"])))


def test_decode_mask_modes():
    Image = pytest.importorskip("PIL.Image")
    bits = np.zeros((4, 5), dtype=bool)
    bits[1:3, 2:4] = True
    buf = io.BytesIO()
    Image.fromarray(bits).save(buf, format="PNG")
    decoded = decode_mask(buf.getvalue())
    assert decoded.dtype == bool and np.array_equal(decoded, bits)

    buf = io.BytesIO()
    Image.new("RGB", (3, 2), (255, 255, 255)).save(buf, format="PNG")
    decoded = decode_mask("data:image/png;base64," + encode_base64(buf.getvalue()))
    assert decoded.shape == (2, 3) and decoded.dtype == np.uint8 and (decoded == 255).all()


def test_decode_mask_rejects_garbage():
    with pytest.raises(MediaError, match="not valid base64"):
        decode_mask("not base64 !!")
    with pytest.raises(MediaError, match="mask is not an image"):
        decode_mask(b"plain bytes")


def test_decode_mask_without_pillow(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)  # makes `from PIL import Image` fail
    with pytest.raises(ImportError, match="Pillow is needed to decode segmentation masks"):
        decode_mask(b"\x89PNG")


def test_docstring_examples():
    # The examples use the package's names (load's uses describe), wherever the function lives.
    names = {name: getattr(media, name) for name in media.__all__}
    attempted = 0
    for module in (media, refs, fetching, loading, sniffing, requests):
        result = doctest.testmod(module, extraglobs=names, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, module.__name__
        attempted += result.attempted
    assert attempted > 10


def test_media_ref_repr_is_short():
    ref = describe(b"\1" * 5_000_000)
    assert repr(ref) == "MediaRef(source='bytes', name='<5000000 bytes>')"
    assert isinstance(ref, MediaRef)
