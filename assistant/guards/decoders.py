"""Decoders for encoded payloads: each takes a text and returns the readable texts hidden in it.

Byte encodings (base64, base32, base85, uuencode, hex, percent, quoted-printable, binary,
decimal codes, \\u and &#...; escapes), symbol alphabets (Morse, NATO phonetic, Braille) and
invisible carriers (Unicode tag characters, variation selectors, zero-width and invisible-math
bits). A decoder returns only readable results: printable UTF-8 with letters in it.
"""

from __future__ import annotations

import base64
import binascii
import html
import quopri
import re
from urllib.parse import unquote

MORSE = {
    ".-": "a", "-...": "b", "-.-.": "c", "-..": "d", ".": "e", "..-.": "f", "--.": "g",
    "....": "h", "..": "i", ".---": "j", "-.-": "k", ".-..": "l", "--": "m", "-.": "n",
    "---": "o", ".--.": "p", "--.-": "q", ".-.": "r", "...": "s", "-": "t", "..-": "u",
    "...-": "v", ".--": "w", "-..-": "x", "-.--": "y", "--..": "z", "-----": "0",
    ".----": "1", "..---": "2", "...--": "3", "....-": "4", ".....": "5", "-....": "6",
    "--...": "7", "---..": "8", "----.": "9", ".-.-.-": ".", "--..--": ",", "..--..": "?",
    "-.-.--": "!", "-..-.": "/", "---...": ":", ".----.": "'",
}
NATO = {
    "alfa": "a", "alpha": "a", "bravo": "b", "charlie": "c", "delta": "d", "echo": "e",
    "foxtrot": "f", "golf": "g", "hotel": "h", "india": "i", "juliet": "j", "juliett": "j",
    "kilo": "k", "lima": "l", "mike": "m", "november": "n", "oscar": "o", "papa": "p",
    "quebec": "q", "romeo": "r", "sierra": "s", "tango": "t", "uniform": "u", "victor": "v",
    "whiskey": "w", "whisky": "w", "xray": "x", "x-ray": "x", "yankee": "y", "zulu": "z",
}
# Grade-1 Braille letters (dot patterns as Unicode cells); U+2800 is a blank cell (a space).
BRAILLE = dict(zip("⠁⠃⠉⠙⠑⠋⠛⠓⠊⠚⠅⠇⠍⠝⠕⠏⠟⠗⠎⠞⠥⠧⠺⠭⠽⠵", "abcdefghijklmnopqrstuvwxyz", strict=True))

_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/=_-])")
_BASE32 = re.compile(r"(?<![A-Za-z0-9=])[A-Z2-7]{16,}={0,6}(?![A-Za-z0-9=])")
_BASE85 = re.compile(r"(?:<~)?[!-~]{20,}(?:~>)?")
_UU_LINE = re.compile(r"^[!-M][ -`]{15,}$", re.M)
_HEX = re.compile(r"(?:\\x|0x)?(?:[0-9a-fA-F]{2}(?:\\x|[\s:,]|0x)?){8,}")
_PERCENT = re.compile(r"(?:%[0-9A-Fa-f]{2}){3,}")
_QP = re.compile(r"(?:=[0-9A-F]{2}[^=\s]{0,16}){3,}")
_BINARY = re.compile(r"(?:[01]{8}[\s,]*){4,}")
_DECIMAL = re.compile(r"(?<![\d.])(?:\d{2,3}[\s,]+){5,}\d{2,3}(?![\d.])")
_ESCAPES = re.compile(r"(?:\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|&#x?[0-9a-fA-F]{2,6};){4,}")
_MORSE = re.compile(r"(?<![\w.-])[.\-]{1,6}(?:[ \t]+(?:[/|][ \t]+)?[.\-]{1,6}){3,}")
_MORSE_SYMBOLS = str.maketrans({"·": ".", "•": ".", "∙": ".", "−": "-", "–": "-", "—": "-",
                                "_": "-"})
_NATO_WORD = "|".join(sorted((re.escape(w) for w in NATO), key=len, reverse=True))
_NATO = re.compile(rf"(?i)\b(?:(?:{_NATO_WORD})\b[\s,/-]*){{4,}}")
_BRAILLE = re.compile("[\u2800-\u28ff]{4,}(?:[\\s\u2800-\u28ff]*[\u2800-\u28ff])?")
_TAGS = re.compile("[\U000e0020-\U000e007e]{3,}")
_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]{3,}")
# Bits hidden as invisible characters: (zero, one) pairs seen in the wild.
_BIT_PAIRS = (("\u200b", "\u200c"), ("\u200c", "\u200b"), ("\u2062", "\u2064"),
              ("\u200b", "\u200d"), ("\u200c", "\u200d"))
_BITS = re.compile("[\u200b-\u200d\u2062\u2064]{16,}")


def atbash(text: str) -> str:
    def flip(ch: str) -> str:
        if "a" <= ch <= "z":
            return chr(219 - ord(ch))
        if "A" <= ch <= "Z":
            return chr(155 - ord(ch))
        return ch

    return "".join(flip(ch) for ch in text)


def printable(s: str, min_ratio: float = 0.9) -> bool:
    if len(s) < 4:
        return False
    good = sum(ch.isprintable() or ch in "\n\t" for ch in s)
    return good / len(s) >= min_ratio and bool(re.search(r"[A-Za-z]{2,}", s))


