"""Undo the usual obfuscations before matching: every function returns readable variants of a text.

Invisible characters, homoglyphs, full-width letters, leetspeak, spaced/dotted/hyphenated
letters, typos and chat slang, reversed text, Pig Latin, ROT13/Caesar/Atbash, and the byte
encodings, symbol alphabets and invisible carriers of decoders.py. A detector matches its
patterns on all variants.
"""

from __future__ import annotations

import codecs
import difflib
import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.guards.decoders import DECODERS, RAW_DECODERS, atbash

# Zero-width, joiners, bidi controls, soft hyphen, word joiner, BOM, variation selectors, tags.
INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f]"
)

# Letters from other scripts that look like Latin ones (after NFKC).
HOMOGLYPHS = str.maketrans({
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M",
    "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "І": "I",
    "Ј": "J",
    # Greek
    "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    # Latin look-alikes and symbols
    "ı": "i", "ɡ": "g", "ℓ": "l", "ꞵ": "b", "ʀ": "r", "ᴀ": "a", "ᴇ": "e", "ɪ": "i", "ᴏ": "o",
})

LEET = str.maketrans({
    "0": "o", "1": "i", "2": "z", "3": "e", "4": "a", "5": "s", "6": "g", "7": "t", "8": "b",
    "9": "g", "@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e",
})

# Chat slang and common short forms, word for word.
SLANG = {
    "u": "you", "ur": "your", "r": "are", "pls": "please", "plz": "please", "msg": "message",
    "msgs": "messages", "prev": "previous", "instr": "instructions", "sys": "system",
    "thx": "thanks", "config": "configuration", "cfg": "configuration", "rn": "right now",
    "w/o": "without", "b4": "before", "ya": "you", "yr": "your", "da": "the", "teh": "the",
}

# Words that attacks need; typos of them are corrected in the "fuzzy" variant.
KEYWORDS = (
    "ignore", "disregard", "forget", "previous", "prior", "instructions", "instruction",
    "rules", "guidelines", "directives", "system", "prompt", "reveal", "secret", "hidden",
    "restrictions", "guardrails", "filters", "policy", "configuration", "unrestricted",
    "unfiltered", "pretend", "developer", "override", "bypass", "print", "above", "everything",
    "confidential", "initial", "original", "verbatim", "citations", "sources", "handbook",
)

_SPACED = re.compile(r"(?<!\w)\w([ .\-_*·•/])\w(?:\1\w)+(?!\w)")
_QUOTED = re.compile(
    r"(?<!\w)'([^'\n]{2,300}?)'(?!\w)|\"([^\"\n]{2,300}?)\"|“([^”\n]{2,300}?)”|‘([^’\n]{2,300}?)’"
    r"|`([^`\n]{2,300}?)`"
)


@dataclass(frozen=True)
class Variant:
    method: str  # how it was obtained: "text", "leetspeak", "base64", "rot13", ...
    text: str


def strip_invisible(text: str) -> str:
    return INVISIBLE.sub("", text)


