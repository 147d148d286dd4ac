"""Token counts of prompts, before anything is sent: the model's own tokenizer when it is on this
machine, else an estimate of :data:`CHARS_PER_TOKEN` characters per token.

The tokenizer is the model's ``tokenizer.json`` (read with the ``tokenizers`` package, which
``transformers`` brings): in a local model directory, or in the Hugging Face cache
(``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else ``~/.cache/huggingface/hub``) if the model was
downloaded before. Nothing is downloaded. A chat prompt counts the tokens of its messages' texts
plus :data:`MESSAGE_OVERHEAD` per message (the chat template's role markers).
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path
from typing import Any, Sequence

#: Characters per token when the model's tokenizer is not on this machine (English text with
#: BPE tokenizers averages about 4; code, numbers and other scripts take more tokens).
CHARS_PER_TOKEN = 4
#: Tokens a chat template adds per message (role markers, separators).
MESSAGE_OVERHEAD = 4


def _hub_cache() -> Path:
    explicit = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def tokenizer_file(model: str | None) -> Path | None:
    """The ``tokenizer.json`` of ``model`` on this machine (a local directory or the Hub cache), or None."""
    if not model:
        return None
    model = model.split(":")[0]
    local = Path(model).expanduser()
    if local.is_dir():
        found = local / "tokenizer.json"
        return found if found.is_file() else None
    if "/" not in model or model.startswith(("http://", "https://")):
        return None
    repo = _hub_cache() / ("models--" + model.replace("/", "--"))
    ref = repo / "refs" / "main"
    snapshots = [repo / "snapshots" / ref.read_text().strip()] if ref.is_file() else []
    snapshots += sorted((repo / "snapshots").glob("*")) if (repo / "snapshots").is_dir() else []
    return next((s / "tokenizer.json" for s in snapshots if (s / "tokenizer.json").is_file()), None)


@functools.lru_cache(maxsize=16)
def _load(path: str, mtime: float) -> Any:
    try:
        from tokenizers import Tokenizer
    except ImportError:
        return None
    try:
        return Tokenizer.from_file(path)
    except Exception:  # a file another version wrote, or a broken download: estimate instead
        return None


def tokenizer(model: str | None) -> Any:
    """The model's ``tokenizers.Tokenizer`` if it is on this machine, else None."""
    path = tokenizer_file(model)
    return None if path is None else _load(str(path), path.stat().st_mtime)


def count(texts: Sequence[str], model: str | None) -> tuple[list[int], str]:
    """Tokens of each text, and how they were counted: ``"tokenizer"`` or ``"estimate"``.

    >>> count(["twelve chars"], None)
    ([3], 'estimate')
    """
    tok = tokenizer(model)
    if tok is not None and texts:
        return [len(e.ids) for e in tok.encode_batch(list(texts), add_special_tokens=False)], "tokenizer"
    return [math.ceil(len(t) / CHARS_PER_TOKEN) for t in texts], "estimate"


def message_texts(messages: Any) -> list[str]:
    """The texts of chat messages (string contents, or the text parts of a list content)."""
    out = []
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        out.append(content if isinstance(content, str) else "")
    return out


def prompt_tokens(items: Sequence[Any], model: str | None) -> tuple[list[int], str]:
    """Input tokens of each item: a chat message list (plus :data:`MESSAGE_OVERHEAD` per message) or a text."""
    flat: list[str] = []
    spans: list[tuple[int, int]] = []
    for item in items:
        texts = message_texts(item) if isinstance(item, list) else [item if isinstance(item, str) else str(item)]
        spans.append((len(flat), len(texts)))
        flat.extend(texts)
    counts, how = count(flat, model)
    out = []
    for (start, n), item in zip(spans, items):
        extra = MESSAGE_OVERHEAD * n if isinstance(item, list) else 0
        out.append(sum(counts[start : start + n]) + extra)
    return out, how
