"""Answers that are files (generated images and sounds): ``Request(expect="binary")`` returns the
bytes and their content type; JSON answers and JSON error bodies keep their meaning. Both wires:
httpx (``transport=``) here, raw aiohttp against the loopback hub in the task tests."""

from __future__ import annotations

import httpx
import pytest

from hf_frame import runtime as runner
from hf_frame.backends.remote import http
from hf_frame.config import resolve_settings
from hf_frame.errors import RowRequestError
from hf_frame.formats.wire import BinaryAnswer

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
FLAC = b"fLaC\x00\x00\x00\x22" + b"\x00" * 24


def scripted(*responses):
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return httpx.MockTransport(handler), seen


def send(transport, expect="binary"):
    settings = resolve_settings(transport=transport, token="hf_x", retry_backoff=0.001, max_retries=2)
    request = http.Request(url="https://router.huggingface.co/hf-inference/models/org/sd", json={"inputs": "a cat"},
                           expect=expect)
    return runner.run(http.send(request, settings, task="text-to-image", model="org/sd"))


def test_an_image_answer_is_its_bytes_and_content_type():
    transport, _ = scripted(httpx.Response(200, content=PNG, headers={"Content-Type": "image/png"}))
    answer = send(transport)
    assert answer == BinaryAnswer(PNG, "image/png")
    assert "bytes" in repr(answer) and "\\x89" not in repr(answer)  # the repr never dumps the data


def test_the_declared_type_is_kept_and_parameters_dropped():
    transport, _ = scripted(httpx.Response(200, content=FLAC, headers={"Content-Type": "audio/flac; rate=22050"}))
    assert send(transport) == BinaryAnswer(FLAC, "audio/flac")


@pytest.mark.parametrize("headers", [{}, {"Content-Type": "application/octet-stream"}])
def test_an_unlabelled_answer_is_sniffed(headers):
    transport, _ = scripted(httpx.Response(200, content=PNG, headers=headers))
    assert send(transport) == BinaryAnswer(PNG, "image/png")


def test_json_answers_are_still_decoded():
    body = [{"label": "label_0", "blob": "ZkxhQw==", "content-type": "audio/flac"}]
    transport, _ = scripted(httpx.Response(200, json=body))
    assert send(transport) == body
    transport, _ = scripted(httpx.Response(200, content=b'{"images": []}'))  # JSON with no content type
    assert send(transport) == {"images": []}


def test_a_json_error_body_is_an_error_whatever_the_status():
    transport, seen = scripted(httpx.Response(200, json={"error": "NSFW content detected"}))
    with pytest.raises(RowRequestError, match="NSFW content detected"):
        send(transport)
    assert len(seen) == 1  # not retried
    transport, _ = scripted(httpx.Response(400, json={"error": "prompt too long"}))
    with pytest.raises(RowRequestError, match="HTTP 400: prompt too long"):
        send(transport)


def test_transient_failures_are_retried_before_the_image():
    transport, seen = scripted(httpx.Response(503, json={"error": "loading"}),
                               httpx.Response(200, content=PNG, headers={"Content-Type": "image/png"}))
    assert send(transport).data == PNG
    assert len(seen) == 2


def test_a_json_request_still_refuses_a_binary_answer():
    transport, _ = scripted(httpx.Response(200, content=PNG, headers={"Content-Type": "image/png"}))
    with pytest.raises(RowRequestError, match="not valid JSON"):
        send(transport, expect="json")
