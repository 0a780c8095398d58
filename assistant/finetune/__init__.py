"""The LoRA fine-tuning loop: feedback and golden data -> adapter -> eval gate -> live."""
