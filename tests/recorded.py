"""Access to the real recorded HF traffic in ../shared/hf-recorded (read at test time, never copied).

Tests that use it are skipped when the folder is absent (set HF_RECORDED_DIR to point elsewhere).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest


def _find_recorded_dir() -> Path:
    """$HF_RECORDED_DIR, else ``shared/hf-recorded`` beside the checkout, else the workplace's copy."""
    candidates = [Path(__file__).resolve().parents[2] / "shared" / "hf-recorded", Path("/work/shared/hf-recorded")]
    if os.environ.get("HF_RECORDED_DIR"):
        return Path(os.environ["HF_RECORDED_DIR"])
    return next((c for c in candidates if c.is_dir()), candidates[0])


RECORDED_DIR = _find_recorded_dir()


def interactions(name: str) -> list[dict]:
    """The request/response pairs of one recording, or skip the test when it is not available."""
    path = RECORDED_DIR / f"{name}.json"
    if not path.exists():
        pytest.skip(f"recorded traffic not available at {path}")
    return json.loads(path.read_text())["interactions"]


def body(part: dict) -> Any:
    """A recorded request/response body: decoded JSON when it is JSON text, else text or bytes."""
    raw = part.get("body") or {}
    if "base64" in raw:
        return base64.b64decode(raw["base64"])
    text = raw.get("text")
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
