"""A real generator implementation that returns queued answers, for fast tests of the logic."""

from __future__ import annotations

from assistant.generator import Generation


class ScriptedGenerator:
    """Streams queued responses word by word and records the prompts it was given."""

    name = "scripted"
    adapter = None

    def __init__(self, *responses: str):
        self.responses = list(responses)
        self.prompts: list[list[dict]] = []

    def queue(self, *responses: str) -> None:
        self.responses.extend(responses)

    def stream(self, messages, max_new_tokens=200) -> Generation:
        self.prompts.append(messages)
        text = self.responses.pop(0) if self.responses else "No scripted response left."
        words = text.split(" ")
        generation = Generation(iter(()), prompt_tokens=sum(len(m["content"]) for m in messages))

        def pieces():
            for i, word in enumerate(words):
                if generation.stop_event.is_set():
                    return
                generation.completion_tokens = i + 1
                yield word if i == 0 else " " + word

        generation.pieces = pieces()
        return generation
