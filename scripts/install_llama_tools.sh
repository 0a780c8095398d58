#!/usr/bin/env bash
# Extract llama.cpp's model and LoRA converters from llama-cpp-python's source distribution:
#   install_llama_tools.sh VERSION DEST
# They are Python scripts that the LoRA loop runs (assistant/finetune/gguf_lora.py); the wheel
# does not carry them. pip's HTTP cache makes a repeated download free.
set -euo pipefail
version=$1
dest=$2
[ -f "$dest/convert_lora_to_gguf.py" ] && [ -f "$dest/.version-$version" ] && exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.venv/bin/pip download -q --no-deps --no-binary :all: "llama-cpp-python==$version" -d "$work"
root="llama_cpp_python-$version/vendor/llama.cpp"
tar xzf "$work/llama_cpp_python-$version.tar.gz" -C "$work" \
    "$root/convert_lora_to_gguf.py" "$root/convert_hf_to_gguf.py" "$root/conversion" \
    "$root/gguf-py"
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$work/$root" "$dest"
touch "$dest/.version-$version"
