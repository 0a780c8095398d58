"""Streamed chat generation through llama.cpp (llama-cpp-python), with an optional LoRA adapter.

The default runtime: a 4-5 bit GGUF decodes several times faster on a CPU than the same model
in transformers. The chat template is the one stored in the GGUF, so llama.cpp and the
transformers form of the same file (used for training) format a conversation identically.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from assistant.base_models import ModelUnavailable
from assistant.generator import Generation, LoadsOnce
from assistant.yes_no import YES_WORD, opening_bias

# Room for the system prompt, four trimmed sources, a long question and the answer.
DEFAULT_CONTEXT_TOKENS = 4096


def default_threads() -> int:
    """One thread per core this process may use: decode is memory-bound, and more threads
    than cores only adds contention."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class LlamaCppGenerator(LoadsOnce):
    """A GGUF model served by llama.cpp, loaded on first use, one generation at a time."""

    runtime = "llama.cpp"

    def __init__(self, gguf: Path, adapter_gguf: Path | None = None, name: str | None = None,
                 threads: int | None = None, context_tokens: int = DEFAULT_CONTEXT_TOKENS,
                 yes_bias: float = 0.0):
        self.gguf = Path(gguf)
        self.adapter_gguf = Path(adapter_gguf) if adapter_gguf else None
        self.name = name or self.gguf.stem
        # An adapter is named by its folder (adapters/NAME/adapter.gguf), as the log shows it.
        self.adapter_dir = self.adapter_gguf.parent if self.adapter_gguf else None
        self.adapter = self.adapter_dir.name if self.adapter_dir else None
        self.threads = threads or default_threads()
        self.context_tokens = context_tokens
        self.yes_bias = yes_bias  # see assistant.yes_no
        super().__init__()

    def _load(self):
        if not self.gguf.is_file():
            raise ModelUnavailable(
                f"No model file at {self.gguf}. Run `bash scripts/setup.sh`, or set "
                "ASSISTANT_MODEL to a local .gguf file.")
        if self.adapter_gguf is not None and not self.adapter_gguf.is_file():
            raise ModelUnavailable(
                f"The adapter {self.adapter_gguf} is missing. Convert it with `assistant "
                "finetune convert`, or set ASSISTANT_ADAPTER=none for the base model.")
        try:
            from llama_cpp import Llama
        except ImportError as err:
            raise ModelUnavailable(
                "llama-cpp-python is not installed; run `bash scripts/setup.sh`, or set "
                "ASSISTANT_RUNTIME=transformers.") from err
        return Llama(
            model_path=str(self.gguf),
            lora_path=str(self.adapter_gguf) if self.adapter_gguf else None,
            n_ctx=self.context_tokens,
            n_threads=self.threads,
            n_threads_batch=self.threads,
            seed=0,
            verbose=False,
        )

    def count_tokens(self, text: str) -> int:
        return len(self.load().tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def warm(self, messages: list[dict]) -> None:
        """Evaluate a prompt once, so that the next prompt with the same beginning (the
        fixed system prompt) reuses its KV cache instead of computing it again."""
        for _ in self._pieces(messages, max_new_tokens=1, generation=Generation(iter(()))):
            pass

    def stream(self, messages: list[dict], max_new_tokens: int = 200,
               yes_no: bool = False) -> Generation:
        self.load()  # fail here, before streaming, when the model cannot be loaded
        generation = Generation(iter(()))
        generation.pieces = self._pieces(messages, max_new_tokens, generation, yes_no)
        return generation

    def _logits_processor(self, llm, yes_no: bool):
        if not (yes_no and self.yes_bias):
            return None
        from llama_cpp import LogitsProcessorList

        yes_token = llm.tokenize(YES_WORD.encode("utf-8"), add_bos=False, special=False)[0]
        return LogitsProcessorList([opening_bias(yes_token, self.yes_bias)])

    def _pieces(self, messages: list[dict], max_new_tokens: int,
                generation: Generation, yes_no: bool = False) -> Iterator[str]:
        llm = self.load()
        # Held while the consumer iterates; closing the iterator (Stop, a closed tab) releases
        # it through the generator's finally, and llama.cpp stops decoding at once.
        with self._generate_lock:
            chunks = llm.create_chat_completion(
                messages=messages, max_tokens=max_new_tokens, temperature=0.0,
                repeat_penalty=1.05, stream=True,
                logits_processor=self._logits_processor(llm, yes_no))
            try:
                for chunk in chunks:
                    if generation.stop_event.is_set():
                        break
                    text = chunk["choices"][0]["delta"].get("content")
                    if text:
                        generation.completion_tokens += 1
                        yield text
            finally:
                chunks.close()
                # The context holds exactly this prompt and answer after a turn.
                generation.prompt_tokens = max(0, llm.n_tokens - generation.completion_tokens)
