"""Microsoft Presidio's analyzer (presidio-analyzer, the library under LLM Guard's and
guardrails' PII validators), built offline: its pattern recognisers and their context words.

What Presidio adds to pii.py's own recognisers: identifiers that only their context words
tell apart from any other number: "my passport number is 912803456", "bank account
945456787654", "driver's license 2270-66-1551", ITINs (911-70-1234), phone numbers in national
formats after "Phone:" or "call me on", card-shaped numbers after "card" even when they fail
Luhn (see _CARD_SHAPED below), and IP addresses (not loopback, not version numbers).

Offline by construction:
- No spaCy model. Presidio's context enhancer needs tokens and lemmas only: `TokenLemmaEngine`
  gives them (a regular expression's tokens in a Doc of `spacy.blank("en")`'s vocabulary, no
  model files) with a small suffix-stripping lemmatiser, so nothing is looked up or
  downloaded. (Presidio's own engines load, or download, `en_core_web_*`; a model's person
  names are not used: pii_names.py says why.)
- No tldextract: its EmailRecognizer fetches the public-suffix list on first use; pii.py's
  own e-mail pattern is used instead.
- Importing Presidio imports spaCy, whose thinc backend imports torch, and Presidio's
  transformers engine imports transformers: about 3 s on 2 cores for modules this engine never
  calls. While the analyzer is built they are hidden (an import of them fails, and the two
  libraries fall back as they do where torch is not installed), unless they were loaded
  already or other threads run (call `warm_up()` at start-up); afterwards sys.modules is as
  it was.

The analyzer is built once, on first use or by `warm_up()`, and shared (thread-safe).
"""

from __future__ import annotations

import bisect
import ipaddress
import re
import sys
import threading
import warnings
from contextlib import contextmanager

# Presidio entity -> our kind (pii.LABELS). Entities not listed are ignored.
KINDS = {
    "CREDIT_CARD": "card",
    "CARD_IN_CONTEXT": "card",
    "US_SSN": "ssn",
    "US_ITIN": "itin",
    "US_BANK_NUMBER": "bank_account",
    "US_PASSPORT": "passport",
    "PASSPORT_IN_CONTEXT": "passport",
    "US_DRIVER_LICENSE": "driver_license",
    "LICENSE_IN_CONTEXT": "driver_license",
    "PHONE_IN_CONTEXT": "phone",
    "IBAN_CODE": "iban",
    "IP_ADDRESS": "ip",
    "UK_NINO": "nino",
    "CRYPTO": "crypto",
}

# The score a result needs. Presidio's weak patterns (a bare 9-digit number as a passport:
# 0.05) reach 0.4 only with a context word next to them (+0.35, at least 0.4); its medium
# patterns (911-70-1234 as an ITIN: 0.5) and checksummed ones (cards, IBANs) stand alone.
# Presidio's PhoneRecognizer (python-phonenumbers) is left out: its bare matches need a context
# word anyway ("seed 1234567890" is a valid Indian number), PHONE_IN_CONTEXT below and pii.py's
# own patterns found every phone number it did in the published sentences, and on a
# 4,000-character run of digits it took 0.5 s of the 0.56 s.
MIN_SCORE = 0.4

# Context words, matched whole against the lemmas of the 5 words before a match and of the
# 2 after (`_context_after`); they are lemmatised the same way when the recognisers are built.
# Presidio's own lists include words that are everywhere in this assistant's questions
# ("check", "save", "number", "us", "document", "security"); these are narrower.
_CONTEXT_WORDS = {
    "card": ["card", "credit", "debit", "cc", "visa", "mastercard", "amex", "maestro",
             "discover", "jcb", "diners", "unionpay", "card#", "cardholder"],
    "bank": ["account", "acct", "account#", "acct#", "bank", "banking", "checking",
             "savings", "routing", "a/c"],
    "passport": ["passport", "passport#", "passports"],
    "license": ["driver", "license", "licence", "driving", "dl", "dl#", "lic", "lic#",
                "permit"],
    "itin": ["itin", "itin#", "taxpayer", "tax", "tin", "taxid"],
    "ssn": ["ssn", "ssn#", "social", "ss#"],
    "phone": ["phone", "telephone", "tel", "cell", "cellphone", "mobile", "call", "fax",
              "desk", "office", "sms", "text", "whatsapp", "dial", "ring", "answering",
              "reach", "phone#", "ph", "landline", "extension", "messages", "registered"],
    "ip": ["ip", "ipv4", "ipv6", "address", "host", "server", "client", "ping", "connect",
           "blocked", "firewall", "vpn", "router", "client_ip"],
}

