"""`assistant finetune train`: a peft LoRA adapter on the generator, loss on the answer only.

Runs on a CUDA GPU when there is one (bf16 autocast; QLoRA 4-bit base when bitsandbytes is
installed), else on the CPU in float32. Saves the adapter with its metadata: base model, data
hash, hyperparameters, the loss curve and throughput.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from assistant.offline import enforce_offline

ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class TrainConfig:
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ALL_LINEAR
    epochs: float = 2.0
    learning_rate: float = 3e-4
    max_length: int = 1024
    batch_size: int = 8
    warmup_share: float = 0.05
    max_steps: int | None = None  # cap, for smoke tests
    seed: int = 0
    qlora: bool = False  # 4-bit base; needs bitsandbytes and a GPU


@dataclass
class TrainResult:
    adapter_dir: Path
    steps: int
    tokens: int
    seconds: float
    device: str
    loss_curve: list[float] = field(default_factory=list)
    validation_loss: float | None = None

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


def read_examples(path: Path) -> list[list[dict]]:
    return [json.loads(line)["messages"] for line in path.read_text().splitlines() if line]


def encode(tokenizer, messages: list[dict], max_length: int) -> tuple[list[int], list[int]]:
    """input ids and labels; labels are -100 everywhere but the assistant's answer (and its end
    token), so the model learns to answer, not to repeat prompts."""
    prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True,
                                           tokenize=True, return_dict=False)
    full = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=False)
    if hasattr(prompt, "input_ids"):  # some tokenizers return an encoding object
        prompt, full = prompt["input_ids"], full["input_ids"]
    prompt, full = list(prompt), list(full)
    if full[: len(prompt)] != prompt:
        raise ValueError("chat template renders the prompt differently inside the full chat")
    # Keep the answer whole: cut the prompt from the left (oldest passage text) if too long.
    answer = full[len(prompt):]
    prompt = prompt[-max(1, max_length - len(answer)):]
    ids = (prompt + answer)[:max_length]
    labels = ([-100] * len(prompt) + answer)[:max_length]
    return ids, labels


def _batches(encoded, batch_size: int, rng: random.Random):
    order = list(range(len(encoded)))
    rng.shuffle(order)
    for start in range(0, len(order), batch_size):
        yield [encoded[i] for i in order[start:start + batch_size]]


def _collate(batch, pad_id: int, device):
    import torch

    width = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (i, lab) in enumerate(batch):
        ids[row, : len(i)] = torch.tensor(i)
        labels[row, : len(lab)] = torch.tensor(lab)
        mask[row, : len(i)] = 1
    return ids.to(device), labels.to(device), mask.to(device)


def load_for_training(model_dir: Path, config: TrainConfig):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cuda = torch.cuda.is_available()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    kwargs = {"dtype": torch.float32, "local_files_only": True}
    if config.qlora:
        from transformers import BitsAndBytesConfig  # needs bitsandbytes and CUDA

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16)
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), **kwargs)
    if config.qlora:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model)
    elif cuda:
        model = model.to("cuda")
    lora = LoraConfig(r=config.rank, lora_alpha=config.alpha, lora_dropout=config.dropout,
                      target_modules=list(config.target_modules), task_type="CAUSAL_LM")
    return get_peft_model(model, lora), tokenizer


def mean_loss(model, encoded, pad_id: int, batch_size: int) -> float | None:
    import torch

    if not encoded:
        return None
    device = next(model.parameters()).device
    total, count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for start in range(0, len(encoded), batch_size):
            ids, labels, mask = _collate(encoded[start:start + batch_size], pad_id, device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                out = model(input_ids=ids, attention_mask=mask, labels=labels)
            n = int((labels[:, 1:] != -100).sum())
            total += float(out.loss) * n
            count += n
    model.train()
    return total / max(count, 1)


def train(model_dir: Path, train_path: Path, out_dir: Path, config: TrainConfig,
          validation_path: Path | None = None, metadata: dict | None = None,
          progress: bool = True) -> TrainResult:
    import torch
    from tqdm import tqdm

    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    model, tokenizer = load_for_training(model_dir, config)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else \
        tokenizer.eos_token_id
    encoded = [encode(tokenizer, m, config.max_length) for m in read_examples(train_path)]
    validation = ([encode(tokenizer, m, config.max_length)
                   for m in read_examples(validation_path)]
                  if validation_path and validation_path.exists() else [])
    device = next(model.parameters()).device
    steps_per_epoch = math.ceil(len(encoded) / config.batch_size)
    total_steps = max(1, int(steps_per_epoch * config.epochs))
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.0)
    warmup = max(1, int(total_steps * config.warmup_share))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total_steps - s) /
                                                        max(1, total_steps - warmup))))
    model.train()
    losses, tokens, step = [], 0, 0
    started = time.monotonic()
    bar = tqdm(total=total_steps, desc="Training LoRA", unit="step", disable=not progress)
    while step < total_steps:
        for batch in _batches(encoded, config.batch_size, rng):
            ids, labels, mask = _collate(batch, pad_id, device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(round(loss.item(), 4))
            tokens += int(mask.sum())
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
            if step >= total_steps:
                break
    bar.close()
    seconds = time.monotonic() - started
    result = TrainResult(out_dir, step, tokens, seconds, str(device), losses,
                         mean_loss(model, validation, pad_id, config.batch_size))
    save_adapter(model, out_dir, config, result, metadata or {}, model_dir)
    return result


def save_adapter(model, out_dir: Path, config: TrainConfig, result: TrainResult,
                 metadata: dict, model_dir: Path) -> None:
    """Adapter weights in float16 (half the bytes; loaded into float32 LoRA layers as usual)
    and adapter_metadata.json beside peft's own adapter_config.json."""
    import torch
    from safetensors.torch import load_file, save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    weights = out_dir / "adapter_model.safetensors"
    save_file({k: v.to(torch.float16) for k, v in load_file(str(weights)).items()}, str(weights))
    meta = {
        "base_model": metadata.get("base_model", Path(model_dir).name),
        "hyperparameters": {**asdict(config), "target_modules": list(config.target_modules)},
        "training": {"steps": result.steps, "tokens": result.tokens,
                     "seconds": round(result.seconds, 1), "device": result.device,
                     "tokens_per_second": round(result.tokens_per_second, 1),
                     "loss_curve": result.loss_curve,
                     "validation_loss": result.validation_loss},
        **{k: v for k, v in metadata.items() if k != "base_model"},
    }
    (out_dir / "adapter_metadata.json").write_text(json.dumps(meta, indent=2))


