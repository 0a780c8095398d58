"""Reports: a self-contained HTML file with its plots inline and every text escaped."""

from html.parser import HTMLParser

from click.testing import CliRunner

from assistant.config import Settings
from evals.cli import eval_group
from evals.compare import compare_stored
from evals.report import render, word_diff_html, write_report
from evals.store import EvalStore, ItemRow, RunInfo

NASTY = "<script>alert('x')</script> & is 2 < 3?"


class Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.images, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_data(self, data):
        self.text.append(data)


def stored_run(store, answer_suffix=""):
    items = [ItemRow(f"q{i}", NASTY if i == 0 else f"question {i}", "the reference answer",
                     f"the answer {i}{answer_suffix}",
                     {"token_f1": 0.1 * i, "groundedness": 0.5, "duration_ms": 900 + 50 * i,
                      "first_token_ms": 300 + 10 * i, "refused": 0.0},
                     {"answerable": True}) for i in range(6)]
    summary = {"metrics": {"token_f1": {"mean": 0.25, "stderr": 0.07, "low": 0.1, "high": 0.4,
                                        "n": 6},
                           "groundedness": {"mean": 0.5, "stderr": 0.0, "low": 0.5, "high": 0.5,
                                            "n": 6}},
               "corpus": {"bleu": {"score": 12.5, "signature": "nrefs:1|tok:13a"}},
               "overview": {"items": 6, "refusal_reasons": {"NO_EVIDENCE": 1}}}
    return store.save_run(RunInfo(kind="replay", name="r", model="m", git_commit="c"), summary,
                          items)


def check_html(text: str) -> Collector:
    assert text.startswith("<!DOCTYPE html>")
    parser = Collector()
    parser.feed(text)
    parser.close()
    assert "script" not in parser.tags  # the nasty question stayed text
    assert "link" not in parser.tags and "http" not in "".join(parser.images)
    assert parser.images and all(s.startswith("data:image/png;base64,") for s in parser.images)
    return parser


def test_run_report_is_self_contained_and_escaped():
    store = EvalStore(Settings.from_env().home / "evals.db")
    run_id = stored_run(store)
    path = write_report(store, run_id)
    text = path.read_text(encoding="utf-8")
    assert path.parent.name == "reports" and '<img alt="metric bars" src="data:image/png;base64,' \
        in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; is 2 &lt; 3?" in text
    parser = check_html(text)
    assert len(parser.images) == 3  # metric bars, latency histogram, score distributions
    assert NASTY in "".join(parser.text)
    markdown = render(store, run_id, "md")
    assert "| token_f1 | 0.250 | [0.100, 0.400] | 6 |" in markdown
    assert "nrefs:1\\|tok:13a" in markdown
    assert '"question": "<script>' in render(store, run_id, "json")


def test_comparison_report_and_cli_report_command():
    store = EvalStore(Settings.from_env().home / "evals.db")
    base, cand = stored_run(store), stored_run(store, " plus more words")
    comparison_id, _ = compare_stored(store, base, cand)
    text = render(store, comparison_id, "html")
    parser = check_html(text)
    assert "baseline answer" in text and "<ins>plus more words</ins>" in text
    assert len(parser.images) >= 2
    out = Settings.from_env().home / "x" / "cmp.md"
    result = CliRunner().invoke(eval_group, ["report", comparison_id, "--out", str(out),
                                             "--format", "md"])
    assert result.exit_code == 0 and "| metric | baseline |" in out.read_text()
    missing = CliRunner().invoke(eval_group, ["report", "nope"])
    assert missing.exit_code == 1 and "no run or comparison" in missing.output
    listed = CliRunner().invoke(eval_group, ["runs"])
    assert base in listed.output and comparison_id in listed.output


def test_word_diff_escapes():
    assert word_diff_html("a <b> c", "a <i> c") == "a <del>&lt;b&gt;</del> <ins>&lt;i&gt;</ins> c"