def fold(text: str) -> str:
    """NFKC (full-width -> ASCII), invisible characters out, homoglyphs to Latin."""
    return unicodedata.normalize("NFKC", strip_invisible(text)).translate(HOMOGLYPHS)


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> str:
    """Lower-case words separated by single spaces (apostrophes kept: "don't")."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^\w\s']|_", " ", text)
    text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def squash(text: str) -> str:
    """Letters only: defeats spaces, dots and hyphens inserted inside words."""
    return re.sub(r"[^a-z]", "", text.lower())


def deleet(text: str) -> str:
    """Digits and symbols standing for letters, inside tokens that contain a letter or are short."""

    def fix(m: re.Match) -> str:
        token = m.group()
        if re.search(r"[a-zA-Z]", token) or len(token) <= 2:
            return token.translate(LEET)
        return token

    return re.sub(r"[\w@$!|+€]+", fix, text)


def collapse_spaced(text: str) -> str:
    """'I G N O R E', 'r.e.v.e.a.l', 'S-y-s-t-e-m' -> words; wide gaps stay word breaks."""

    def join(m: re.Match) -> str:
        return re.sub(r"[ .\-_*·•/]", "", m.group())

    text = re.sub(r"(\S) {2,}(?=\S)", r"\1 | ", text)  # a wide gap is a word break
    text = _SPACED.sub(join, text)
    text = text.replace(" | ", " ")
    # "dis-re-gard", "in-struc-tions": hyphens inside a word
    return re.sub(r"(?<=[A-Za-z])-(?=[A-Za-z])", "", text)


@functools.lru_cache(maxsize=20000)
def _corrected(token: str) -> str:
    token = SLANG.get(token, token)
    if 5 <= len(token) <= 14 and token not in KEYWORDS:
        cutoff = 0.75 if len(token) >= 7 else 0.8
        close = difflib.get_close_matches(token, KEYWORDS, n=1, cutoff=cutoff)
        if close:
            return close[0]
    return token


def fuzzy_words(text: str) -> str:
    """Slang expanded and near-misses of attack keywords corrected ('igonre', 'instrucshuns')."""
    return " ".join(_corrected(token) for token in words(text).split())


def caesar(text: str, shift: int) -> str:
    def rot(ch: str) -> str:
        if "a" <= ch <= "z":
            return chr((ord(ch) - 97 + shift) % 26 + 97)
        if "A" <= ch <= "Z":
            return chr((ord(ch) - 65 + shift) % 26 + 65)
        return ch

    return "".join(rot(ch) for ch in text)


def pig_latin_decode(text: str) -> list[str]:
    """Two readings (the last consonant before "ay" may belong to the word or be moved)."""
    tokens = re.findall(r"[A-Za-z]+|[^A-Za-z]+", text)
    if sum(1 for t in tokens if re.fullmatch(r"[A-Za-z]{3,}ay", t, re.I)) < 3:
        return []

    def decode(word: str, keep_one: bool) -> str:
        low = word.lower()
        if low.endswith("way") and len(low) > 3:
            return low[:-3]
        m = re.fullmatch(r"([a-z]*?[aeiouy])([^aeiouy]+)ay", low)
        if not m:
            return word
        stem, cluster = m.groups()
        if keep_one and len(cluster) > 1:
            stem, cluster = stem + cluster[0], cluster[1:]
        return cluster + stem

    return [
        "".join(decode(t, keep_one) if t.isalpha() else t for t in tokens)
        for keep_one in (False, True)
    ]


# Words right before a quotation that say it is being talked about, not used.
_MENTION_CUE = re.compile(
    r"(?i)(?:for example|for instance|such as|e\.g\.?|i\.e\.?|like|as in|phrases?|sentences?|"
    r"words?|text|strings?|examples?|called|named|instructions?|attacks?|prompts?|message|"
    r"the rot13 of|means?|meaning of|what does|what is|what's)[\s:,(-]*$"
)


def quoted_spans(text: str) -> list[tuple[int, int, str, bool]]:
    """(start, end, inner text, is_mention) for each quotation. A quotation is a mention when
    it is short (at most six words) or introduced as an example ("such as", "the phrase")."""
    spans = []
    for m in _QUOTED.finditer(text):
        inner = next(g for g in m.groups() if g is not None)
        before = text[max(0, m.start() - 40):m.start()]
        mention = len(inner.split()) <= 6 or bool(_MENTION_CUE.search(before))
        spans.append((m.start(), m.end(), inner, mention))
    return spans


def without_quotes(text: str) -> str:
    return _QUOTED.sub(" ", text)


def remove_spans(text: str, spans: Sequence[tuple[int, int]], filler: str = " ") -> str:
    """The text without the spans, each replaced by `filler` (overlaps are cut once)."""
    out, cursor = [], 0
    for start, end in sorted(spans):
        out.append(text[cursor:start])
        out.append(filler)
        cursor = max(cursor, end)
    out.append(text[cursor:])
    return "".join(out)


_CIPHER_CUE = re.compile(r"(?i)caesar|shift(?:ed)? (?:of|by)|cipher|\brot-?\d+\b|decode|decipher")
# Everyday words and the words attacks need: a letter-for-letter cipher (ROT13, Atbash, a
# Caesar shift, reversal) is undone only when its reading has more of these than the text.
COMMON_WORDS = frozenset(
    "the a an and or but if of to in on at for with from by as is are was were be been it this "
    "that these those you your yours i me my we our they them their he she his her not no do "
    "does did have has had can could will would should must may all any every some now then "
    "what which who how why when where tell say give show print write make let please just "
    "only new from above below before after instead must never always".split()
) | frozenset(KEYWORDS)
# At most this many decoded variants of one text (the most readable first).
MAX_DECODED = 8


def common_word_count(text: str, known: frozenset[str] = frozenset()) -> int:
    """How many words of the text are common words (not counting those in `known`)."""
    return sum(1 for w in re.findall(r"[a-z']+", text.lower()) if w in COMMON_WORDS
               and w not in known)


def _readings(folded: str) -> list[Variant]:
    """Letter-for-letter ciphers undone, kept when the reading has at least two common words
    that the text does not have (and the best Caesar shift only, when the text speaks of
    ciphers)."""
    known = frozenset(re.findall(r"[a-z']+", folded.lower()))
    candidates = [Variant("rot13", codecs.encode(folded, "rot13")),
                  Variant("reversed", folded[::-1]),
                  Variant("atbash", atbash(folded))]
    candidates += [Variant("reversed_words", " ".join(w[::-1] for w in folded.split()))]
    if _CIPHER_CUE.search(folded):
        shifts = [Variant(f"caesar{s}", caesar(folded, s)) for s in range(1, 26) if s != 13]
        candidates.append(max(shifts, key=lambda v: common_word_count(v.text, known)))
    out = [v for v in candidates if common_word_count(v.text, known) >= 2]
    out += [Variant("pig_latin", reading) for reading in pig_latin_decode(folded)]
    return out


def surface_variants(text: str) -> list[Variant]:
    """Variants that change spelling but not encoding."""
    folded = fold(text)
    out = [Variant("text", folded)]
    accentless = strip_accents(folded)
    if accentless != folded:
        out.append(Variant("accents", accentless))
    collapsed = collapse_spaced(folded)
    if collapsed != folded:
        out.append(Variant("spaced_letters", collapsed))
    leet = deleet(collapsed)
    if leet != collapsed:
        out.append(Variant("leetspeak", leet))
    fuzzy = fuzzy_words(leet)
    if fuzzy != words(leet):
        out.append(Variant("typos", fuzzy))
    return out


def decoded_variants(text: str, depth: int = 2) -> list[Variant]:
    """Encodings undone (base64 of ROT13 included, up to `depth` layers), at most MAX_DECODED,
    the most readable first. Invisible carriers (tag characters, variation selectors, bits as
    zero-width characters) are read from the text as written, the rest from the folded text."""
    folded = fold(text)
    out = _readings(folded)
    found = [(m, d) for m, decoder in RAW_DECODERS for d in decoder(text)]
    if depth > 0:
        found += [(m, d) for m, decoder in DECODERS for d in decoder(folded)]
    for method, decoded in found:
        out.append(Variant(method, decoded))
        if depth > 0:
            for inner in decoded_variants(decoded, depth - 1):
                out.append(Variant(f"{method}+{inner.method}", inner.text))
    if len(out) > MAX_DECODED:
        out = sorted(out, key=lambda v: -common_word_count(v.text))[:MAX_DECODED]
    return out
