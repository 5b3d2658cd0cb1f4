"""Loading the policy for training (tags added first, LoRA through peft), saving it, and checking checkpoints.

* :func:`load_policy` gives ``(model, tokenizer, tags)`` from a :class:`~npr.train.config.model.ModelConfig`:
  a saved model or a fresh one built from a config, the eight tags added and initialised when missing
  (:func:`npr.tokens.add_tags`), and LoRA adapters when asked.
* :func:`save_policy` writes HF folders: the full model, or the adapter (and merged weights on request).
* :func:`check_checkpoint` refuses a checkpoint of another model (architecture or vocabulary) with the reason.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from pathlib import Path
from typing import Any

import torch
from huggingface_hub.errors import StrictDataclassError

from npr.tokens import TagIds, add_tags, load_tokenizer
from npr.train.config.model import ModelConfig

#: Config fields that must agree between a checkpoint and the model it is loaded into.
ARCH_KEYS = (
    "model_type", "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
    "intermediate_size", "head_dim", "tie_word_embeddings",
)  # fmt: skip


def _tokenizer(cfg: ModelConfig):
    source = cfg.tokenizer_path
    if Path(source).expanduser().is_dir():
        return load_tokenizer(source)
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"no tokenizer at {source!r}: it is not a folder, and loading it as a hub id failed ({exc}). Relative "
            "paths in a config file are taken from the file's folder."
        ) from None


def check_trainable_attention(cfg: ModelConfig) -> None:
    """Refuse ``attn: flex`` without a GPU before anything loads: FlexAttention has no backward pass on CPU."""
    if cfg.attn == "flex" and not torch.cuda.is_available():
        raise ValueError("model.attn: flex trains only on a GPU (FlexAttention has no backward pass on CPU); use sdpa")


def pad_id(tokenizer) -> int:
    """The id that pads rows: the tokenizer's pad token, else EOS, else 0 (pad positions are never scored)."""
    if tokenizer.pad_token_id is not None:
        return int(tokenizer.pad_token_id)
    return int(tokenizer.eos_token_id or 0)


def _check_init_keys(model_type: str, spec: dict[str, Any]) -> None:
    """Refuse a ``model.init`` key that looks like a misspelt field of the config class.

    transformers keeps unknown keys as plain attributes, so ``hiden_size`` would build a model of the default
    (full) size. Keys it reads without declaring them (``rope_theta``) are unlike any field and pass.
    """
    from transformers import CONFIG_MAPPING

    if model_type not in CONFIG_MAPPING:
        return  # AutoConfig names the known types
    cls = CONFIG_MAPPING[model_type]
    known = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()
    known |= set(getattr(cls, "attribute_map", {}))
    for key in spec:
        close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.8) if key not in known else []
        if close:
            raise ValueError(f"unknown key {key!r} for {cls.__name__}; did you mean {close[0]!r}?")


def _model(cfg: ModelConfig, vocab: int, seed: int):
    from transformers import AutoConfig, AutoModelForCausalLM

    dtype = getattr(torch, cfg.dtype)
    if cfg.init is not None:
        spec = dict(cfg.init)
        model_type = spec.pop("model_type")
        spec.setdefault("vocab_size", vocab)
        try:
            _check_init_keys(model_type, spec)
            hf_config = AutoConfig.for_model(model_type, **spec)
        except (ValueError, TypeError, StrictDataclassError) as exc:
            raise ValueError(f"model.init: transformers cannot build a {model_type!r} config from it: {exc}") from None
        torch.manual_seed(seed)
        return AutoModelForCausalLM.from_config(hf_config, attn_implementation=cfg.attn_implementation, dtype=dtype)
    folder = Path(cfg.path).expanduser()
    if folder.exists() and not (folder / "config.json").is_file():
        raise ValueError(
            f"model.path {cfg.path!r} holds no model: expected config.json and weights (a folder written by "
            "save_pretrained)"
        )
    try:
        return AutoModelForCausalLM.from_pretrained(cfg.path, dtype=dtype, attn_implementation=cfg.attn_implementation)
    except (OSError, ValueError) as exc:
        raise ValueError(f"could not load the model at {cfg.path!r}: {exc}") from None


