"""Streamed generation: the Generation every runtime returns, and the transformers runtime
(the fallback, and the form that peft trains and log-likelihood evals score)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from assistant.base_models import ModelUnavailable
from assistant.yes_no import YES_WORD, opening_bias


@dataclass
class Generation:
    """An in-progress answer: iterate for text pieces; token counts fill in as it streams."""

    pieces: Iterator[str]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    stop_event: threading.Event = field(default_factory=threading.Event)

    def __iter__(self) -> Iterator[str]:
        return self.pieces

    def stop(self) -> None:
        self.stop_event.set()


class LoadsOnce:
    """Loads its model on first use, once, whichever thread asks first; generates one answer
    at a time (two concurrent generations on 2 cores only slow both down, and llama.cpp's
    context is not thread-safe)."""

    def __init__(self):
        self._loaded = None
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()

    def load(self):
        with self._load_lock:
            if self._loaded is None:
                self._loaded = self._load()
        return self._loaded

    def _load(self):
        raise NotImplementedError


class LocalGenerator(LoadsOnce):
    """A local causal LM directory through transformers (+ peft adapter), loaded on first use."""

    runtime = "transformers"

    def __init__(self, model_dir: Path, adapter_dir: Path | None = None, name: str | None = None,
                 yes_bias: float = 0.0):
        self.model_dir = Path(model_dir)
        self.yes_bias = yes_bias  # see assistant.yes_no
        self.adapter_dir = Path(adapter_dir) if adapter_dir else None
        self.name = name or self.model_dir.name
        self.adapter = self.adapter_dir.name if self.adapter_dir else None
        super().__init__()

    def _load(self):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if not (self.model_dir / "config.json").is_file():
            raise ModelUnavailable(
                f"No model found in {self.model_dir}. Run `assistant serve` once to convert the "
                "bundled model, or set ASSISTANT_MODEL to a local Hugging Face model directory."
            )
        tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)
        # float32, not bfloat16: on CPUs without bf16 matrix units the prompt's prefill runs
        # about 5x slower in bf16 (measured 20 s vs 4 s for 1,100 tokens on 2 cores).
        model = AutoModelForCausalLM.from_pretrained(
            str(self.model_dir), dtype=torch.float32, local_files_only=True
        )
        if self.adapter_dir is not None:
            if not (self.adapter_dir / "adapter_config.json").is_file():
                raise ModelUnavailable(
                    f"Adapter {self.adapter_dir} not found (no adapter_config.json). Unset "
                    "ASSISTANT_ADAPTER or point it at an adapter directory."
                )
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(self.adapter_dir))
        model.eval()
        return model, tokenizer

    def prompt_ids(self, messages: list[dict]):
        _, tokenizer = self.load()
        return tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )

    def _logits_processor(self, tokenizer, yes_no: bool):
        from transformers import LogitsProcessorList

        if not (yes_no and self.yes_bias):
            return LogitsProcessorList()
        yes_token = tokenizer.encode(YES_WORD, add_special_tokens=False)[0]
        return LogitsProcessorList([opening_bias(yes_token, self.yes_bias)])

    def stream(self, messages: list[dict], max_new_tokens: int = 200,
               yes_no: bool = False) -> Generation:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        model, tokenizer = self.load()
        inputs = self.prompt_ids(messages)
        streamer = TextIteratorStreamer(
            tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=300
        )
        generation = Generation(iter(()), prompt_tokens=int(inputs["input_ids"].shape[1]))

        class _StopOnEvent(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                generation.completion_tokens = int(input_ids.shape[1]) - generation.prompt_tokens
                return generation.stop_event.is_set()

        errors: list[BaseException] = []

        def run():
            try:
                with self._generate_lock, torch.inference_mode():
                    model.generate(
                        **inputs,
                        streamer=streamer,
                        max_new_tokens=max_new_tokens,
                        do_sample=False,
                        repetition_penalty=1.1,
                        stopping_criteria=StoppingCriteriaList([_StopOnEvent()]),
                        logits_processor=self._logits_processor(tokenizer, yes_no),
                        pad_token_id=tokenizer.eos_token_id,
                    )
            except BaseException as err:  # surfaced to the consumer below
                errors.append(err)
                streamer.end()

        def pieces():
            thread = threading.Thread(target=run, daemon=True)
            thread.start()
            for text in streamer:
                if text:
                    yield text
            thread.join()
            if errors:
                raise errors[0]

        generation.pieces = pieces()
        return generation


