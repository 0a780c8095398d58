"""Personal data in a message: find it (`find_pii`) and replace it with placeholders.

Three layers, merged (overlapping findings become one, the most specific kind names it):
1. This module's recognisers: e-mail (also "name[at]host[dot]com"), phone (international,
   North American and trunk-prefix formats, with an extension: x514, ext. 12), payment card
   (Luhn and an issuer prefix), IBAN (mod-97), US SSN, UK NINO. Checksums and format rules keep
   look-alikes (order numbers, ISBNs, dates, versions) out.
2. Microsoft Presidio's analyzer, offline (pii_presidio.py): identifiers that only their
   context words give away: ITIN, passport, bank account and driver's licence numbers, phone
   numbers in national formats after "Phone:"/"call me on", IP addresses, and card-shaped
   numbers after a card word even when they fail Luhn (a mistyped card number still discloses
   the rest of its digits; "card" is what tells it from an order or tracking number).
3. Person names after a cue only ("my name is", "Name:", "Dear Ms.", "patient"): pii_names.py
   says why names are not redacted everywhere.

The guards redact with these before the cache, the model and the log see a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.guards import pii_names, pii_presidio


@dataclass(frozen=True)
class Finding:
    kind: str  # a key of LABELS, or a secret kind (secret_keys.py)
    start: int
    end: int
    label: str  # the placeholder that replaces it, e.g. "[EMAIL]"


# -- checksums -------------------------------------------------------------------------------


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# Lengths of the IBAN for countries that use one (ISO 13616 registry, common subset).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}


def iban_valid(iban: str) -> bool:
    iban = re.sub(r"[\s-]", "", iban).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", iban):
        return False
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def ssn_valid(area: str, group: str, serial: str) -> bool:
    a = int(area)
    return 0 < a < 900 and a != 666 and group != "00" and serial != "0000"


_NINO_BAD_FIRST = set("DFIQUV")
_NINO_BAD_SECOND = set("DFIOQUV")
_NINO_BAD_PREFIXES = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def nino_valid(prefix: str) -> bool:
    prefix = prefix.upper()
    return (
        prefix[0] not in _NINO_BAD_FIRST
        and prefix[1] not in _NINO_BAD_SECOND
        and prefix not in _NINO_BAD_PREFIXES
    )


# Issuer prefixes of the card networks (Visa, Mastercard, Amex, Discover, JCB, Diners,
# UnionPay, Maestro): a Luhn-valid number with another first digit is not treated as a card.
_CARD_PREFIX = re.compile(r"^(4|5[0-9]|2[2-7]|3[4-9]|30[0-5]|6)")

# -- patterns --------------------------------------------------------------------------------

# "john.doe[AT]example[DOT]com", "john.doe (at) example.com", "jane at example dot org"
_AT = r"(?:\s*[\[({]\s*at\s*[\])}]\s*|@)"
_DOT = r"(?:\s*[\[({]\s*dot\s*[\])}]\s*|\.)"
EMAIL_OBFUSCATED = re.compile(
    rf"(?i)(?<![\w.+-])[a-z0-9][\w.+-]*{_AT}[a-z0-9-]+(?:{_DOT}[a-z0-9-]+)*{_DOT}[a-z]{{2,24}}\b"
    r"|(?<![\w.+-])[a-z0-9][\w.+-]*\s+at\s+[a-z0-9-]+(?:\s+dot\s+[a-z0-9-]+)*\s+dot\s+"
    r"(?:com|org|net|edu|gov|io|co|uk|de|fr|nl|es|it|info|me)\b"
)
EMAIL = re.compile(
    r"(?<![\w.+'-])[A-Za-z0-9](?:[A-Za-z0-9._%+'-]{0,62}[A-Za-z0-9_%+-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}\b"
)
IBAN = re.compile(
    r"\b(?:[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]{4}){2,7}(?:[ -]?[A-Z0-9]{1,4})?"
    r"|[a-z]{2}\d{2}(?:[ -]?[a-z0-9]{4}){2,7}(?:[ -]?[a-z0-9]{1,4})?)\b"
)
CARD = re.compile(r"(?<![\d+-])\d(?:[ -]?\d){12,18}(?![\d-])")
SSN = re.compile(r"(?<![\d-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\d-])")
SSN_LABELLED = re.compile(
    r"(?i)\b(?:ssn|social security(?: number| no\.?)?)\s*(?:is|:|#)?\s*(\d{3})(\d{2})(\d{4})\b"
)
NINO = re.compile(r"\b([A-Z]{2}) ?(\d{2}) ?(\d{2}) ?(\d{2}) ?([A-D])\b")
# An extension after a phone number: +1-878-448-0184x514, 555-0100 ext. 12
_EXT = r"(?:\s?(?i:x|ext\.?|extension)\s?\d{1,5})?"
PHONE_INTERNATIONAL = re.compile(
    r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){1,6}" + _EXT + r"(?!\w|-\d)"
)
PHONE_NORTH_AMERICA = re.compile(
    r"(?<![\w-])(?:001[.\- ])?(?:\(\d{3}\)\s?|\d{3}[.\- ])\d{3}[.\- ]\d{4}" + _EXT + r"(?!\w|-\d)"
)
# Mainland China mobile numbers: 11 digits, 13x-19x.
PHONE_CN_MOBILE = re.compile(r"(?<![\w+.-])1[3-9]\d{9}(?![\w-])")
PHONE_LOCAL_US = re.compile(r"(?<![\w-])\d{3}-\d{4}(?![\w-])")
# National formats with a trunk prefix 0 (UK 07700 900461, 020 7946 0123; DE 0151 23456789).
PHONE_TRUNK = re.compile(
    r"(?<![\w.-])0\d{2,4}(?:[ /-]?\d{2,4}){1,3}(?!\w|[.-]\w)"
)

# kind | placeholder | plain-English name for messages: singular | plural
_KIND_TABLE = """
email | [EMAIL] | an email address | email addresses
phone | [PHONE] | a phone number | phone numbers
card | [CARD] | a card number | card numbers
iban | [IBAN] | a bank account number (IBAN) | bank account numbers (IBANs)
ssn | [SSN] | a social security number | social security numbers
nino | [NI_NUMBER] | a National Insurance number | National Insurance numbers
itin | [TAX_ID] | a taxpayer ID (ITIN) | taxpayer IDs (ITINs)
bank_account | [BANK_ACCOUNT] | a bank account number | bank account numbers
passport | [PASSPORT] | a passport number | passport numbers
driver_license | [DRIVER_LICENSE] | a driver's licence number | driver's licence numbers
ip | [IP_ADDRESS] | an IP address | IP addresses
crypto | [CRYPTO_WALLET] | a crypto wallet address | crypto wallet addresses
person | [NAME] | a person's name | people's names
"""
_ROWS = [[cell.strip() for cell in line.split("|")] for line in _KIND_TABLE.strip().splitlines()]
LABELS = {kind: label for kind, label, _, _ in _ROWS}
NAMES = {kind: (one, many) for kind, _, one, many in _ROWS}


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def _phone_ok(candidate: str, min_digits: int, max_digits: int = 15) -> bool:
    digits = _digits(candidate)
    return min_digits <= len(digits) <= max_digits


def _find_cards(text: str):
    for m in CARD.finditer(text):
        digits = _digits(m.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits) and _CARD_PREFIX.match(digits):
            yield m.start(), m.end()


def _find_ibans(text: str):
    for m in IBAN.finditer(text):
        candidate = m.group()
        # The pattern may run on into a following group of letters/digits: try shorter ends.
        while len(re.sub(r"[\s-]", "", candidate)) >= 14:
            if iban_valid(candidate):
                yield m.start(), m.start() + len(candidate)
                break
            candidate = candidate[:-1].rstrip(" -")


def _find_ssns(text: str):
    for m in SSN.finditer(text):
        if ssn_valid(m.group(1), m.group(3), m.group(4)):
            yield m.start(), m.end()
    for m in SSN_LABELLED.finditer(text):
        if ssn_valid(m.group(1), m.group(2), m.group(3)):
            yield m.start(1), m.end(3)


def _find_ninos(text: str):
    for m in NINO.finditer(text):
        if nino_valid(m.group(1)):
            yield m.start(), m.end()


def _find_phones(text: str):
    for m in PHONE_INTERNATIONAL.finditer(text):
        if _phone_ok(m.group(), 8):
            yield m.start(), m.end()
    for m in PHONE_NORTH_AMERICA.finditer(text):
        yield m.start(), m.end()
    for m in PHONE_LOCAL_US.finditer(text):
        yield m.start(), m.end()
    for m in PHONE_CN_MOBILE.finditer(text):
        yield m.start(), m.end()
    for m in PHONE_TRUNK.finditer(text):
        candidate = m.group()
        # at least one separator-free run of digits after the trunk prefix, 9-12 digits in all
        # dates (0171-12-31) and SSN-shaped numbers (000-12-3456) are not phone numbers
        if _phone_ok(candidate, 9, 12) and not re.fullmatch(
            r"0\d{2,4}-\d{2}-\d{2}|\d{3}-\d{2}-\d{4}", candidate
        ):
            yield m.start(), m.end()


def _find_emails(text: str):
    for m in EMAIL.finditer(text):
        yield m.start(), m.end()
    for m in EMAIL_OBFUSCATED.finditer(text):
        yield m.start(), m.end()


# Order matters: structured, checksummed kinds first, so that their digits are not taken
# for phone numbers afterwards.
RECOGNISERS = (
    ("email", _find_emails),
    ("iban", _find_ibans),
    ("card", _find_cards),
    ("ssn", _find_ssns),
    ("nino", _find_ninos),
    ("phone", _find_phones),
)


# Presidio's kinds rank after this module's, most specific first (911-70-1234 is an ITIN,
# which Presidio's SSN recogniser also matches); names last.
PRESIDIO_RANK = ("card", "iban", "itin", "passport", "driver_license", "bank_account", "ssn",
                 "nino", "crypto", "ip", "phone")


def _candidates(text: str):
    """(rank, kind, start, end) from all three layers."""
    for rank, (kind, finder) in enumerate(RECOGNISERS):
        for start, end in finder(text):
            yield rank, kind, start, end
    base = len(RECOGNISERS)
    for kind, start, end in pii_presidio.findings(text):
        yield base + PRESIDIO_RANK.index(kind), kind, start, end
    for start, end in pii_names.find_names(text):
        yield base + len(PRESIDIO_RANK), "person", start, end


def find_pii(text: str) -> list[Finding]:
    """Non-overlapping findings in text order. Overlapping candidates are merged into one
    finding over their union, named by the best-ranked kind among them."""
    merged: list[list] = []  # [rank, kind, start, end]
    for rank, kind, start, end in sorted(_candidates(text), key=lambda c: (c[2], c[0])):
        if start >= end:
            continue
        if merged and start < merged[-1][3]:
            last = merged[-1]
            last[3] = max(last[3], end)
            if rank < last[0]:
                last[0], last[1] = rank, kind
            continue
        merged.append([rank, kind, start, end])
    return [Finding(kind, start, end, LABELS[kind]) for _, kind, start, end in merged]


def apply_redactions(text: str, findings: list[Finding]) -> str:
    out, cursor = [], 0
    for f in sorted(findings, key=lambda f: f.start):
        if f.start < cursor:
            continue
        out.append(text[cursor:f.start])
        out.append(f.label)
        cursor = f.end
    out.append(text[cursor:])
    return "".join(out)