def main() -> None:
    """Standalone entry (`python -m assistant.finetune.train`), e.g. on a GPU machine that has
    torch, transformers and peft but not the rest of the app."""
    import argparse

    parser = argparse.ArgumentParser(description="Train a LoRA adapter on chat JSONL data.")
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True,
                        help="folder with train.jsonl, validation.jsonl, manifest.json")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--base-model", default="SmolLM2-135M-Instruct")
    defaults = TrainConfig()
    for name in ("rank", "alpha", "batch_size", "max_length", "max_steps", "seed"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=int,
                            default=getattr(defaults, name))
    for name in ("dropout", "epochs", "learning_rate"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=float,
                            default=getattr(defaults, name))
    args = parser.parse_args()
    config = TrainConfig(rank=args.rank, alpha=args.alpha, dropout=args.dropout,
                         epochs=args.epochs, learning_rate=args.learning_rate,
                         max_length=args.max_length, batch_size=args.batch_size,
                         max_steps=args.max_steps, seed=args.seed)
    manifest_path = args.data_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    result = train(args.model_dir, args.data_dir / "train.jsonl", args.out, config,
                   validation_path=args.data_dir / "validation.jsonl",
                   metadata={"base_model": args.base_model, "data": manifest})
    print(json.dumps({"steps": result.steps, "tokens": result.tokens,
                      "seconds": round(result.seconds, 1), "device": result.device,
                      "tokens_per_second": round(result.tokens_per_second, 1),
                      "final_loss": result.loss_curve[-5:],
                      "validation_loss": result.validation_loss}))


if __name__ == "__main__":
    enforce_offline()  # an entry point: offline switches before anything else runs
    main()
