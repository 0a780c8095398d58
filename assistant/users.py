"""Login names and password hashes (home/users.json), for the app's optional logins.

Passwords are kept only as salted PBKDF2-SHA256 hashes; `assistant users add NAME` writes
them. A reverse proxy that authenticates people itself can be trusted instead
(ASSISTANT_LOGIN=header:X-Forwarded-User); then this file is not used.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from pathlib import Path

ITERATIONS = 200_000
VALID_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def _hash(password: str, salt: bytes) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITERATIONS).hex()


class UserStore:
    def __init__(self, path: Path):
        self.path = Path(path)

    def _read(self) -> dict:
        return json.loads(self.path.read_text()) if self.path.is_file() else {}

    def names(self) -> list[str]:
        return sorted(self._read())

    def add(self, name: str, password: str) -> None:
        if not VALID_NAME.match(name):
            raise ValueError("a login name is 1-64 letters, digits or _ . @ -")
        if len(password) < 8:
            raise ValueError("a password needs at least 8 characters")
        users = self._read()
        salt = os.urandom(16)
        users[name] = {"salt": salt.hex(), "hash": _hash(password, salt)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(users, indent=2))
        temporary.chmod(0o600)
        temporary.replace(self.path)  # never a half-written file

    def check(self, name: str, password: str) -> bool:
        entry = self._read().get(name)
        if entry is None:
            return False
        expected = entry["hash"]
        return hmac.compare_digest(expected, _hash(password, bytes.fromhex(entry["salt"])))
