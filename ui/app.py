"""The chat page: streamed answers, sources panel, feedback, retry/stop/clear, past chats."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import gradio as gr

from assistant.log import FEEDBACK_REASONS, LogUnavailable
from assistant.pipeline import Pipeline, TurnRequest
from assistant.records import NO_EVIDENCE, RATE_LIMITED, Turn
from ui.access import Access, LoginRequired
from ui.evals_tab import build_evals_tab
from ui.feedback_view import build_feedback_tab
from ui.model_panel import model_markdown
from ui.render import EXPECTATIONS, answer_markdown, conversation_label, sources_markdown

CSS = """
.refusal { border-left: 6px solid #d9480f; background: #fff4e6; color: #5c2a00;
           padding: 8px 12px; border-radius: 6px; }
.refusal .searched { font-size: 0.85em; color: #7a4a1f; }
.cached-badge { background: #1864ab; color: white; border-radius: 4px; padding: 1px 6px;
                font-size: 0.8em; }
.quoted { border-left: 6px solid #2b8a3e; background: #ebfbee; color: #1b4d2b;
          padding: 6px 10px; border-radius: 6px; }
.unverified { border-left: 6px solid #f59f00; background: #fff9db; color: #5f3f00;
              padding: 6px 10px; border-radius: 6px; }
"""


EVALS_WITH_LOGINS = (
    "With logins, eval runs are made from the command line (`assistant eval logged`, "
    "`assistant eval compare`): a run reads every user's conversations, and this page shows "
    "each person only their own.")


def _new_session() -> dict:
    # history: chat messages shown; turns: the Turn behind each assistant message (by index)
    return {"conversation_id": None, "history": [], "turns": {}, "last_question": None}


class ChatApp:
    def __init__(self, pipeline: Pipeline, access: Access | None = None):
        self.pipeline = pipeline
        self.log = pipeline.log
        self.access = access or Access(pipeline.settings)
        self._stops: dict[str, threading.Event] = {}

    # -- chat ---------------------------------------------------------------------------------

    def _run_turn(self, session: dict, question: str, request: gr.Request, answer_anyway=False,
                  use_cache=True, sources_only=False):
        try:
            user = self.access.user(request)
        except LoginRequired as err:
            gr.Warning(str(err))
            yield session["history"], gr.update(), gr.update(), gr.update()
            return
        wait = self.access.limiter.wait_needed(self.access.rate_key(request))
        if wait:
            gr.Warning(f"Too many questions at once: please wait {wait:.0f} s.")
        stop = threading.Event()
        self._stops[request.session_hash] = stop
        history = session["history"]
        history.append({"role": "user", "content": question})
        history.append({"role": "assistant", "content": "\u2026"})
        yield history, gr.update(), gr.update(visible=False), gr.update(visible=False)
        turn_request = TurnRequest(
            question, session["conversation_id"], answer_anyway=answer_anyway,
            use_cache=use_cache, sources_only=sources_only, stop_event=stop, user=user,
            refusal=RATE_LIMITED if wait else None,
        )
        text = ""
        for kind, payload in self.pipeline.stream(turn_request):
            if kind == "token":
                text += payload
                history[-1] = {"role": "assistant", "content": text}
                yield history, gr.update(), gr.update(), gr.update()
            elif kind == "reset":  # the output guard asked the model once more
                text = f"*{payload}*\n\n"
                history[-1] = {"role": "assistant", "content": text}
                yield history, gr.update(), gr.update(), gr.update()
            elif kind == "done":
                turn = payload
                session["conversation_id"] = turn.conversation_id
                session["last_question"] = question
                session["turns"][len(history) - 1] = turn
                history[-1] = {"role": "assistant", "content": answer_markdown(turn)}
                offer_anyway = turn.refused and turn.reason == NO_EVIDENCE
                yield (history, sources_markdown(turn), gr.update(visible=offer_anyway),
                       gr.update(visible=turn.cache_hit))
        self._stops.pop(request.session_hash, None)

    def submit(self, question: str, session: dict, request: gr.Request):
        # The box is cleared once, when the question is taken; later updates leave it alone,
        # so what the user types while the answer streams is kept.
        box = ""
        for update in self._run_turn(session, question, request):
            yield box, *update, session
            box = gr.update()

    def _again(self, session: dict, request: gr.Request, **options):
        question = session.get("last_question")
        if not question:
            gr.Info("Nothing to ask again yet.")
            yield session["history"], gr.update(), gr.update(), gr.update(), session
            return
        for update in self._run_turn(session, question, request, **options):
            yield *update, session

    def retry(self, session: dict, request: gr.Request):
        yield from self._again(session, request)

    def fresh(self, session: dict, request: gr.Request):
        """Ask the last question again, bypassing the semantic cache."""
        yield from self._again(session, request, use_cache=False)

    def answer_anyway(self, session: dict, request: gr.Request):
        yield from self._again(session, request, answer_anyway=True)

    def sources_only(self, session: dict, request: gr.Request):
        yield from self._again(session, request, sources_only=True)

    def stop(self, request: gr.Request):
        event = self._stops.get(request.session_hash)
        if event is not None:
            event.set()

    def clear(self):
        session = _new_session()
        return (session["history"], sources_markdown(None), gr.update(visible=False),
                gr.update(visible=False), session)

    # -- feedback -----------------------------------------------------------------------------

    def on_like(self, session: dict, data: gr.LikeData, request: gr.Request):
        index = data.index if isinstance(data.index, int) else data.index[0]
        turn = session["turns"].get(index)
        if turn is None or not turn.turn_id:
            gr.Warning("This message was not logged, so it cannot be rated.")
            return gr.update(visible=False), None, gr.update(), session
        session["rating_turn"] = turn.turn_id
        liked = data.liked is True or data.liked == "Like"
        if liked:
            self._save_feedback(turn.turn_id, "up", None, None, request)
            return gr.update(visible=False), None, "Thanks: saved \U0001f44d.", session
        return (
            gr.update(visible=True),
            turn.turn_id,
            "What was wrong? Pick a reason, optionally write the correct answer, then send.",
            session,
        )

    def send_feedback(self, turn_id: str | None, reason: str | None, correction: str,
                      request: gr.Request):
        if not turn_id:
            return gr.update(), "Click \U0001f44e on an answer first."
        if reason not in FEEDBACK_REASONS:
            return gr.update(), "Please pick a reason."
        message = self._save_feedback(turn_id, "down", reason, correction, request)
        return gr.update(visible=False), message

    def _save_feedback(self, turn_id, rating, reason, correction, request) -> str:
        try:
            self.pipeline.record_feedback(turn_id, rating, reason, correction,
                                          user=self.access.user(request))
        except (LogUnavailable, LoginRequired) as err:
            gr.Warning(str(err))
            return f"Feedback NOT saved: {err}"
        return "Thanks: your feedback was saved."

    # -- earlier conversations ------------------------------------------------------------------

    def conversation_choices(self, request: gr.Request):
        """The user's own earlier conversations (everyone's without logins)."""
        try:
            rows = self.log.conversations(limit=50, user=self.access.user(request))
        except (LogUnavailable, LoginRequired) as err:
            gr.Warning(str(err))
            return gr.update()
        return gr.update(choices=[(conversation_label(r), r["id"]) for r in rows], value=None)

    def open_conversation(self, conversation_id: str | None, session: dict,
                          request: gr.Request):
        if not conversation_id:
            return gr.update(), gr.update(), session
        try:
            rows = self.log.turns(conversation_id, user=self.access.user(request))
        except (LogUnavailable, LoginRequired) as err:
            gr.Warning(str(err))
            return gr.update(), gr.update(), session
        if not rows:  # not theirs, or gone
            gr.Warning("That conversation is not available.")
            return gr.update(), gr.update(), session
        session = _new_session()
        session["conversation_id"] = conversation_id
        turn = None
        for row in rows:
            turn = Turn.from_row(row)
            session["history"].append({"role": "user", "content": turn.question})
            session["history"].append({"role": "assistant", "content": answer_markdown(turn)})
            session["turns"][len(session["history"]) - 1] = turn
            session["last_question"] = turn.question
        return session["history"], sources_markdown(turn), session

    # -- layout ---------------------------------------------------------------------------------

    def build(self) -> gr.Blocks:
        with gr.Blocks(title="Local assistant") as demo:
            gr.Markdown("## Local assistant \u2014 answers with sources, or says it can't")
            gr.Markdown(EXPECTATIONS, elem_id="expectations")
            gr.Markdown(self._status_line(), elem_id="status-line")
            with gr.Tab("Chat"):
                view = _chat_view()
            self._wire(view)
            demo.load(self.conversation_choices, None, view.conversations)
            if self.log is not None:  # both read the conversation log
                self._build_feedback_and_evals(demo)
        return demo

    def _wire(self, v: SimpleNamespace) -> None:
        """Connect the chat view's buttons to the turn, feedback and history handlers."""
        chat_out = [v.chatbot, v.sources, v.anyway, v.fresh, v.session]
        # "multiple": a question sent while an answer streams waits its turn in the queue
        # (Gradio's default, "once", drops it silently).
        for trigger in (v.send.click, v.question.submit):
            trigger(self.submit, [v.question, v.session], [v.question, *chat_out],
                    trigger_mode="multiple").then(self.conversation_choices, None,
                                                  v.conversations)
        v.retry.click(self.retry, [v.session], chat_out)
        v.anyway.click(self.answer_anyway, [v.session], chat_out)
        v.only_sources.click(self.sources_only, [v.session], chat_out)
        v.fresh.click(self.fresh, [v.session], chat_out)
        v.stop.click(self.stop, None, None, queue=False)
        v.clear.click(self.clear, None, chat_out)
        v.chatbot.like(self.on_like, [v.session],
                       [v.feedback_panel, v.rating_turn, v.feedback_status, v.session])
        v.send_feedback.click(self.send_feedback, [v.rating_turn, v.reason, v.correction],
                              [v.feedback_panel, v.feedback_status])
        v.refresh.click(self.conversation_choices, None, v.conversations)
        v.conversations.input(self.open_conversation, [v.conversations, v.session],
                              [v.chatbot, v.sources, v.session])

    def _build_feedback_and_evals(self, demo: gr.Blocks) -> None:
        settings = self.pipeline.settings
        with gr.Tab("Feedback"):
            build_feedback_tab(demo, self.log, settings.min_relevance, settings.home / "exports",
                               user_of=self.access.user)
        if self.access.mode is not None:  # an eval run reads everyone's conversations
            with gr.Tab("Evals"):
                gr.Markdown(EVALS_WITH_LOGINS, elem_id="evals-state")
            return
        with gr.Tab("Evals"):
            # Scoring reuses the embedder the guards already loaded, if any.
            build_evals_tab(demo, settings.home / "evals.db", self.log.path,
                            settings.min_relevance,
                            embed=getattr(self.pipeline.guards, "embed_fn", None),
                            model_markdown=model_markdown(self.pipeline.generator,
                                                          settings.adapters_dir))

    def _status_line(self) -> str:
        generator = self.pipeline.generator
        adapter = generator.adapter or "none (base model)"
        runtime = getattr(generator, "runtime", "")
        return (f"<small>Model: {generator.name} ({runtime}) \u00b7 LoRA adapter: {adapter} \u00b7 "
                f"knowledge base: {self.pipeline.kb_version()}</small>")


