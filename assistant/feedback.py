"""Recording a rating: stored in the log; a thumbs-down also evicts the answer from the cache."""

from __future__ import annotations

from assistant.log import ConversationLog


def record_feedback(log: ConversationLog, cache, turn_id: str, rating: str,
                    reason: str | None = None, correction: str | None = None,
                    user: str | None = None) -> None:
    log.record_feedback(turn_id, rating, reason, correction, user=user)
    if rating != "down" or cache is None:
        return
    cache.evict(turn_id)
    row = log.turn(turn_id)
    if row and row.get("cached_from_turn_id"):  # it was served from another turn's entry
        cache.evict(row["cached_from_turn_id"])
