"""Make HTML and JavaScript in an answer inert before it is rendered.

- every `<` that opens a tag, comment or declaration is escaped, so no element survives
  (`<script>` shows as text; `&lt;` written by the model stays text too);
- markdown links whose target is not http(s)/mailto/relative (javascript:, vbscript:,
  data:, file:, also when hidden with entities, percent-encoding or whitespace) keep
  their text and lose the link;
- markdown images are replaced by their alt text: an image URL can carry data out of the
  page (tracking pixel) or break out of its attribute.
Links to outside URLs are links.py's job (it runs first); this is about what would execute.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from assistant.guards.links import markdown_links

# What an HTML parser would open as markup: "<x", "</x", "<!", "<?" (not "a < b").
TAG_LIKE = re.compile(r"<(?:/?[A-Za-z]|[!?])")
SAFE_SCHEMES = ("http:", "https:", "mailto:")
_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]+")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):")
_REFERENCE_DEF = re.compile(r"(?im)^[ \t]{0,3}\[[^\]\n]+\]:[ \t]*<?(\S+?)>?(?:[ \t]+.*)?$")


@dataclass
class InertResult:
    text: str
    escaped_tags: int = 0
    unsafe_links: int = 0
    images: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.escaped_tags or self.unsafe_links or self.images)

    def summary(self) -> str:
        """What was made inert, for the log ("2 HTML tag(s) escaped; 1 image(s) removed")."""
        parts = []
        if self.escaped_tags:
            parts.append(f"{self.escaped_tags} HTML tag(s) escaped")
        if self.unsafe_links:
            parts.append(f"{self.unsafe_links} unsafe link(s) removed")
        if self.images:
            parts.append(f"{self.images} image(s) removed")
        return "; ".join(parts)


def link_is_safe(target: str) -> bool:
    """True for http(s)/mailto and scheme-less (relative, #anchor) targets."""
    decoded = target
    for _ in range(3):  # entities and percent-encoding may be nested
        decoded = unquote(html.unescape(decoded))
    decoded = _CONTROL.sub("", decoded).lower().strip("<>\"' ")
    m = _SCHEME.match(decoded)
    if not m:
        return ":" not in decoded.split("/")[0]  # "javascript&colon;..." etc. end up here
    return decoded.startswith(SAFE_SCHEMES)


def make_inert(text: str) -> InertResult:
    result = InertResult(text)
    out, cursor = [], 0
    for start, end, is_image, label, target in markdown_links(text):
        if is_image:
            out.append(text[cursor:start])
            alt = label.strip() or "image"
            out.append(f"{alt} (image removed)")
            result.images += 1
        elif not link_is_safe(target):
            out.append(text[cursor:start])
            out.append(label)
            result.unsafe_links += 1
        else:
            continue
        cursor = end
    out.append(text[cursor:])
    cleaned = "".join(out)

    def drop_unsafe_definition(m: re.Match) -> str:
        if link_is_safe(m.group(1)):
            return m.group(0)
        result.unsafe_links += 1
        return ""

    cleaned = _REFERENCE_DEF.sub(drop_unsafe_definition, cleaned)

    tags = len(TAG_LIKE.findall(cleaned))
    if tags:
        cleaned = cleaned.replace("<", "&lt;").replace(">", "&gt;")
        result.escaped_tags = tags
    result.text = cleaned
    return result
