"""Undo the usual obfuscations before matching: every function returns readable variants of a text.

Invisible characters, homoglyphs, full-width letters, leetspeak, spaced/dotted/hyphenated
letters, typos and chat slang, reversed text, Pig Latin, ROT13/Caesar, and base64, hex,
percent-encoded, binary and Morse segments. A detector matches its patterns on all variants.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote

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

MORSE = {
    ".-": "a", "-...": "b", "-.-.": "c", "-..": "d", ".": "e", "..-.": "f", "--.": "g",
    "....": "h", "..": "i", ".---": "j", "-.-": "k", ".-..": "l", "--": "m", "-.": "n",
    "---": "o", ".--.": "p", "--.-": "q", ".-.": "r", "...": "s", "-": "t", "..-": "u",
    "...-": "v", ".--": "w", "-..-": "x", "-.--": "y", "--..": "z", "-----": "0",
    ".----": "1", "..---": "2", "...--": "3", "....-": "4", ".....": "5", "-....": "6",
    "--...": "7", "---..": "8", "----.": "9",
}

_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/=_-])")
_HEX = re.compile(r"(?:\\x|0x)?(?:[0-9a-fA-F]{2}(?:\\x|[\s:,]|0x)?){8,}")
_PERCENT = re.compile(r"(?:%[0-9A-Fa-f]{2}){3,}")
_BINARY = re.compile(r"(?:[01]{8}[\s,]*){4,}")
_MORSE = re.compile(r"(?<![\w.-])[.\-]{1,6}(?:[ \t]+(?:/[ \t]+)?[.\-]{1,6}){3,}")
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


def fuzzy_words(text: str) -> str:
    """Slang expanded and near-misses of attack keywords corrected ('igonre', 'instrucshuns')."""
    out = []
    for token in words(text).split():
        token = SLANG.get(token, token)
        if 5 <= len(token) <= 14 and token not in KEYWORDS:
            cutoff = 0.75 if len(token) >= 7 else 0.8
            close = difflib.get_close_matches(token, KEYWORDS, n=1, cutoff=cutoff)
            if close:
                token = close[0]
        out.append(token)
    return " ".join(out)


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


def _printable(s: str, min_ratio: float = 0.9) -> bool:
    if len(s) < 4:
        return False
    good = sum(ch.isprintable() or ch in "\n\t" for ch in s)
    return good / len(s) >= min_ratio and bool(re.search(r"[A-Za-z]{2,}", s))


def _utf8(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if _printable(text) else None


def decode_base64(text: str) -> list[str]:
    out = []
    for m in _BASE64.finditer(text):
        token = m.group()
        if not (re.search(r"[A-Z]", token) and re.search(r"[a-z]", token)) and "=" not in token:
            continue  # a plain word or number, not base64
        padded = token + "=" * (-len(token) % 4)
        for decoder in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                decoded = _utf8(decoder(padded))
            except (binascii.Error, ValueError):
                continue
            if decoded and " " in decoded:
                out.append(decoded)
                break
    return out


def decode_hex(text: str) -> list[str]:
    out = []
    for m in _HEX.finditer(text):
        digits = re.sub(r"\\x|0x|[\s:,]", "", m.group())
        if len(digits) % 2:
            digits = digits[:-1]
        try:
            decoded = _utf8(bytes.fromhex(digits))
        except ValueError:
            continue
        if decoded:
            out.append(decoded)
    return out


def decode_percent(text: str) -> list[str]:
    if not _PERCENT.search(text):
        return []
    decoded = unquote(text)
    return [decoded] if decoded != text else []


def decode_binary(text: str) -> list[str]:
    out = []
    for m in _BINARY.finditer(text):
        groups = re.findall(r"[01]{8}", m.group())
        decoded = _utf8(bytes(int(g, 2) for g in groups))
        if decoded:
            out.append(decoded)
    return out


def decode_morse(text: str) -> list[str]:
    out = []
    for m in _MORSE.finditer(text):
        letters = []
        for token in re.split(r"[ \t]+", m.group().strip()):
            letters.append(" " if token == "/" else MORSE.get(token, ""))
        decoded = re.sub(r" +", " ", "".join(letters)).strip()
        if len(decoded) >= 4:
            out.append(decoded)
    return out


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

DECODERS = (
    ("base64", decode_base64),
    ("hex", decode_hex),
    ("percent", decode_percent),
    ("binary", decode_binary),
    ("morse", decode_morse),
)


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
    """Encodings undone (base64 of ROT13 included, up to `depth` layers)."""
    folded = fold(text)
    out = [Variant("rot13", codecs.encode(folded, "rot13")), Variant("reversed", folded[::-1])]
    if _CIPHER_CUE.search(folded):
        out += [Variant(f"caesar{s}", caesar(folded, s)) for s in range(1, 26) if s != 13]
    out += [Variant("pig_latin", reading) for reading in pig_latin_decode(folded)]
    if depth > 0:
        for method, decoder in DECODERS:
            for decoded in decoder(folded):
                out.append(Variant(method, decoded))
                for inner in decoded_variants(decoded, depth - 1):
                    out.append(Variant(f"{method}+{inner.method}", inner.text))
    return out
