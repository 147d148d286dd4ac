"""Self-hosted servers no one here wrote follow the OpenAI client's URL convention and Cohere's
rerank body: a real loopback server whose routes have no ``/v1`` prefix (as llama.cpp, infinity
and many gateways serve them) and whose ``/rerank`` speaks Cohere-style."""

from __future__ import annotations

import asyncio
import json
import threading

import numpy as np
import pandas as pd
import pytest
from aiohttp import web
from fake_hub import answers

import hf_frame
from hf_frame.errors import FatalRequestError


class BareServer:
    """``/embeddings``, ``/chat/completions`` and a Cohere-style ``/rerank``; everything else 404."""

    def __init__(self):
        self.requests: list[tuple[str, dict]] = []
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    async def _handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read() or b"{}")
        self.requests.append((request.path, body))
        if request.path == "/embeddings":
            data = [{"index": i, "embedding": answers.vector(t)} for i, t in enumerate(body["input"])]
            return web.json_response({"object": "list", "data": data})
        if request.path == "/chat/completions":
            return web.json_response(answers.chat_completion(body.get("model", "x"), body["messages"]))
        if request.path == "/rerank":
            if "documents" not in body:  # FastAPI's validation error, as vLLM and infinity answer
                return web.json_response({"detail": [{"loc": ["body", "documents"], "msg": "Field required",
                                                      "type": "missing"}]}, status=422)
            docs = [str(d) for d in body["documents"]]
            scores = answers.similarity(body["query"], docs)
            results = sorted(({"index": i, "relevance_score": (s + 1) / 2} for i, s in enumerate(scores)),
                             key=lambda r: -r["relevance_score"])[: body.get("top_n") or len(docs)]
            return web.json_response({"id": "r", "results": results})
        return web.json_response({"detail": "Not Found"}, status=404)

    def _serve(self):
        asyncio.set_event_loop(self.loop)
        runner = web.AppRunner(web.Application())
        runner.app.router.add_route("*", "/{tail:.*}", self._handle)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    def __enter__(self):
        self.thread.start()
        self.ready.wait(10)
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def bare():
    with BareServer() as server:
        hf_frame.configure(retry_backoff=0.001)
        yield server


def test_embeddings_at_a_base_url_without_v1(bare):
    df = pd.DataFrame({"t": ["alpha", "beta"]})
    out = df.hf.embed("t", api="openai", endpoint=bare.url, model="m")
    assert [p for p, _ in bare.requests] == ["/v1/embeddings", "/embeddings"]  # /v1 first, then the bare route
    assert np.allclose(np.asarray(out["t_embedding"].iloc[1]), answers.vector("beta"), atol=1e-6)
    bare.requests.clear()
    pd.DataFrame({"t": ["gamma"]}).hf.embed("t", api="openai", endpoint=bare.url, model="m")
    assert [p for p, _ in bare.requests] == ["/embeddings"]  # remembered


def test_a_full_route_url_is_used_as_given(bare):
    pd.DataFrame({"t": ["alpha"]}).hf.embed("t", endpoint=f"{bare.url}/embeddings", api="openai", model="m")
    assert [p for p, _ in bare.requests] == ["/embeddings"]


def test_a_404_names_the_urls_tried_and_the_forms_to_pass(bare):
    with pytest.raises(FatalRequestError) as info:
        pd.DataFrame({"t": ["alpha"]}).hf.embed("t", api="openai", endpoint=f"{bare.url}/api", model="m")
    message = str(info.value)
    assert f"{bare.url}/api/embeddings" in message and "endpoint='http://host:port/v1'" in message
    assert "http://host:port/v1/embeddings" in message


def test_chat_falls_back_to_the_openai_route(bare):
    out = pd.DataFrame({"t": ["hi"]}).hf.chat("t", endpoint=bare.url, model="served")
    assert [p for p, _ in bare.requests] == ["/v1/chat/completions", "/chat/completions"]
    assert out["t_reply"].iloc[0] == "Echo: hi"


def test_rerank_learns_cohere_style_and_sends_the_model(bare):
    docs = ["cats purr", "stock markets", "kittens meow", "cats purr"]
    out = pd.DataFrame({"d": docs}).hf.rerank("cats", "d", endpoint=bare.url, model="BAAI/bge-reranker-v2-m3")
    (first_path, first), (_, second) = bare.requests
    assert first_path == "/rerank" and "texts" in first and first["model"] == "BAAI/bge-reranker-v2-m3"
    assert second == {"model": "BAAI/bge-reranker-v2-m3", "query": "cats",
                      "documents": ["cats purr", "stock markets", "kittens meow"], "top_n": 3,
                      "return_documents": False}
    expected = [(s + 1) / 2 for s in answers.similarity("cats", docs)]
    assert out["d_rerank_score"].tolist() == pytest.approx(expected, abs=1e-6)
    assert out.loc[out["d_rerank_score"].idxmax(), "d_rerank_rank"] == 1
    bare.requests.clear()
    pd.DataFrame({"d": ["new text"]}).hf.rerank("cats", "d", endpoint=bare.url)
    assert [("documents" in b) for _, b in bare.requests] == [True]  # learnt: Cohere's body at once


def test_rerank_api_cohere_is_sent_at_once(bare):
    pd.DataFrame({"d": ["a", "b"]}).hf.rerank("q", "d", endpoint=f"{bare.url}/rerank", api="cohere")
    [(path, body)] = bare.requests
    assert path == "/rerank" and body == {"query": "q", "documents": ["a", "b"], "top_n": 2, "return_documents": False}
    with pytest.raises(ValueError, match="api must be one of"):
        pd.DataFrame({"d": ["a"]}).hf.rerank("q", "d", endpoint=bare.url, api="openai")
