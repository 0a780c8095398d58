"""Who is asking, and how often: the login of a request, and a per-user rate limit.

Settings.login picks the mode: None (one person on their own machine: no login, everyone is
the same user), "password" (Gradio's login page, checked against home/users.json), or
"header:NAME" (a reverse proxy in front authenticates people and passes the name in a header;
the app must then only be reachable through that proxy). With logins, each user sees and
rates only their own conversations.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from assistant.config import Settings
from assistant.users import UserStore


class LoginRequired(PermissionError):
    """The app runs with logins, and this request carries none."""


def parse_rate_limit(text: str) -> tuple[int, float]:
    """"20/60" -> (20 questions, per 60 seconds)."""
    count, _, seconds = text.partition("/")
    try:
        limit = (int(count), float(seconds or 60))
    except ValueError:
        raise ValueError(f"rate limit {text!r} is not COUNT/SECONDS, e.g. 20/60") from None
    if limit[0] < 1 or limit[1] <= 0:
        raise ValueError(f"rate limit {text!r} must allow at least 1 question per period")
    return limit


class RateLimiter:
    """At most `count` questions per `seconds` per key (sliding window)."""

    def __init__(self, count: int, seconds: float, clock=time.monotonic):
        self.count, self.seconds, self.clock = count, seconds, clock
        self._asked: dict[str, deque] = {}
        self._lock = threading.Lock()

    def wait_needed(self, key: str) -> float:
        """0 and the question counted, or the seconds to wait before the next one."""
        now = self.clock()
        with self._lock:
            asked = self._asked.setdefault(key, deque())
            while asked and now - asked[0] >= self.seconds:
                asked.popleft()
            if len(asked) >= self.count:
                return self.seconds - (now - asked[0])
            asked.append(now)
            return 0.0


class Access:
    def __init__(self, settings: Settings):
        self.mode = settings.login
        if self.mode not in (None, "password") and not str(self.mode).startswith("header:"):
            raise ValueError(f"ASSISTANT_LOGIN={self.mode!r}: use 'password' or 'header:NAME'")
        self.users = UserStore(settings.users_path)
        self.limiter = RateLimiter(*parse_rate_limit(settings.rate_limit))

    def gradio_auth(self):
        """The `auth` argument for Gradio's launch(): a login check, or None (no login)."""
        return self.users.check if self.mode == "password" else None

    def user(self, request) -> str | None:
        """The login name of a request; None when the app runs without logins."""
        if self.mode is None:
            return None
        if self.mode == "password":
            name = getattr(request, "username", None)
        else:
            headers = getattr(request, "headers", None) or {}
            name = headers.get(self.mode.split(":", 1)[1].lower())
        if not name:
            raise LoginRequired("Please log in: this assistant keeps each person's "
                                "conversations separate.")
        return name

    def rate_key(self, request) -> str:
        """Per user with logins, else per browser session."""
        return self.user(request) or getattr(request, "session_hash", None) or "local"
