"""Stand-ins with no model weights, for fast tests of the logic: a generator that returns queued
answers, an embedder that hashes words and a support checker that counts them."""

from __future__ import annotations

import math
import zlib
from collections import Counter

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.generator import Generation
from assistant.guards.grounding import lexical_support
from assistant.guards.support import CONTRADICTED, NOT_ADDRESSED, SUPPORTED, SupportChecker
from assistant.text import content_words, unit

FAKE_MIN_RELEVANCE = 0.15  # FakeEmbeddings' relevance threshold (MiniLM's is 0.41)


class ScriptedGenerator:
    """Streams queued responses word by word and records the prompts it was given."""

    name = "scripted"
    adapter = None

    def __init__(self, *responses: str):
        self.responses = list(responses)
        self.prompts: list[list[dict]] = []
        self.yes_no_flags: list[bool] = []  # what the pipeline said of each question

    def queue(self, *responses: str) -> None:
        self.responses.extend(responses)

    def stream(self, messages, max_new_tokens=200, yes_no=False) -> Generation:
        self.prompts.append(messages)
        self.yes_no_flags.append(yes_no)
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


class FakeEmbeddings(Embeddings):
    """A deterministic embedder with no weights, for fast tests of everything around the
    embeddings. Each content word (assistant.text.content_words: stemmed, stopwords dropped) is
    hashed to one of `dims` dimensions with a sign and weighted 1 + log(its count); the vector
    is unit-normalised. Texts that share words are similar; paraphrases in other words are not
    (that needs MiniLM: slow tests). On the handbook a question scores about 0.3 against the
    chunks about it and under 0.1 against unrelated ones: fast pipelines use
    FAKE_MIN_RELEVANCE, not MiniLM's threshold. 1024 dimensions, not MiniLM's 384: fewer
    collisions between a question's words and a long chunk's."""

    name = "fake-hashed-words"

    def __init__(self, dims: int = 1024):
        self.dims = dims

    def _vector(self, text: str) -> list[float]:
        counts = Counter(word for token in text.split() for word in content_words(token))
        vector = np.zeros(self.dims, dtype=np.float32)
        for word, count in counts.items():
            digest = zlib.crc32(word.encode("utf-8"))
            sign = 1.0 if digest & 1 << 31 else -1.0
            vector[digest % self.dims] += sign * (1.0 + math.log(count))
        return unit(vector).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


class WordSupportChecker(SupportChecker):
    """The shipped support check with word overlap where the cross-encoder would read: the
    surface verdicts, batching and memo of SupportChecker are the real ones, and a claim the
    surface leaves undecided counts as addressed when at least 70% of its content words are
    in the passage (label_of's threshold), with no model loaded."""

    def _read(self, pairs: list[tuple[str, str]]) -> list[dict[str, float]]:
        shares = [lexical_support(content_words(claim), content_words(passage))
                  for claim, passage in pairs]
        return [{SUPPORTED: share, CONTRADICTED: 0.0, NOT_ADDRESSED: 1.0 - share}
                for share in shares]
