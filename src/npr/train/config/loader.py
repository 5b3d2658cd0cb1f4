"""Typed configs from YAML: unknown keys refused, types checked, command-line overrides, paths resolved.

The config dataclasses (:mod:`npr.train.config.sft`, :mod:`npr.train.config.rl`) say what is allowed and check their
invariants in ``__post_init__``; this module turns a YAML file (or a dict) into one of them:

* every key must be a field: an unknown key is refused with its dotted path and the closest valid name;
* every value must have the field's type (``int``, ``float``, ``bool``, ``str``, ``X | None``, ``Literal``,
  ``list[str]``, ``dict[str, float]``, ``dict[str, Any]`` or a nested config);
* ``overrides`` such as ``["lr=1e-5", "rollout.group_size=4"]`` are applied on top (values read as YAML);
* fields marked ``path=True`` in their metadata that hold a relative path are taken relative to the config file's
  folder (when something exists there; otherwise the value is kept, e.g. a hub id), so a config works from any
  working directory; paths given as overrides are relative to the working directory.

Every problem is a :class:`ConfigError` (a ``ValueError``) raised before any model loads.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

C = TypeVar("C")


class ConfigError(ValueError):
    """A config that cannot be used; the message names the key and the reason."""


def path_field(default: Any = None) -> Any:
    """A dataclass field holding a file path, resolved against the config file's folder when relative."""
    return dataclasses.field(default=default, metadata={"path": True})


def read_yaml(path: str | Path) -> dict[str, Any]:
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"config file {str(file)!r} does not exist")
    try:
        data = yaml.safe_load(file.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {str(file)!r} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(file)!r} must hold a mapping of keys, not {type(data).__name__}")
    return data


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """A copy of ``data`` with each ``dotted.key=value`` set (the value parsed as YAML: ``4``, ``true``, ``[a, b]``)."""
    out = _deep_copy(data)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} must look like key=value (e.g. lr=1e-5 or rollout.group_size=4)")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            raise ConfigError(f"override {item!r}: the value is not valid YAML: {exc}") from None
        node = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: {part!r} is a value, not a section")
            node = child
        node[parts[-1]] = value
    return out


def deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``, merging nested mappings key by key."""
    out = _deep_copy(dict(base))
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = _deep_copy(value)
    return out


def _deep_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def from_dict(cls: type[C], data: Mapping[str, Any], *, base_dir: Path | None = None, where: str = "") -> C:
    """Build config dataclass ``cls`` from ``data``, checking keys and types (see the module docstring)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where.rstrip('.') or 'the config'} must be a mapping of keys, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    unknown = [k for k in data if k not in fields]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(str(key), list(fields), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"unknown config key {where + str(key)!r}{hint} (keys here: {', '.join(fields)})"
        )
    kwargs = {}
    for name, value in data.items():
        key = where + name
        value = _convert(hints[name], value, key, base_dir)
        if fields[name].metadata.get("path") and isinstance(value, str) and base_dir is not None:
            value = _resolve(value, base_dir)
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where.rstrip('.') or 'config'}: {exc}") from None


def _resolve(value: str, base_dir: Path) -> str:
    p = Path(value).expanduser()
    if p.is_absolute():
        return str(p)
    candidate = base_dir / p
    # A relative name that is not a file there may be a hub id ("Qwen/Qwen3-0.6B"): leave it as written.
    return str(candidate.resolve()) if candidate.exists() else value


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(tp: Any, value: Any, key: str, base_dir: Path | None) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arm in (a for a in args if a is not type(None)):
            try:
                return _convert(arm, value, key, base_dir)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{key}: {value!r} matches none of {_type_name(tp)}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{key}: {value!r} is not one of {', '.join(repr(a) for a in args)}")
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value if value is not None else {}, base_dir=base_dir, where=f"{key}.")
    if origin in (list, tuple, Sequence):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        item = args[0] if args else Any
        items = [_convert(item, v, f"{key}[{i}]", base_dir) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        kt, vt = args if args else (Any, Any)
        return {_convert(kt, k, key, base_dir): _convert(vt, v, f"{key}.{k}", base_dir) for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if tp is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:  # YAML reads 1e-5 (no dot) as a string; accept numbers written that way.
                number = float(value)
            except ValueError:
                pass
        if number is None:
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        if not math.isfinite(number):
            raise ConfigError(f"{key}: {value!r} is not a finite number")
        return number
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{key}: unsupported config type {_type_name(tp)}")  # a bug in a config class, not input


def load_config(
    cls: type[C], path: str | Path | None = None, overrides: Sequence[str] = (), *,
    defaults: Mapping[str, Any] | None = None,
) -> C:  # fmt: skip
    """``cls`` from YAML file ``path`` (optional) with ``overrides`` on top and ``defaults`` underneath."""
    data = read_yaml(path) if path is not None else {}
    if path is not None:  # paths in the file are relative to the file; those on the command line, to the cwd
        data = _resolve_paths(cls, data, Path(path).resolve().parent)
    if defaults:
        data = deep_merge(defaults, data)
    data = apply_overrides(data, overrides)
    return from_dict(cls, data, base_dir=Path.cwd())


def _resolve_paths(cls: Any, data: Any, base_dir: Path) -> Any:
    """``data`` with the relative paths of ``cls``'s path fields made absolute against ``base_dir``."""
    if not dataclasses.is_dataclass(cls) or not isinstance(data, Mapping):
        return data
    hints = typing.get_type_hints(cls)
    out = dict(data)
    for f in dataclasses.fields(cls):
        if f.name not in out:
            continue
        if f.metadata.get("path") and isinstance(out[f.name], str):
            out[f.name] = _resolve(out[f.name], base_dir)
        else:
            nested = [a for a in (hints[f.name], *typing.get_args(hints[f.name])) if dataclasses.is_dataclass(a)]
            if nested:
                out[f.name] = _resolve_paths(nested[0], out[f.name], base_dir)
    return out


def to_dict(config: Any) -> dict[str, Any]:
    """A plain dict of a config (for config.yaml in an output folder and for resume checks)."""
    return dataclasses.asdict(config)