# Card-shaped (12-19 digits, optionally in groups of 4) after a card word: redacted without
# the Luhn check. A card number with one digit mistyped still gives away the other 15, and a
# card word is what tells it from an order or tracking number (which stay).
_CARD_SHAPED = r"(?<![\d-])\d{4}(?:[ -]?\d{4}){2,3}(?:[ -]?\d{1,3})?(?![\d-])|\b\d{12,19}\b"
# Phone-shaped after a phone word: 7-15 digits in groups, an optional extension.
_PHONE_SHAPED = (
    r"(?<![\w+.-])(?:\+|00)?\(?\d{1,4}\)?(?:[ .-]?\(?\d{2,5}\)?){1,5}"
    r"(?:\s?(?:x|ext\.?|extension)\s?\d{1,5})?(?!\w|-\d)"
)
_LICENSE_SHAPED = (
    r"\b[A-Z]{0,2}\d{5,15}\b|\b\d{3,4}-\d{2,3}-\d{3,4}\b|\b[A-Z]\d{3}-\d{3,4}-\d{3,4}\b"
)
_PASSPORT_SHAPED = r"\b[A-Z]{1,2}\d{6,8}\b|\b\d{9}\b"

_VERSION_CUE = re.compile(r"(?i)(?:\bv|version|release|==|>=|<=|~=|@)\s*$")
_LOCK = threading.Lock()
_ANALYZER = None
_CONTEXTS: dict[str, list[str]] = {}  # entity -> its recogniser's context words


@contextmanager
def _hidden(names: tuple[str, ...]):
    """Make `import NAME` fail for modules not yet imported; restore sys.modules after.
    Only in a process with one thread: another thread's import of them must not fail."""
    alone = threading.active_count() == 1
    hidden = [n for n in names if n not in sys.modules] if alone else []
    for name in hidden:
        sys.modules[name] = None
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, "absent") is None:
                del sys.modules[name]


def _import_presidio():
    # spaCy's CLI imports typer, which warns about click's deprecated helpers on import.
    with _hidden(("torch", "transformers")), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        import presidio_analyzer
        import spacy
    return presidio_analyzer, spacy


def _lemma(word: str) -> str:
    """Enough of a lemmatiser for context words: accounts -> account, licenses -> license."""
    w = word.lower()
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


_STOP = frozenset(
    "a an the my our your his her their its is are was were be been am i me we you he she "
    "they it this that these those of to in on at for from by with and or but as please "
    "here there what which who whom whose do does did have has had can could would should "
    "will shall may might must not no so if then than too very just also any some".split()
)


def _words_and_spaces(text: str) -> tuple[list[str], list[bool]]:
    """Tokens for a spaCy Doc that gives `text` back exactly: words and punctuation marks
    (`_TOKEN`), one space after a token as its trailing space, other whitespace as tokens."""
    words: list[str] = []
    spaces: list[bool] = []
    end = 0
    for m in [*_TOKEN.finditer(text), None]:
        gap = text[end:m.start() if m else len(text)]
        if gap.startswith(" ") and words and not spaces[-1]:
            spaces[-1], gap = True, gap[1:]
        if gap:
            words.append(gap)
            spaces.append(False)
        if m:
            words.append(m.group())
            spaces.append(False)
            end = m.end()
    return words, spaces


def _make_engine_class(presidio_analyzer, spacy):
    from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine
    from spacy.tokens import Doc

    class TokenLemmaEngine(NlpEngine):
        """Tokens (words and single punctuation marks) and suffix-stripped lemmas; no NER.
        The tokens are found by one regular expression and put in a spaCy Doc with spaCy's
        English vocabulary: spaCy's own tokenizer takes seconds on a 3,000-character run of
        punctuation (it splits prefixes one at a time)."""

        def __init__(self):
            self.nlp = spacy.blank("en")

        def tokenize(self, text: str):
            words, spaces = _words_and_spaces(text)
            return Doc(self.nlp.vocab, words=words, spaces=spaces)

        def load(self) -> None:
            pass

        def is_loaded(self) -> bool:
            return True

        def process_text(self, text: str, language: str):
            doc = self.tokenize(text)
            lemmas = [_lemma(t.text) for t in doc]
            return NlpArtifacts([], doc, [t.idx for t in doc], lemmas, self, language)

        def process_batch(self, texts, language, batch_size=1, n_process=1, **kwargs):
            for text in texts:
                yield text, self.process_text(text, language)

        def is_stopword(self, word: str, language: str) -> bool:
            return word.lower() in _STOP

        def is_punct(self, word: str, language: str) -> bool:
            return not any(ch.isalnum() for ch in word)

        def get_supported_entities(self) -> list[str]:
            return []

        def get_supported_languages(self) -> list[str]:
            return ["en"]

    return TokenLemmaEngine


# Digits a context-only match must have: (entity, fewest, most).
_DIGITS = {"CARD_IN_CONTEXT": (12, 19), "PHONE_IN_CONTEXT": (6, 15),
           "LICENSE_IN_CONTEXT": (5, 16), "PASSPORT_IN_CONTEXT": (6, 9)}


