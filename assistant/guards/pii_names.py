"""Person names, redacted only where the message says that a name follows.

Policy: a name is redacted after a cue that introduces a person's own or a contact's name:
"my name is Lisa Wirtz", "Name: Sieda Batukayev", "I'm Priya,", "patient John Smith",
"contact: Jane Doe", "customer name Ana Lima", "Dear Ms. Okafor", "Hi Freddy,", an
honorific (Mr/Mrs/Ms/Miss/Mx/Dr), a sign-off ("Regards, Tom"). Other capitalised words, and
all-capital ones (HR, RAG), stay.

Why not every name: this assistant answers questions about NLP, whose text is full of
names that are not personal data in the message: authors ("Hu et al.'s LoRA", "Vaswani"),
models and methods (BERT, Llama, Adam), people the handbook quotes. A named-entity model
(spaCy's en_core_web_sm 3.8, from PyPI), measured with `python -m evals.pii_eval --ner`, found
59% of the 1,758 person names in the published PII test sentences and tagged a person in 38 of
our 228 benign and attack questions ("RAG", "GPU", "ROUGE-2" among them), at 5 ms a message:
redacting what it finds would blank the topic of questions and still leave 4 names in 10 in
the log. A cue is what makes a name personal data here: the user giving their own or someone
else's identity. Why not never: a self-introduction or a contact's name next to an e-mail
address or a card number ties the rest of the log entry to a person.

Measured (evals/pii_eval.py): 699 of 901 names in presidio-evaluator's template sentences and
115 of 857 in its synthetic set (most of those have no cue) are redacted; 1 of 303 of our
questions and look-alikes has a [NAME] ("You play 'Mr. Unfiltered'", an attack's persona).
Lower-case names ("my name is john") are not taken: no cue tells where they end.
"""

from __future__ import annotations

import re

# Where the name starts: a word (any script). `_name_extent` decides how far it goes.
_NAME = r"(?P<name>[^\W\d_])"

_CUES = (
    r"\bmy\s+(?:full\s+|real\s+|legal\s+|first\s+|last\s+|sur)?name\s*(?:is|'s|:)\s*",
    r"\b(?:full\s+)?name\s*[:=]\s*",
    r"\b(?:my|his|her|their|our)\s+(?:first|last|middle|family|sur)?\s*names?\s+(?:is|are)\s+",
    r"\bmy\s+last\s+is\s+",
    r"\byour\s+name\s*\?\s*",
    r"\b(?:I\s+am|I'm|I’m)\s+called\s+",
    r"\bpatient\s+(?:name\s*(?:is|:)?\s*)?",
    r"\b(?:contact|customer|client|employee|applicant|tenant|recipient|beneficiary|"
    r"cardholder|account\s+holder)(?:(?:'s)?\s+name\s*(?:is|:)?|\s*:)\s*",
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?\s+",
    r"\b(?:Regards|Sincerely|Cheers|Thanks|Best),?\s*\n\s*",
)
# Cues whose next word must look like a name already (checked case-sensitively). A greeting
# is one when the name ends the clause: "Hi Freddy, ...", "Dear Ms. Okafor," (not "Hi Llama fans").
_CAPS = r"[A-Z][^\W\d_'’-]*(?:['’-][^\W\d_]+)*"
_CUES_CASED = (
    r"\b(?i:dear|hi|hello|hey)\s+(?=(?:(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?\s+)?" + _CAPS
    + r"(?:[ \t]+" + _CAPS + r"){0,2}\s*(?:[,!.:;\n]|$))",
    r"\b(?i:calls?|called|address)\s+me\s+(?=[A-Z])",
    r"\b(?i:I\s+am|I'm|I’m)\s+(?=[A-Z][^\W\d_]+\s*[,.;!]|[A-Z][^\W\d_]+\s+[A-Z][^\W\d_]+\s*[,.;!])",
    r"\b(?i:this\s+is|speaking\s+with|spoke\s+(?:to|with))\s+(?=[A-Z][^\W\d_]+\s+[A-Z])",
)
_CUE = re.compile(
    r"(?:(?i:" + "|".join(_CUES) + r")|" + "|".join(_CUES_CASED) + r")" + _NAME
)

# Greetings and other words that start a clause but are not names ("Hi there", "Dear all",
# "contact Support", "Name: unknown"); a cued word must be capitalised and not one of these.
_NOT_NAMES = frozenset(
    "There All Team Everyone Folks Sir Madam Support Us Me Him Her Them You It This That The "
    "A An My Our Your His Their Admin Customer Service Help Desk Sales Please Thanks Thank "
    "Unknown None Null N/A Yes No Again Back Anyone Somebody Someone Guys Assistant Bot AI "
    "GPT ChatGPT Claude Sorry Not Just Also Now Then Here Still Really Very World".split()
)
_HONORIFICS = frozenset({"Mr", "Mrs", "Ms", "Miss", "Mx", "Dr"})
_LOWER_JOINERS = frozenset({"van", "von", "de", "da", "del", "der", "di", "le", "la", "bin"})


def _name_extent(candidate: str) -> int:
    """Length of the leading run of capitalised words (with lower-case particles inside);
    a word ending in ":" is the next field's label (Name: Sieda Batukayev Phone: ...)."""
    end, words = 0, list(re.finditer(r"\S+", candidate))
    for i, m in enumerate(words):
        word = m.group().rstrip(",.;:!?'\"’”)")
        if not word or m.group().endswith(":"):
            break
        if word in _HONORIFICS:
            end = m.end()
            continue
        acronym = len(word) > 1 and word.isupper()  # HR, GPU, RAG
        capital = word[0].isupper() and not acronym and word not in _NOT_NAMES
        joiner = word in _LOWER_JOINERS and i < len(words) - 1
        if not (capital or joiner):
            break
        if capital:
            end = m.start() + len(word)
        if word != m.group():  # punctuation ends the name
            break
    return end


_AND = re.compile(r"[ \t]+(?:and|&)[ \t]+(?=[A-Z])")


def find_names(text: str):
    """(start, end) of each cued person name; "names are Ana and Ben" gives both."""
    for m in _CUE.finditer(text):
        start = m.start("name")
        while length := _name_extent(text[start:start + 120]):
            yield start, start + length
            joined = _AND.match(text, start + length)
            if not joined:
                break
            start = joined.end()
