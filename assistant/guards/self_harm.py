"""Messages from someone who may be thinking of harming themselves.

Such a message must not get the generic "nothing reliable in my sources" (what an off-topic
question gets) nor the "harmful request" box (which reads as a reprimand): it gets a caring
answer that points to people who can help, and nothing from the model. The check looks for a
first-person intent or a request for a method; a question about the topic ("how should an
assistant respond when a user mentions suicide?") is not matched and is answered as usual.
"""

from __future__ import annotations

import re

_SELF = r"(?:myself|my\s*self|my\s+(?:own\s+)?life)"
_PATTERNS = (
    # first-person intent: "I want to die", "I'm going to kill myself", "end my life"
    r"\b(?:kill|killing|hurt|hurting|harm|harming|cut|cutting|hang|hanging|poison|poisoning|"
    rf"starve|starving|shoot|shooting|drown|drowning)\s+{_SELF}",
    rf"\b(?:end|take|ending|taking)\s+{_SELF}",
    r"\bi\s*(?:'m|am|feel)?\s*(?:want|wanna|going|plan(?:ning)?|ready)\s+(?:to\s+)?die\b",
    r"\b(?:i\s+(?:don'?t|do\s+not)\s+want\s+to\s+(?:live|be\s+alive|wake\s+up))\b",
    r"\bi(?:'m|\s+am|\s+feel)\s+suicidal\b",
    r"\bself[-\s]?harm(?:ing)?\s+(?:method|way|technique|tip)s?\b",
    # a request for a method: "methods for committing suicide", "how to overdose"
    r"\b(?:method|way|means|technique|instruction|step)s?\b[^.?!]{0,40}\b"
    r"(?:suicide|kill(?:ing)?\s+(?:myself|yourself|oneself))",
    r"\bhow\s+(?:to|do\s+i|can\s+i|could\s+i)\s+(?:commit\s+suicide|kill\s+(?:myself|oneself)|"
    r"overdose|die\s+(?:painlessly|quickly|without\s+pain))\b",
    r"\b(?:painless|quick|easiest|best|effective)\w*\s+(?:way|method)s?\s+to\s+die\b",
)
_SELF_HARM = re.compile("|".join(_PATTERNS), re.IGNORECASE)


def mentions_self_harm(text: str) -> bool:
    """Whether the message states an intent to harm oneself or asks for a way to do it."""
    return bool(_SELF_HARM.search(" ".join(text.split())))