def _recognizers(presidio_analyzer):
    from presidio_analyzer import Pattern, PatternRecognizer
    from presidio_analyzer import predefined_recognizers as pr

    class Shaped(PatternRecognizer):
        """A number of the right shape, scored 0.05: only its context words can make it PII."""

        def __init__(self, entity, regex, context, flags=re.MULTILINE):
            super().__init__(
                supported_entity=entity, name=entity.title().replace("_", ""),
                patterns=[Pattern(entity.lower(), regex, 0.05)], context=context,
                global_regex_flags=flags,
            )
            self.digits = _DIGITS[entity]

        def validate_result(self, pattern_text: str):
            n = sum(ch.isdigit() for ch in pattern_text)
            fewest, most = self.digits
            return None if fewest <= n <= most else False  # None: keep the score

    CONTEXT = {k: sorted({_lemma(w) for w in words}) for k, words in _CONTEXT_WORDS.items()}
    return [
        pr.CreditCardRecognizer(context=CONTEXT["card"]),
        pr.UsSsnRecognizer(context=CONTEXT["ssn"]),
        pr.UsItinRecognizer(context=CONTEXT["itin"]),
        pr.UsBankRecognizer(context=CONTEXT["bank"]),
        pr.UsPassportRecognizer(context=CONTEXT["passport"]),
        pr.UsLicenseRecognizer(context=CONTEXT["license"]),
        pr.IbanRecognizer(),
        pr.IpRecognizer(context=CONTEXT["ip"]),
        pr.UkNinoRecognizer(),
        pr.CryptoRecognizer(),
        Shaped("CARD_IN_CONTEXT", _CARD_SHAPED, CONTEXT["card"]),
        Shaped("PHONE_IN_CONTEXT", _PHONE_SHAPED, CONTEXT["phone"], flags=re.I | re.M),
        Shaped("LICENSE_IN_CONTEXT", _LICENSE_SHAPED, CONTEXT["license"]),
        Shaped("PASSPORT_IN_CONTEXT", _PASSPORT_SHAPED, CONTEXT["passport"]),
    ]


def _build():
    presidio_analyzer, spacy = _import_presidio()
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer

    class Enhancer(LemmaContextAwareEnhancer):
        @staticmethod
        def _find_index_of_match_token(word, start, tokens, tokens_indices):
            """The first token that ends after `start`, by bisection: Presidio's linear scan
            per result made a 6,000-character run of numbers take seconds."""
            i = max(0, bisect.bisect_right(tokens_indices, start) - 1)
            if i < len(tokens) and start >= tokens_indices[i] + len(tokens[i]):
                i += 1
            if i >= len(tokens):
                raise ValueError(f"no token at {start} for {word!r}")
            return i

    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in _recognizers(presidio_analyzer):
        registry.add_recognizer(recognizer)
        for entity in recognizer.supported_entities:
            _CONTEXTS[entity] = recognizer.context or []
    engine = _make_engine_class(presidio_analyzer, spacy)()
    enhancer = Enhancer(
        context_prefix_count=5, context_suffix_count=0, context_matching_mode="whole_word"
    )
    return AnalyzerEngine(
        registry=registry, nlp_engine=engine, supported_languages=["en"],
        context_aware_enhancer=enhancer,
    )


def analyzer():
    """The shared AnalyzerEngine (built on first call)."""
    global _ANALYZER
    if _ANALYZER is None:
        with _LOCK:
            if _ANALYZER is None:
                _ANALYZER = _build()
    return _ANALYZER


def warm_up() -> None:
    """Build the analyzer now (about 0.7 s) rather than on the first message."""
    analyzer().analyze("warm up 555 0100", language="en")


_TOKEN = re.compile(r"\w+|[^\w\s]")
_WORDS_AFTER = re.compile(r"[^\W\d_][\w#]*")


def _context_after(text: str, end: int, context: list[str]) -> bool:
    """A context word among the 2 words right after a match ("416 60 039 office",
    "788-063-Office"). Presidio counts its words after a match from the match's first token,
    so for a number in several tokens they fall inside the number itself."""
    words = _WORDS_AFTER.findall(text[end:end + 40])[:2]
    return any(_lemma(w) in context for w in words)


def _ip_ok(text: str, start: int, end: int, in_context: bool) -> bool:
    """An IP address, unless loopback/unspecified or after a version cue (torch==2.13.0.1);
    an IPv4 address whose parts are all below 100 (3.11.7.1) needs an IP context word."""
    value = text[start:end]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    if address.is_loopback or address.is_unspecified:
        return False
    if _VERSION_CUE.search(text[max(0, start - 12):start]):
        return False
    small = address.version == 4 and all(int(p) < 100 for p in value.split("."))
    return in_context or not small


def findings(text: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) of Presidio's results that reach their minimum score."""
    engine, contexts = analyzer(), _CONTEXTS
    out = []
    for r in engine.analyze(text, language="en"):
        kind = KINDS.get(r.entity_type)
        if kind is None:
            continue
        boosted = r.analysis_explanation is not None and bool(
            r.analysis_explanation.supportive_context_word)
        score = r.score
        if not boosted and _context_after(text, r.end, contexts.get(r.entity_type, [])):
            boosted, score = True, max(score + 0.35, 0.4)
        if score < MIN_SCORE:
            continue
        if kind == "ip" and not _ip_ok(text, r.start, r.end, boosted):
            continue
        out.append((kind, r.start, r.end))
    return out
