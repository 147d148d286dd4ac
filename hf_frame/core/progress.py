"""A tqdm bar over rows: how many came from the cache, how many were answered by a request, how
many HTTP requests that took (retries included) and how many failed."""

from __future__ import annotations

import os
from typing import Any

from ..tasks.base import Call

# Either of these, set to 1/true/yes/on, turns every bar off (huggingface_hub's and tqdm's own switches).
DISABLE_VARIABLES = ("HF_HUB_DISABLE_PROGRESS_BARS", "TQDM_DISABLE")


def bars_disabled() -> bool:
    """True when the environment turns progress bars off (``HF_HUB_DISABLE_PROGRESS_BARS``, ``TQDM_DISABLE``)."""
    return any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on") for name in DISABLE_VARIABLES)


class Progress:
    """Counts rows (not requests): duplicates and cached rows advance the bar too."""

    def __init__(self, call: Call, *, total: int, cached: int, meter: Any = None) -> None:
        self.cached, self.sent, self.failed = cached, 0, 0
        self.meter = meter  # counts the HTTP attempts (or local computations) of the call
        self.bar = None
        if call.settings.progress and total and cached < total and not bars_disabled():
            from tqdm.auto import tqdm

            # The method the user called (search, not the embed task it runs on).
            label = call.view.get("method") or call.task.method
            self.label = f"hf {label}"
            self.bar = tqdm(total=total, desc=self.label, unit="row", leave=True, dynamic_ncols=True)
            self.bar.update(cached)
            self._postfix()
            if meter is not None:
                meter.on_status = self.status

    def status(self, text: str | None) -> None:
        """Show what the call waits for beside its name ("hf classify (loading <model>)"); None: clear it."""
        if self.bar is not None:
            self.bar.set_description(self.label if text is None else f"{self.label} ({text})")

    def advance(self, rows: int, *, sent: bool, failed: bool = False) -> None:
        self.sent += rows if sent else 0
        self.failed += rows if failed else 0
        if self.bar is not None:
            self.bar.update(rows)
            self._postfix()

    def _postfix(self) -> None:
        parts = {"cached": self.cached, "sent": self.sent}
        if self.meter is not None:
            parts["requests"] = self.meter.requests
        if self.failed:
            parts["failed"] = self.failed
        self.bar.set_postfix(parts, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
