"""A tqdm bar over rows that shows how many came from the cache and how many were sent."""

from __future__ import annotations

from ..tasks.base import Call


class Progress:
    """Counts rows (not requests): duplicates and cached rows advance the bar too."""

    def __init__(self, call: Call, *, total: int, cached: int) -> None:
        self.cached, self.sent, self.failed = cached, 0, 0
        self.bar = None
        if call.settings.progress and total and cached < total:
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
