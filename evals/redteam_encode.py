"""Encoders for building encoded-payload attacks from plain ones (the detector's decoders in
assistant/guards/decoders.py undo them): the schemes published scanners use."""

from __future__ import annotations

import base64
import binascii
import codecs
import quopri

from assistant.guards.decoders import BRAILLE, MORSE, atbash

_TO_MORSE = {letter: code for code, letter in MORSE.items()}
_TO_BRAILLE = {letter: cell for cell, letter in BRAILLE.items()}
_NATO_WORDS = ("Alfa Bravo Charlie Delta Echo Foxtrot Golf Hotel India Juliett Kilo Lima Mike "
               "November Oscar Papa Quebec Romeo Sierra Tango Uniform Victor Whiskey Xray "
               "Yankee Zulu").split()
_LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})


def _morse(text: str) -> str:
    words = [" ".join(_TO_MORSE[c] for c in w if c in _TO_MORSE) for w in text.lower().split()]
    return " / ".join(w for w in words if w)


def _nato(text: str) -> str:
    return " / ".join(" ".join(_NATO_WORDS[ord(c) - 97] for c in w if "a" <= c <= "z")
                      for w in text.lower().split())


def _uu(text: str) -> str:
    data = text.encode()
    return "".join(binascii.b2a_uu(data[i:i + 45]).decode() for i in range(0, len(data), 45))


def _selectors(text: str) -> str:
    return "\U0001f600" + "".join(chr(0xFE00 + b) if b < 16 else chr(0xE0100 + b - 16)
                                  for b in text.encode())


def _zero_width_bits(text: str) -> str:
    bits = "".join(format(b, "08b") for b in text.encode())
    return "Hello!" + "".join("\u200b" if bit == "0" else "\u200c" for bit in bits)


ENCODERS = {
    "base64": lambda t: base64.b64encode(t.encode()).decode(),
    "base32": lambda t: base64.b32encode(t.encode()).decode(),
    "base85": lambda t: base64.a85encode(t.encode()).decode(),
    "hex": lambda t: t.encode().hex(),
    "rot13": lambda t: codecs.encode(t, "rot13"),
    "atbash": atbash,
    "reversed": lambda t: t[::-1],
    "morse": _morse,
    "nato": _nato,
    "braille": lambda t: "".join(_TO_BRAILLE.get(c, "\u2800") for c in t.lower()),
    "binary": lambda t: " ".join(format(b, "08b") for b in t.encode()),
    "decimal": lambda t: " ".join(str(b) for b in t.encode()),
    "uuencode": _uu,
    "quoted_printable": lambda t: quopri.encodestring(t.encode(), quotetabs=True).decode(),
    "percent": lambda t: "".join(f"%{b:02X}" for b in t.encode()),
    "tags": lambda t: "".join(chr(0xE0000 + ord(c)) for c in t if ord(c) < 128),
    "variation_selectors": _selectors,
    "zero_width_bits": _zero_width_bits,
    "leetspeak": lambda t: t.translate(_LEET),
}


def encode(scheme: str, text: str) -> str:
    return ENCODERS[scheme](text)
