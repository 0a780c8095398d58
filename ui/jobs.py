"""Long work started from the page, run off the request path: one job of a kind at a time, in
a thread, with progress the page polls (a gr.Timer), so that chatting never waits for it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class JobStatus:
    running: bool = False
    done: int = 0
    total: int = 0
    result: str | None = None  # what the work returned (e.g. a run id)
    error: str | None = None
    started: float = 0.0
    finished: float = 0.0

    def line(self, what: str) -> str:
        """One sentence about the job, for the page."""
        if self.running:
            counted = f" {self.done}/{self.total}" if self.total else ""
            return f"{what}\u2026{counted} ({time.monotonic() - self.started:.0f} s)"
        if self.error:
            return f"{what} failed: {self.error}"
        if self.result:
            return f"{what}: done in {self.finished - self.started:.1f} s."
        return ""


class BackgroundJob:
    """Runs `work(progress)` in a daemon thread; `progress(done, total)` updates the status."""

    def __init__(self):
        self._lock = threading.Lock()
        self.status = JobStatus()

    def start(self, work: Callable[[Callable[[int, int], None]], str]) -> bool:
        """False when a job is still running (the page says so instead of starting another)."""
        with self._lock:
            if self.status.running:
                return False
            self.status = JobStatus(running=True, started=time.monotonic())
        threading.Thread(target=self._run, args=(work, self.status), daemon=True).start()
        return True

    @staticmethod
    def _run(work, status: JobStatus) -> None:
        def progress(done: int, total: int) -> None:
            status.done, status.total = done, total

        try:
            status.result = work(progress)
        except Exception as err:  # shown on the page; the app keeps serving
            status.error = f"{type(err).__name__}: {err}"
        finally:
            status.finished = time.monotonic()
            status.running = False
