"""Adapters in $ASSISTANT_HOME/adapters: which one is live, promotion history, rollback.

`LIVE` holds the live adapter's name ("none" for the base model); `history.jsonl` records
every switch, so rolling back is one command. The adapter shipped with the project is copied
in and made live on first start, unless the user already chose one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"
BASE_MODEL = "none"


def adapter_names(adapters_dir: Path) -> list[str]:
    if not adapters_dir.is_dir():
        return []
    return sorted(p.name for p in adapters_dir.iterdir()
                  if (p / "adapter_config.json").is_file())


def live_adapter(adapters_dir: Path) -> str | None:
    """The live adapter's name, or None for the base model."""
    marker = adapters_dir / "LIVE"
    if not marker.is_file():
        return None
    name = marker.read_text().strip()
    return None if name in ("", BASE_MODEL) else name


def set_live(adapters_dir: Path, name: str | None, note: str = "") -> None:
    name = name or BASE_MODEL
    if name != BASE_MODEL and name not in adapter_names(adapters_dir):
        raise ValueError(f"no adapter named {name!r} in {adapters_dir}")
    adapters_dir.mkdir(parents=True, exist_ok=True)
    previous = live_adapter(adapters_dir) or BASE_MODEL
    tmp = adapters_dir / "LIVE.tmp"
    tmp.write_text(name + "\n")
    tmp.replace(adapters_dir / "LIVE")  # atomic: a reader never sees a half-written name
    with open(adapters_dir / "history.jsonl", "a", encoding="utf-8") as out:
        out.write(json.dumps({"datetime_utc": datetime.now(UTC).isoformat(), "from": previous,
                              "to": name, "note": note}) + "\n")


def history(adapters_dir: Path) -> list[dict]:
    path = adapters_dir / "history.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def rollback(adapters_dir: Path) -> str:
    """Make the adapter that was live before the current one live again; returns its name."""
    entries = history(adapters_dir)
    if not entries:
        raise ValueError("no promotion history: nothing to roll back to")
    previous = entries[-1]["from"]
    set_live(adapters_dir, None if previous == BASE_MODEL else previous, note="rollback")
    return previous


def install_shipped(adapters_dir: Path, base_model: str | None = None) -> str | None:
    """Copy shipped adapters in; if the user never chose one, make the newest shipped adapter
    that was trained on `base_model` live (an adapter fits only the base it was trained on)."""
    shipped = sorted(p for p in SHIPPED_DIR.glob("*") if (p / "adapter_config.json").is_file())
    for source in shipped:
        target = adapters_dir / source.name
        if not target.exists():
            adapters_dir.mkdir(parents=True, exist_ok=True)
            shutil.copytree(source, target)
    fitting = [p for p in shipped
               if base_model is None or metadata(p).get("base_model") == base_model]
    if fitting and (not (adapters_dir / "LIVE").exists()
                    or _stale_shipped_default(adapters_dir, base_model)):
        set_live(adapters_dir, fitting[-1].name, note="shipped default")
    return live_adapter(adapters_dir)


def _stale_shipped_default(adapters_dir: Path, base_model: str | None) -> bool:
    """The live adapter was made live by a first start, not chosen, and it does not fit the base
    model in use (the default model changed): the shipped adapter for that base replaces it."""
    live, entries = live_adapter(adapters_dir), history(adapters_dir)
    if live is None or base_model is None or not entries:
        return False
    last = entries[-1]
    return (last.get("note") == "shipped default" and last.get("to") == live
            and metadata(adapters_dir / live).get("base_model") != base_model)


def metadata(adapter_dir: Path) -> dict:
    path = adapter_dir / "adapter_metadata.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def weights_hash(adapter_dir: Path) -> str | None:
    weights = adapter_dir / "adapter_model.safetensors"
    if not weights.is_file():
        return None
    return hashlib.sha256(weights.read_bytes()).hexdigest()[:16]
