"""``endpoint=`` servers speaking an OpenAI-style route: which URL to post to, and what to say on a 404.

The OpenAI client convention: the endpoint is the server's base URL and the route is appended
(``http://host:port/v1`` -> ``/v1/embeddings``); a URL that already names the route is used as
given. A base URL with no path is ambiguous (vLLM, TEI and TGI serve ``/v1/...``, other servers
the route alone): the ``/v1`` form is tried first and, if it answers 404, the bare route; the URL
that worked is remembered for the process. A 404 on every form names the URLs tried and the
forms to pass instead.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from ...errors import FatalRequestError, RowRequestError
from . import http

_working: dict[str, str] = {}  # first URL tried -> the alternative that answered


def candidates(endpoint: str, route: str, *, v1_first: bool = True) -> list[str]:
    """The URLs to try for ``route`` (e.g. ``"embeddings"``, ``"chat/completions"``) on ``endpoint``.

    >>> candidates("http://h:8080", "embeddings")
    ['http://h:8080/v1/embeddings', 'http://h:8080/embeddings']
    >>> candidates("http://h:8080/v1/", "embeddings")
    ['http://h:8080/v1/embeddings']
    >>> candidates("http://h:8080/v1/embeddings", "embeddings")
    ['http://h:8080/v1/embeddings']
    """
    base = endpoint.rstrip("/")
    if base.endswith("/" + route):
        return [base]
    path = urllib.parse.urlsplit(base).path
    if not path:
        return [f"{base}/v1/{route}", f"{base}/{route}"] if v1_first else [f"{base}/{route}"]
    return [f"{base}/{route}"]


async def send(call: Any, request: http.Request, urls: list[str], route: str) -> Any:
    """POST ``request`` to the first of ``urls`` that does not answer 404 (``request.url`` first;
    no ``urls``: to ``request.url`` only). A 400/422 the task knows how to answer with another
    body (:meth:`Task.endpoint_fallback`, e.g. a Cohere-style rerank server) is sent again so."""
    first = request.url
    order = [first] + [u for u in urls if u != first]
    learnt = _working.get(first)
    if learnt in order:
        order.remove(learnt)
        order.insert(0, learnt)
    tried = []
    for url in order:
        attempt = http.Request(url=url, json=request.json, content=request.content, headers=dict(request.headers))
        try:
            answer = await _send(call, attempt)
        except FatalRequestError as exc:
            if exc.status != 404 or not urls:
                raise
            tried.append(url)
            continue
        if url != first:
            _working[first] = url
        return answer
    raise FatalRequestError(
        f"{call.task.method}: the endpoint answered 404 at {' and at '.join(tried)}. Pass the server's base URL "
        f"the way the OpenAI client takes it (e.g. endpoint='http://host:port/v1' -> /v1/{route}) or the full "
        f"route URL (endpoint='http://host:port/v1/{route}')",
        status=404, task=call.task.name, model=call.model or "")


async def _send(call: Any, request: http.Request) -> Any:
    try:
        return await http.send(request, call.settings, task=call.task.name, model=call.model)
    except RowRequestError as exc:
        other = call.task.endpoint_fallback(call, request, exc) if exc.status in (400, 422) else None
        if other is None:
            raise
        return await http.send(other, call.settings, task=call.task.name, model=call.model)
