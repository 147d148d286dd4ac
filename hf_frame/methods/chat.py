"""``df.hf.chat(...)``: a prompt per row, a reply (or typed JSON fields) per row.

>>> job = chat("Rate this review of {product}: {review}", json_schema={"stars": int})
>>> [i.value for i in job.inputs], job.output_type().names
(['product', 'review'], ['stars', 'error'])

The job is framework-free like every other method (see :mod:`hf_frame.methods`); the pandas and
polars adapters pick it up from ``METHODS``.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from ..backends import backend_for
from ..config import resolve_settings
from ..formats.structured import acceptance_schema, arrow_type, normalize_schema
from ..formats.structured import response_format as _response_format
from ..tasks.chat import DETAIL_FIELDS, ChatCompletion
from .job import Input, Job, make_job, prompt_inputs, split_kwargs

RESPONSE_FORMATS = ("auto", "openai", "tgi")
# OpenAI chat parameters hf_frame controls itself: passing them would break the one-reply-per-row contract.
_RESERVED = {"messages": "the messages are built from prompt= and system=",
             "model": "pass model= (it is a named argument)",
             "schema": "pass the schema as json_schema="}
_SCHEMA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

def _wire_model(model: str | None, settings: dict) -> tuple[str, dict]:
    """The ``model`` field of the body: a router model id (with a ``:provider`` suffix when a
    provider other than the default is set), or the served name on a self-hosted endpoint."""
    resolved = resolve_settings(**settings)
    if backend_for(resolved).unsupported("chat-completion"):
        raise ValueError(
            "chat: provider='local' has no chat backend; run an OpenAI-compatible server "
            "(llama.cpp, vLLM, TGI) and pass endpoint='http://localhost:8080'"
        )
    if resolved.endpoint:
        return model or "tgi", resolved  # TGI and llama.cpp ignore it; vLLM needs the served name
    model = model or ChatCompletion.default_model
    if ":" not in model and resolved.provider != "auto":
        model = f"{model}:{resolved.provider}"
    return model, resolved


def _image_inputs(images: Any) -> list[Input]:
    """One input per image column: ``images`` is one column (a name, a Series, an Expr) or a list."""
    if images is None:
        return []
    if isinstance(images, (list, tuple)):
        if not images:
            raise ValueError("chat: images is an empty list; pass an image column, a list of them, or None")
        return [Input(f"images[{i}]", column) for i, column in enumerate(images)]
    return [Input("images", images)]


def _schema_name(schema: Any) -> str:
    name = getattr(schema, "__name__", None) if isinstance(schema, type) else None
    return name if isinstance(name, str) and _SCHEMA_NAME.match(name) else "output"


def chat(prompt: Any, system: str | None = None, *, images: Any = None, model: str | None = None,
         json_schema: Any = None, response_format: str | dict = "auto", details: bool = False,
         schema_retries: int = 1, parameters: dict | None = None, prefix: str | None = None,
         **sampling: Any) -> Job:
    """Chat completion per row. Outputs ``reply``, or one typed column per ``json_schema`` field.

    ``prompt``: a column name, or a template such as ``"Rate this review of {product}: {review}"``
    filled from the row's columns (``{{``/``}}`` for literal braces; a row with a missing value
    gets null outputs and sends nothing). ``system``: an optional system message for every row.

    ``images``: an image column, or a list of them, for a vision-language model: each row's
    images go in its user message after the prompt (as ``data:`` URIs; an http(s) URL as
    itself). Cells are what the vision methods take (paths, URLs, bytes, PIL images, files); a
    missing image gives null outputs, an unreadable one a row error. With images the prompt may
    also be literal text asked of every row: ``df.hf.chat("Describe the photo.", images="photo")``.

    ``json_schema``: a JSON Schema dict, a pydantic model class, or ``{"field": type}``; the reply
    must be a JSON object matching it and is exploded into typed columns. A reply that is not
    JSON or does not match is asked again ``schema_retries`` times, then becomes a row error.

    ``response_format``: how the schema is sent. ``"openai"``: ``{"type": "json_schema", ...}``;
    ``"tgi"``: ``{"type": "json_object", "value": schema}``; ``"auto"`` (default): openai on the
    router, tgi on an ``endpoint=`` (as huggingface_hub does); a dict is sent verbatim.

    ``details=True`` adds ``finish_reason``, ``prompt_tokens`` and ``completion_tokens``. Other
    keywords are sampling parameters sent in the body (``max_tokens``, ``temperature``, ``seed``,
    ``top_p``, ``stop``...) or settings (``endpoint``, ``provider``, ``max_concurrency``...).
    """
    settings, extra = split_kwargs(sampling, api=("max_tokens",))
    wire = {**extra, **(parameters or {})}
    for name, why in _RESERVED.items():
        if name in wire:
            raise TypeError(f"chat: unexpected parameter {name!r}: {why}")
    if wire.get("stream"):
        raise ValueError("chat: stream=True is not supported; every row gets its whole reply")
    if wire.get("n") not in (None, 1):
        raise ValueError(f"chat: n={wire['n']!r} is not supported; one reply per row (n=1)")
    if not isinstance(schema_retries, int) or isinstance(schema_retries, bool) or schema_retries < 0:
        raise ValueError(f"chat: schema_retries must be an integer >= 0, got {schema_retries!r}")
    if system is not None and not isinstance(system, str):
        raise TypeError(f"chat: system must be a string or None, got {type(system).__name__}")
    if not (isinstance(response_format, dict) or response_format in RESPONSE_FORMATS):
        raise ValueError(f"chat: response_format must be one of {RESPONSE_FORMATS} or a dict, got {response_format!r}")

    image_inputs = _image_inputs(images)
    template, inputs = prompt_inputs(prompt, literal_ok=bool(image_inputs))
    if template is not None:
        prefix = prefix or "chat"

    model, resolved = _wire_model(model, settings)
    schema = None
    if json_schema is not None:
        schema = normalize_schema(json_schema)
        names = arrow_type(schema).names
        clash = sorted(set(names) & ({"error"} | ({f.name for f in DETAIL_FIELDS} if details else set())))
        if clash:
            raise ValueError(f"chat: schema field(s) {clash} clash with output columns hf_frame adds; rename them")
        if isinstance(response_format, dict):
            wire["response_format"] = response_format
        else:
            flavor = response_format if response_format != "auto" else ("tgi" if resolved.endpoint else "openai")
            wire["response_format"] = _response_format(schema, name=_schema_name(json_schema), flavor=flavor)
    elif isinstance(response_format, dict):
        wire["response_format"] = response_format

    task = "image-text-to-text" if image_inputs else "chat-completion"
    job = make_job("chat", task, inputs + image_inputs, model=model, parameters=None, wire=wire,
                   options={"schema": schema} if schema is not None else {}, prefix=prefix, settings=settings)
    accept = acceptance_schema(json_schema) if json_schema is not None else None
    view = {"template": template, "system": system or None, "details": details, "schema_retries": schema_retries,
            "accept": accept}
    job.calls = [dataclasses.replace(job.calls[0], view=view)]
    job.output_type()  # fail now, not after the requests, if the schema has no Arrow type
    return job