def launch(pipeline: Pipeline, host: str = "127.0.0.1", port: int = 7860, **kwargs):
    chat = ChatApp(pipeline)
    app = chat.build()
    app.queue(default_concurrency_limit=2)
    print(f"Open http://{host}:{port} in your browser.", flush=True)
    app.launch(server_name=host, server_port=port, css=CSS, show_error=False,
               auth=chat.access.gradio_auth(), **kwargs)
    return app


def _chat_view() -> SimpleNamespace:
    """The chat tab's components (history, chat, question, buttons, feedback, sources)."""
    v = SimpleNamespace(session=gr.State(_new_session()), rating_turn=gr.State(None))
    with gr.Row():
        with gr.Column(scale=1, min_width=220):
            v.conversations = gr.Dropdown(label="Earlier conversations", choices=[],
                                          elem_id="conversations")
            v.refresh = gr.Button("Refresh list", size="sm", elem_id="refresh-conversations")
        with gr.Column(scale=3):
            v.chatbot = gr.Chatbot(label="Chat", height=480, elem_id="chatbot",
                                   sanitize_html=True)
            v.question = gr.Textbox(
                label="Your question", elem_id="question", max_lines=8,
                placeholder="Ask about evals, RAG, LoRA, caching, guardrails\u2026")
            with gr.Row():
                v.send = gr.Button("Send", variant="primary", elem_id="send")
                v.stop = gr.Button("Stop", elem_id="stop")
                v.retry = gr.Button("Retry", elem_id="retry")
                v.only_sources = gr.Button("Show sources only", elem_id="sources-only")
                v.clear = gr.Button("Clear", elem_id="clear")
            with gr.Row():
                v.anyway = gr.Button("Answer anyway (unverified)", visible=False,
                                     elem_id="answer-anyway")
                v.fresh = gr.Button("Ask again, fresh", visible=False, elem_id="fresh")
            with gr.Group(visible=False, elem_id="feedback-panel") as v.feedback_panel:
                v.reason = gr.Radio(list(FEEDBACK_REASONS), label="What was wrong?",
                                    elem_id="reason")
                v.correction = gr.Textbox(label="Corrected answer (optional)", lines=3,
                                          elem_id="correction")
                v.send_feedback = gr.Button("Send feedback", elem_id="send-feedback")
            v.feedback_status = gr.Markdown(elem_id="feedback-status")
        with gr.Column(scale=2):
            v.sources = gr.Markdown(sources_markdown(None), elem_id="sources", label="Sources")
    return v
