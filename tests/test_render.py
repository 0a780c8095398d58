"""What the chat shows for a turn: one title and one sentence per refusal, banners per path."""

import html

import pytest

from assistant.records import PATH_QUOTED, REFUSALS, SOURCES_ONLY, Turn, refusal_sentence
from ui.render import REFUSAL_TITLES, answer_markdown, sources_markdown


@pytest.mark.parametrize("reason", sorted(set(REFUSALS) - {SOURCES_ONLY}))
def test_every_refusal_has_one_title_and_says_its_sentence_once(reason):
    turn = Turn(question="q", conversation_id="c", refused=True, reason=reason,
                answer=refusal_sentence(reason))
    shown = answer_markdown(turn)
    assert html.escape(REFUSAL_TITLES[reason]) in shown
    sentence = refusal_sentence(reason).replace("'", "&#x27;")
    assert shown.count(sentence) == 1


def test_a_caring_answer_has_no_stop_sign():
    from assistant.records import SELF_HARM

    turn = Turn(question="q", conversation_id="c", refused=True, reason=SELF_HARM,
                answer=refusal_sentence(SELF_HARM))
    assert "\u26d4" not in answer_markdown(turn)


def test_a_quoted_answer_has_its_banner_and_no_repeated_notice():
    from assistant.quoting import QUOTED_NOTICE

    turn = Turn(question="q", conversation_id="c", answer="> A sentence. [1]",
                answer_path=PATH_QUOTED, notices=[QUOTED_NOTICE])
    shown = answer_markdown(turn)
    assert 'class="quoted"' in shown and QUOTED_NOTICE not in shown


def test_an_image_in_a_source_never_loads_in_the_sources_panel():
    from assistant.records import Passage

    planted = "Caching tips ![pixel](https://tracker.example/p.png?u=1) and more."
    turn = Turn("q", "c", passages=[Passage(1, "c1", "tips.md", "Tips", planted, 0.9, 0, 0)])
    shown = sources_markdown(turn)
    assert "![pixel]" not in shown and "!\\[pixel]" in shown
