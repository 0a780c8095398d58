"""The labelled set's perturbations: each must change the claim in the way its kind says."""

import random

from evals.support_set import (
    CONTRADICTED,
    NOT_ADDRESSED,
    SUPPORTED,
    TERMS,
    build_support_set,
    change_number,
    chimera,
    heldout_sources,
    negate,
    replace_pair,
)


def test_negation_is_added_or_removed():
    assert negate("LoRA is cheaper than full fine-tuning.") == (
        "LoRA is not cheaper than full fine-tuning.", "negation_added")
    assert negate("The cache does not store refusals.") == (
        "The cache does store refusals.", "negation_removed")
    assert negate("A model cannot cite what it never saw.")[0] == (
        "A model can cite what it never saw.")
    assert negate("Nothing to negate here.") is None


def test_two_contrasting_terms_are_swapped_and_a_single_one_replaced():
    rng = random.Random(0)
    reversed_, kind = replace_pair(
        "Context-free metrics ignore the source, while context-dependent metrics read it.",
        TERMS, "terms_swapped", "term_replaced", rng)
    assert kind == "terms_swapped"
    assert reversed_ == ("Context-dependent metrics ignore the source, while context-free "
                         "metrics read it.")
    replaced, kind = replace_pair("QLoRA quantizes weights to 4 bits.", TERMS,
                                  "terms_swapped", "term_replaced", rng)
    assert kind == "term_replaced" and replaced.startswith("LoRA quantizes")


def test_numbers_change_but_citation_markers_do_not():
    changed, kind = change_number("Rank 8 adapters are common [1].", random.Random(0))
    assert kind == "number_changed" and "[1]" in changed and "Rank 8 " not in changed


def test_chimera_keeps_the_subject_and_borrows_a_predicate():
    made = chimera("BLEU is a precision-based metric for machine translation.",
                   "ROUGE is a recall-oriented family of summarization metrics.")
    assert made == "BLEU is a recall-oriented family of summarization metrics."


def test_the_set_is_large_balanced_enough_and_held_out_by_document():
    items = build_support_set(paraphrases={})
    held = heldout_sources()
    assert len(items) >= 300
    assert all((i.split == "heldout") == (i.source in held) for i in items)
    heldout = [i for i in items if i.split == "heldout"]
    labels = {i.label for i in heldout}
    assert labels == {SUPPORTED, CONTRADICTED, NOT_ADDRESSED}
    assert {"terms_swapped", "negation_added", "antonym"} <= {i.kind for i in heldout}
    assert all(i.claim != i.passage for i in items)