def utf8(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if printable(text) else None


def _first_sentence(attempts) -> str | None:
    """The first readable result with a space in it of (decoder, data) attempts."""
    for decoder, data in attempts:
        try:
            decoded = utf8(decoder(data))
        except (binascii.Error, ValueError):
            continue
        if decoded and " " in decoded:
            return decoded
    return None


def _bytes(make) -> str | None:
    """utf8() of the bytes `make()` builds, None when they cannot be built."""
    try:
        return utf8(make())
    except (binascii.Error, ValueError):
        return None


def _base64(token: str) -> str | None:
    if not (re.search(r"[A-Z]", token) and re.search(r"[a-z]", token)) and "=" not in token:
        return None  # a plain word or number, not base64
    padded = token + "=" * (-len(token) % 4)
    return _first_sentence([(base64.b64decode, padded), (base64.urlsafe_b64decode, padded)])


def _base32(token: str) -> str | None:
    token = token.rstrip("=")
    return _bytes(lambda: base64.b32decode(token + "=" * (-len(token) % 8)))


def _base85(token: str) -> str | None:
    return _first_sentence([(base64.a85decode, token.removeprefix("<~").removesuffix("~>")),
                            (base64.b85decode, token)])


def _hex(chunk: str) -> str | None:
    digits = re.sub(r"\\x|0x|[\s:,]", "", chunk)
    return _bytes(lambda: bytes.fromhex(digits[:len(digits) // 2 * 2]))


def _binary(chunk: str) -> str | None:
    return utf8(bytes(int(g, 2) for g in re.findall(r"[01]{8}", chunk)))


def _decimal(chunk: str) -> str | None:
    """Character codes written as numbers: "73 103 110 111 114 101"."""
    codes = [int(n) for n in re.findall(r"\d+", chunk)]
    return "".join(map(chr, codes)) if all(32 <= c < 127 for c in codes) else None


def _escapes(chunk: str) -> str | None:
    """\\u0069 and \\x69 escapes, &#105; and &#x69; character references."""
    return re.sub(r"\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})",
                  lambda g: chr(int(g.group(1) or g.group(2), 16)), html.unescape(chunk))


def _morse(chunk: str) -> str | None:
    letters = [" " if t in "/|" else MORSE.get(t, "") for t in re.split(r"[ \t]+", chunk.strip())]
    decoded = re.sub(r" +", " ", "".join(letters)).strip()
    return decoded if len(decoded) >= 4 else None


def _nato(chunk: str) -> str | None:
    parts = re.split(r"\s*/\s*|\s{2,}", chunk.strip())
    decoded = " ".join("".join(NATO.get(w.lower(), "") for w in re.findall(r"[\w-]+", part))
                       for part in parts)
    return decoded if len(decoded.replace(" ", "")) >= 4 else None


def _braille(chunk: str) -> str | None:
    return re.sub(r"\s+", " ", "".join(BRAILLE.get(ch, " ") for ch in chunk)).strip()


def _tags(chunk: str) -> str | None:
    """Unicode tag characters (U+E0020-U+E007E), each an invisible copy of an ASCII one."""
    return "".join(chr(ord(ch) - 0xE0000) for ch in chunk)


def _selectors(chunk: str) -> str | None:
    """Bytes hidden as variation selectors (VS1-16 = 0-15, VS17-256 = 16-255)."""
    return utf8(bytes(ord(ch) - 0xFE00 if ord(ch) < 0xFE10 else ord(ch) - 0xE0100 + 16
                      for ch in chunk))


def _invisible_bits(run: str) -> str | None:
    """Bits hidden as zero-width or invisible-math characters, eight to a byte."""
    for zero, one in _BIT_PAIRS:
        bits = "".join("0" if ch == zero else "1" for ch in run if ch in (zero, one))
        if len(bits) >= 16:
            decoded = utf8(bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits) - 7, 8)))
            if decoded:
                return decoded
    return None


def each_match(pattern: re.Pattern, decode_one):
    """A decoder: `decode_one` applied to each match of `pattern`, readable results kept."""

    def decode(text: str) -> list[str]:
        found = (decode_one(m.group()) for m in pattern.finditer(text))
        return [d for d in found if d and printable(d)]

    return decode


def decode_uu(text: str) -> list[str]:
    lines = _UU_LINE.findall(text)
    try:
        decoded = utf8(b"".join(binascii.a2b_uu(line) for line in lines)) if lines else None
    except binascii.Error:
        return []
    return [decoded] if decoded else []


def decode_percent(text: str) -> list[str]:
    if not _PERCENT.search(text):
        return []
    decoded = unquote(text)
    return [decoded] if decoded != text else []


def decode_quoted_printable(text: str) -> list[str]:
    if not _QP.search(text):
        return []
    decoded = utf8(quopri.decodestring(text.encode("utf-8", "replace")))
    return [decoded] if decoded and decoded != text else []


def decode_morse(text: str) -> list[str]:
    return each_match(_MORSE, _morse)(text.translate(_MORSE_SYMBOLS))


# Run on the text as written (before invisible characters are removed).
RAW_DECODERS = (
    ("tags", each_match(_TAGS, _tags)),
    ("variation_selectors", each_match(_SELECTORS, _selectors)),
    ("invisible_bits", each_match(_BITS, _invisible_bits)),
)
# Run on the folded text.
DECODERS = (
    ("base64", each_match(_BASE64, _base64)),
    ("base32", each_match(_BASE32, _base32)),
    ("base85", each_match(_BASE85, _base85)),
    ("uuencode", decode_uu),
    ("hex", each_match(_HEX, _hex)),
    ("percent", decode_percent),
    ("quoted_printable", decode_quoted_printable),
    ("binary", each_match(_BINARY, _binary)),
    ("decimal", each_match(_DECIMAL, _decimal)),
    ("escapes", each_match(_ESCAPES, _escapes)),
    ("morse", decode_morse),
    ("nato", each_match(_NATO, _nato)),
    ("braille", each_match(_BRAILLE, _braille)),
)
