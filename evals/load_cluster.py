"""The processes of a shared deployment, started for the load and fault harness: a model
server (llama.cpp's OpenAI-compatible server), a Chroma server, and N app workers
(`assistant serve`) on one data directory, each a real process that can be killed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.request import urlopen

MODEL_ALIAS = "load-model"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reachable(url: str) -> bool:
    try:
        with urlopen(url, timeout=2):
            return True
    except OSError:
        return False


@dataclass
class Service:
    name: str
    argv: list[str]
    env: dict
    port: int
    ready_path: str  # GET this (on 127.0.0.1:port) to know it serves
    log_path: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 600) -> None:
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}); see "
                                   f"{self.log_path}")
            if _reachable(self.url + self.ready_path):
                return
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} did not start in {timeout:.0f} s; see {self.log_path}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """kill -9 by default: no cleanup, as a crash or an OOM kill would leave it."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=60)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


@dataclass
class Cluster:
    home: Path
    model_server: Service
    chroma: Service
    workers: list[Service] = field(default_factory=list)

    @property
    def worker_urls(self) -> list[str]:
        return [w.url + "/" for w in self.workers]

    def start(self) -> None:
        self.model_server.start()
        self.chroma.start()
        # One at a time: the first indexes the bundled handbook into the shared Chroma.
        for worker in self.workers:
            worker.start()

    def stop(self) -> None:
        for service in [*self.workers, self.chroma, self.model_server]:
            service.stop()


def model_service(gguf: Path, log_path: Path, alias: str = MODEL_ALIAS, threads: int = 1,
                  context: int = 4096, queue_requests: bool = True) -> Service:
    """llama.cpp's OpenAI-compatible server on a free port. `queue_requests`: a request that
    arrives while another is answered waits, instead of cutting the running answer short
    (llama.cpp's default)."""
    port = free_port()
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias",
            alias, "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(context),
            "--n_threads", str(threads)]
    if queue_requests:
        argv += ["--interrupt_requests", "False"]
    return Service("model server", argv, _plain_env(), port, "/v1/models", log_path)


def chroma_service(data_dir: Path, log_path: Path) -> Service:
    """A Chroma server (`chroma run`) on a free port."""
    port = free_port()
    argv = [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(data_dir),
            "--host", "127.0.0.1", "--port", str(port)]
    return Service("chroma server", argv, _plain_env(), port, "/api/v2/heartbeat", log_path)


def _plain_env() -> dict:
    """This environment without the assistant's own settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}


def make_cluster(home: Path, model_gguf: Path, workers: int, max_new_tokens: int = 48,
                 model_threads: int = 1) -> Cluster:
    home.mkdir(parents=True, exist_ok=True)
    model_server = model_service(model_gguf, home / "model-server.log", threads=model_threads)
    chroma = chroma_service(home / "chroma-server", home / "chroma-server.log")
    worker_env = dict(_plain_env(), ASSISTANT_HOME=str(home),
                      ASSISTANT_LLM_URL=model_server.url, ASSISTANT_CHROMA_URL=chroma.url,
                      ASSISTANT_RATE_LIMIT="1000/60", ASSISTANT_MAX_NEW_TOKENS=str(max_new_tokens))
    cluster = Cluster(home, model_server, chroma)
    for i in range(workers):
        port = free_port()
        cluster.workers.append(Service(
            f"worker {i + 1}", [sys.executable, "-m", "ui.cli", "serve", "--port", str(port)],
            worker_env, port, "/", home / f"worker-{i + 1}.log"))
    return cluster
