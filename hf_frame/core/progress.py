"""A tqdm bar over rows that shows how many came from the cache and how many were sent."""

from __future__ import annotations

import os

from ..tasks.base import Call

# Either of these, set to 1/true/yes/on, turns every bar off (huggingface_hub's and tqdm's own switches).
DISABLE_VARIABLES = ("HF_HUB_DISABLE_PROGRESS_BARS", "TQDM_DISABLE")


def bars_disabled() -> bool:
    """True when the environment turns progress bars off (``HF_HUB_DISABLE_PROGRESS_BARS``, ``TQDM_DISABLE``)."""
    return any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on") for name in DISABLE_VARIABLES)


class Progress:
    """Counts rows (not requests): duplicates and cached rows advance the bar too."""

    def __init__(self, call: Call, *, total: int, cached: int) -> None:
        self.cached, self.sent, self.failed = cached, 0, 0
        self.bar = None
        if call.settings.progress and total and cached < total and not bars_disabled():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=f"hf {call.task.method}", unit="row", leave=True, dynamic_ncols=True)
            self.bar.update(cached)
            self._postfix()

    def advance(self, rows: int, *, sent: bool, failed: bool = False) -> None:
        self.sent += rows if sent else 0
        self.failed += rows if failed else 0
        if self.bar is not None:
            self.bar.update(rows)
            self._postfix()

    def _postfix(self) -> None:
        parts = {"cached": self.cached, "sent": self.sent}
        if self.failed:
            parts["failed"] = self.failed
        self.bar.set_postfix(parts, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
