"""Printing: aligned text tables and the one-line run summary."""

from __future__ import annotations

import json
import math
import shutil
from typing import Any

from .files import _plain


def _width() -> int:
    return max(60, min(shutil.get_terminal_size((120, 24)).columns, 200))


def _short(value: Any, width: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        text = f"{value:.4f}"
    elif isinstance(value, str):
        text = value
    else:
        plain = _plain(value)
        if plain is None:
            return ""
        if isinstance(plain, list) and len(plain) > 8 and all(isinstance(x, (int, float)) for x in plain):
            text = "[" + ", ".join(f"{x:.3f}" for x in plain[:4]) + f", ... ] ({len(plain)})"
        else:
            text = json.dumps(plain, ensure_ascii=False) if not isinstance(plain, str) else plain
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


def format_table(rows: list[list[Any]], headers: list[str], widths: list[int] | None = None,
                 indent: str = "  ") -> str:
    """A plain aligned text table; the last column takes the remaining terminal width."""
    total = _width() - len(indent)
    cells = [[_short(v, 10_000) for v in row] for row in rows]
    natural = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    if widths is None:
        widths = [min(w, 40) for w in natural]
        used = sum(widths[:-1]) + 2 * (len(widths) - 1)
        widths[-1] = max(12, min(natural[-1], total - used))
    lines = [indent + "  ".join(h.ljust(w)[:w] for h, w in zip(headers, widths)).rstrip()]
    lines.append(indent + "  ".join("-" * w for w in widths))
    for row in rows:
        shown = [_short(v, w) for v, w in zip(row, widths)]
        lines.append(indent + "  ".join(s.ljust(w) for s, w in zip(shown, widths)).rstrip())
    return "\n".join(lines)


def _summary(method: str, n_rows: int, seconds: float, local: bool) -> str:
    """``classify: 7 rows (6 with input, 5 unique): 2 cached, 3 requests, 0 failed in 0.4 s``."""
    from ..methods import last_run

    run = last_run()
    unit = "batches" if local else "requests"
    inner = [f"{run.get('rows', 0)} with input"]
    if "unique" in run:
        inner.append(f"{run['unique']} unique")
    return (f"{method}: {n_rows} rows ({', '.join(inner)}): {run.get('cached', 0)} cached, "
            f"{run.get('requests', 0)} {unit}, {run.get('failed', 0)} failed in {seconds:.1f} s")