def load_policy(cfg: ModelConfig, *, seed: int = 0) -> tuple[Any, Any, TagIds]:
    """(model, tokenizer, tags): the model to train, with the eight tags and, when ``cfg.lora_r``, LoRA adapters.

    The model is in fp32/bf16/fp16 as configured, on CPU; the trainer moves it.
    """
    tokenizer = _tokenizer(cfg)
    had_tags = _has_tags(tokenizer)
    if cfg.init is not None:
        # A fresh model is built with room for the tags; its random rows need no initialisation from words.
        add_tags(None, tokenizer)
    model = _model(cfg, len(tokenizer), seed)
    rows_before = model.get_input_embeddings().weight.shape[0]
    if len(tokenizer) > rows_before:
        # add_tags would grow the embedding to fit, and training would run on ids the model never learnt.
        raise ValueError(
            f"the tokenizer {cfg.tokenizer_path!r} has {len(tokenizer)} tokens, more than the {rows_before} "
            f"embedding rows of the model {cfg.path!r}: it belongs to another model (leave model.tokenizer unset "
            "to use the model's own)"
        )
    tags = add_tags(model, tokenizer)
    new_rows = [t for t in tags.all if not had_tags or t >= rows_before]
    if cfg.lora_r:
        model = _with_lora(model, cfg, new_rows)
    return model, tokenizer, tags


def _has_tags(tokenizer) -> bool:
    try:
        TagIds.from_tokenizer(tokenizer)
        return True
    except ValueError:
        return False


def _with_lora(model, cfg: ModelConfig, trainable_tokens: list[int]):
    from peft import LoraConfig, get_peft_model

    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [m for m in cfg.lora_target_modules if m not in names]
    if missing:
        raise ValueError(
            f"model.lora_target_modules {missing} name no module of this {model.config.model_type} model "
            "(for Llama and Qwen: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)"
        )
    lora = LoraConfig(
        r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
        target_modules=list(cfg.lora_target_modules), task_type="CAUSAL_LM",
        # Tags new to this model have only their initial embeddings: let LoRA training move those rows too.
        trainable_token_indices=trainable_tokens or None,
    )  # fmt: skip
    return get_peft_model(model, lora)


def base_model(model):
    """The HF causal LM inside wrappers (DDP, peft): what the engine runs. With LoRA its layers carry the adapters."""
    while hasattr(model, "module") and not hasattr(model, "get_base_model"):
        model = model.module
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def is_lora(model) -> bool:
    return hasattr(model, "get_base_model") and hasattr(model, "peft_config")


def save_policy(model, tokenizer, folder: str | Path, *, merge_lora: bool = False) -> dict[str, str]:
    """Write the model in HF format; returns ``{"model": path}`` or ``{"adapter": path[, "model": merged path]}``.

    Without LoRA, ``folder/`` gets the full model and tokenizer. With LoRA, ``folder/adapter/`` gets the adapter
    and tokenizer, and with ``merge_lora`` ``folder/`` the merged weights (the training model is left unmerged).
    """
    import copy

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not is_lora(model):
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        return {"model": str(folder)}
    adapter = folder / "adapter"
    model.save_pretrained(adapter)
    tokenizer.save_pretrained(adapter)
    out = {"adapter": str(adapter)}
    if merge_lora:
        merged = copy.deepcopy(model).merge_and_unload()
        merged.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        out["model"] = str(folder)
    return out


def architecture(config) -> dict[str, Any]:
    """The fields of an HF config (object or dict) that a checkpoint must share with the model it resumes."""
    get = config.get if isinstance(config, dict) else lambda k, d=None: getattr(config, k, d)
    return {k: get(k) for k in ARCH_KEYS}


def check_checkpoint(model, folder: str | Path) -> None:
    """Raise ``ValueError`` when the checkpoint in ``folder`` was made for another model (architecture or
    vocabulary), naming the fields that differ; a folder without ``config.json`` is not checked."""
    file = Path(folder) / "config.json"
    if not file.is_file():
        return
    try:
        saved = architecture(json.loads(file.read_text()))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"checkpoint {str(folder)!r}: unreadable config.json ({exc})") from None
    current = architecture(base_model(model).config)
    diff = {k: (saved[k], current[k]) for k in ARCH_KEYS if saved[k] is not None and saved[k] != current[k]}
    if diff:
        detail = ", ".join(f"{k}: checkpoint {a!r} vs model {b!r}" for k, (a, b) in diff.items())
        raise ValueError(f"checkpoint {str(folder)!r} belongs to another model ({detail}); resume with the model it was made from")
