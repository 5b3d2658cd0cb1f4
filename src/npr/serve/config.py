"""Settings of one server, checked on construction."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True)
class ServeConfig:
    """How ``npr serve`` answers.

    Attributes:
        model_name: the id that ``/v1/models`` lists and requests may name.
        host, port: where uvicorn binds. The default host is loopback: opening the server to a network is a choice.
        api_key: when set, every ``/v1/*`` request needs ``Authorization: Bearer <key>`` (compared in constant
            time). ``/``, ``/health`` and ``/metrics`` stay open.
        max_n: the largest ``n`` a request may ask for (each choice is one engine request).
        default_max_tokens: the critical-path budget of a request that sets none.
        max_model_len: prompt plus critical path may not exceed this (the model's position limit, when known).
        instruction: what follows the user's question in a chat prompt: ``"npr"`` (the NPR format instruction the
            recipe trains with), ``"plain"`` (a plain step-by-step instruction), ``"none"``, or any other text.
        max_body_bytes: the largest request body accepted.
    """

    model_name: str
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    max_n: int = 16
    default_max_tokens: int = 1024
    max_model_len: int | None = None
    instruction: str = "npr"
    max_body_bytes: int = 8 << 20

    def __post_init__(self) -> None:
        if not self.model_name.strip():
            raise ValueError("model_name must not be empty: it is the id clients send")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port={self.port} is not a TCP port (0..65535; 0 picks a free one)")
        if self.api_key is not None and len(self.api_key) < 8:
            raise ValueError("api_key must be at least 8 characters: a shorter key is guessed quickly")
        if self.max_n < 1:
            raise ValueError(f"max_n={self.max_n} must be >= 1")
        if self.default_max_tokens < 1:
            raise ValueError(f"default_max_tokens={self.default_max_tokens} must be >= 1")
        if self.max_model_len is not None and self.max_model_len < 2:
            raise ValueError(f"max_model_len={self.max_model_len} leaves no room for a prompt and an answer")
        if self.max_body_bytes < 1024:
            raise ValueError(f"max_body_bytes={self.max_body_bytes} is too small for any request")

    @property
    def loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return self.host == "localhost"

    def prompt_instruction(self) -> tuple[str | None, str]:
        """``(instruction, mode)`` for :func:`npr.tokens.encode_chat`."""
        if self.instruction == "npr":
            return None, "npr"
        if self.instruction == "plain":
            return None, "plain"
        if self.instruction == "none":
            return "", "npr"
        return self.instruction, "npr"
