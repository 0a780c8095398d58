"""Yes/no questions, and how a model's "Yes"-first habit is corrected on them.

Small instruct models open most answers to a yes/no question with "Yes", whatever the sources
say: Qwen2.5-Coder-1.5B opened 95 of 100 BoolQ tuning answers with "Yes" when half the right
answers were "No". Its first-token preference still carries signal (ranking by the log-odds of
"Yes" over "No" separates the two with AUC 0.74), it is only shifted. So, on a yes/no question,
the first answer token's "Yes" logit is lowered by a per-model amount chosen on tuning data
(`python -m evals.yes_no_calibration`), and the model writes the rest of its answer after
whichever word then wins. Only the first token is touched: a "Yes" later in an answer, or any
answer to another kind of question, is left alone.
"""

from __future__ import annotations

import re

# A question that opens with one of these asks for a yes or a no ("Is hit@k recall@k?").
_AUXILIARY = re.compile(
    r"^(is|are|was|were|am|do|does|did|can|could|should|would|will|shall|may|might|must|has|"
    r"have|had|isn't|aren't|doesn't|don't|didn't|can't|won't|wasn't|weren't|hasn't|haven't)\b",
    re.IGNORECASE)
# "Is BLEU or chrF better for German?" asks to choose, not to confirm; "yes or no" does not.
_ALTERNATIVE = re.compile(r"\bor\b", re.IGNORECASE)
_YES_OR_NO = re.compile(r"\byes or no\b", re.IGNORECASE)

YES_WORD = "Yes"


def is_yes_no_question(text: str) -> bool:
    """Whether the question, as asked, expects a yes or a no first."""
    question = text.strip().lstrip("\"'¿¡(").strip()
    return (bool(_AUXILIARY.match(question))
            and not _ALTERNATIVE.search(_YES_OR_NO.sub("", question)))


def opening_bias(token_id: int, bias: float):
    """A logits function for llama.cpp and transformers alike: on the first answer token only,
    lower the logit of `token_id` ("Yes") by `bias`. `scores` is the next token's logits (a
    1-D array, or a batch of one for transformers); it is changed in place and returned."""
    first_call = True

    def adjust(_input_ids, scores):
        nonlocal first_call
        if first_call:
            first_call = False
            scores[..., token_id] -= bias
        return scores

    return adjust
