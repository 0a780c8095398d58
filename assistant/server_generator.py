"""The model behind an OpenAI-compatible server (ASSISTANT_LLM_URL): llama.cpp's own server
(`python -m llama_cpp.server`), vLLM or TGI, streamed over HTTP.

What works through a server, and what the app says when it does not:
* Streaming: server-sent events of /v1/chat/completions, piece by piece as they arrive.
* Stop: closing the response; the servers above stop decoding when the client goes away.
* The LoRA adapter is the server's to apply. ASSISTANT_ADAPTER names the model to ask for
  (vLLM serves each `--lora-modules NAME=PATH` as a model called NAME; llama.cpp's server
  applies `--lora_path` and serves it under `--model_alias`); if the server does not list that
  name, the turn fails with a message that says how to start the server with it.
* Token counts come from the server's usage report when it sends one (`include_usage`), else
  the answer's pieces are counted and the prompt is reported as 0.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx

from assistant.base_models import ModelUnavailable
from assistant.generator import Generation

CUT_SHORT = ("(llama.cpp's server drops a running answer when another request arrives, unless "
             "it is started with --interrupt_requests False.)")
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 300.0  # a long answer on a busy server


def api_base(url: str) -> str:
    """"http://host:8000" or ".../v1" -> "http://host:8000/v1"."""
    url = url.rstrip("/")
    return url if url.endswith("/v1") else f"{url}/v1"


class ServerGenerator:
    runtime = "server"

    def __init__(self, url: str, model: str | None = None, adapter: str | None = None,
                 api_key: str | None = None):
        self.base = api_base(url)
        self.adapter = adapter
        self._requested_model = model
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=httpx.Timeout(READ_TIMEOUT_S,
                                                          connect=CONNECT_TIMEOUT_S))
        self._served: list[str] | None = None

    def served_models(self) -> list[str]:
        """The model ids the server lists (asked once; a failure is asked again next time)."""
        if self._served is None:
            try:
                response = self._client.get(f"{self.base}/models", headers=self._headers)
                response.raise_for_status()
            except httpx.HTTPError as err:
                raise ModelUnavailable(f"The model server at {self.base} is not reachable "
                                       f"({type(err).__name__}: {err}). Start it, or unset "
                                       "ASSISTANT_LLM_URL to run the model in-process.") from err
            self._served = [m["id"] for m in response.json().get("data", [])]
        return self._served

    @property
    def name(self) -> str:
        """The model the log names: the one asked for, else the first the server lists."""
        if self._requested_model:
            return self._requested_model
        try:
            served = self.served_models()
        except ModelUnavailable:
            return "server (unreachable)"
        return served[0] if served else "server"

    def _model_to_ask(self) -> str:
        served = self.served_models()
        if self.adapter is None:
            return self._requested_model or (served[0] if served else "default")
        if self.adapter not in served:
            raise ModelUnavailable(
                f"The model server at {self.base} does not serve adapter {self.adapter!r} "
                f"(it lists: {', '.join(served) or 'nothing'}). Start it with the adapter "
                f"(vLLM: --lora-modules {self.adapter}=PATH; llama.cpp: --lora_path "
                f"adapters/{self.adapter}/adapter.gguf --model_alias {self.adapter}), or unset "
                "ASSISTANT_ADAPTER.")
        return self.adapter

    def warm(self, messages: list[dict]) -> None:
        """The server keeps its own model loaded; only check that it answers."""
        self.served_models()

    def stream(self, messages: list[dict], max_new_tokens: int = 200,
               yes_no: bool = False) -> Generation:
        # `yes_no` is not applied: an OpenAI-style logit_bias would hold for every token of the
        # answer, not only its first (see assistant.yes_no); a served model keeps its habit.
        body = {"model": self._model_to_ask(), "messages": messages, "stream": True,
                "max_tokens": max_new_tokens, "temperature": 0.0,
                "stream_options": {"include_usage": True}}
        generation = Generation(iter(()))
        generation.pieces = self._pieces(body, generation)
        return generation

    def _pieces(self, body: dict, generation: Generation) -> Iterator[str]:
        try:
            with self._client.stream("POST", f"{self.base}/chat/completions", json=body,
                                     headers=self._headers) as response:
                if response.status_code >= 400:
                    response.read()
                    raise ModelUnavailable(f"The model server at {self.base} refused the "
                                           f"request ({response.status_code}): "
                                           f"{response.text[:300]}")
                yield from self._read_events(response, generation)
        except httpx.HTTPError as err:
            raise ModelUnavailable(f"The model server at {self.base} failed mid-answer "
                                   f"({type(err).__name__}: {err}). {CUT_SHORT}") from err

    @staticmethod
    def _read_events(response: httpx.Response, generation: Generation) -> Iterator[str]:
        """Content pieces from the server-sent events; leaving early closes the response,
        which tells the server to stop. An answer must end with a finish reason (stop,
        length): one that ends without is a cut, not a short answer."""
        finish = None
        for line in response.iter_lines():
            if generation.stop_event.is_set():
                return
            if not line.startswith("data:"):
                continue
            data = line[len("data:"):].strip()
            if data == "[DONE]":
                break
            if not data:
                continue
            chunk = json.loads(data)
            usage = chunk.get("usage")
            if usage:
                generation.prompt_tokens = usage.get("prompt_tokens", 0)
                generation.completion_tokens = usage.get("completion_tokens", 0)
            for choice in chunk.get("choices") or []:
                finish = choice.get("finish_reason") or finish
                text = (choice.get("delta") or {}).get("content")
                if text:
                    if not usage:
                        generation.completion_tokens += 1
                    yield text
        if finish is None and not generation.stop_event.is_set():
            raise ModelUnavailable(f"The model server ended the answer early. {CUT_SHORT}")
