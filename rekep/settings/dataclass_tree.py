"""Generic operations on trees of frozen dataclasses: to/from plain dicts, dotted overrides.

A settings tree is a dataclass whose fields are scalars (bool, int, float, str, Path,
their ``| None`` forms, tuples of scalars) or further dataclasses. Values from files and
the command line arrive as text or loosely typed data; they are coerced to the declared
field type here, and the dataclass's own ``__post_init__`` then validates them, so a bad
value is reported with the dotted name of the setting.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from rekep.errors import ConfigurationError, RekepError

T = TypeVar("T")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_SECRET_FIELDS = {"api_key"}


@cache
def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def to_dict(tree: Any, *, hide_secrets: bool = True) -> dict[str, Any]:
    """Plain nested dict of ``tree`` (Paths as strings; secrets shown as ``"***"``)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(tree):
        value = getattr(tree, f.name)
        if dataclasses.is_dataclass(value):
            out[f.name] = to_dict(value, hide_secrets=hide_secrets)
        elif hide_secrets and f.name in _SECRET_FIELDS and value is not None:
            out[f.name] = "***"
        elif isinstance(value, Path):
            out[f.name] = str(value)
        elif isinstance(value, tuple):
            out[f.name] = list(value)
        else:
            out[f.name] = value
    return out


def _unknown(name: str, choices: list[str], where: str) -> ConfigurationError:
    close = difflib.get_close_matches(name, choices, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(choices)}"
    return ConfigurationError(f"unknown setting '{where}{name}'{hint}")


def coerce(value: Any, tp: Any, name: str) -> Any:
    """``value`` (text from the CLI or data from a file) as declared type ``tp``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        is_null = value is None or (isinstance(value, str) and value.lower() in ("none", "null"))
        if is_null and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return coerce(value, arg, name)
            except ConfigurationError as exc:
                errors.append(str(exc))
        raise ConfigurationError("; ".join(errors))
    if origin is typing.Literal:
        if value in args:
            return value
        raise ConfigurationError(f"{name} must be one of {list(args)}, got {value!r}")
    if origin is tuple:
        items = value.split(",") if isinstance(value, str) else list(value)
        item_types = list(args) if args and args[-1] is not Ellipsis else [args[0]] * len(items)
        if len(item_types) != len(items):
            raise ConfigurationError(f"{name} needs {len(item_types)} values, got {len(items)}")
        return tuple(coerce(v, t, name) for v, t in zip(items, item_types, strict=True))
    if tp is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise ConfigurationError(f"{name} must be true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise ConfigurationError(f"{name} must be an integer, got {value!r}")
        try:
            as_float = float(value)
        except (TypeError, ValueError):
            raise ConfigurationError(f"{name} must be an integer, got {value!r}") from None
        if not as_float.is_integer():
            raise ConfigurationError(f"{name} must be an integer, got {value!r}")
        return int(as_float)
    if tp is float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigurationError(f"{name} must be a number, got {value!r}") from None
        if math.isnan(number):
            raise ConfigurationError(f"{name} must not be NaN")
        return number
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigurationError(f"{name} must be text, got {value!r}")
    if tp is Path:
        return Path(str(value)).expanduser()
    if tp is Any:
        return value
    raise ConfigurationError(f"{name}: settings of type {tp!r} cannot be set from text")


def _rebuild(cls: type[T], values: Mapping[str, Any], where: str) -> T:
    group = where.rstrip(".") or "settings"
    try:
        return cls(**values)
    except (RekepError, TypeError, ValueError) as exc:
        text = str(exc)
        raise ConfigurationError(text if text.startswith(group) else f"{group}: {text}") from exc


def from_dict(cls: type[T], data: Mapping[str, Any], where: str = "") -> T:
    """A ``cls`` tree from nested ``data``; missing keys keep their defaults."""
    return merge(_rebuild(cls, {}, where), data, where)


def merge(tree: T, data: Mapping[str, Any], where: str = "") -> T:
    """``tree`` with the nested values of ``data`` applied (unknown keys are errors)."""
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"settings {where or 'file'} must be a table, got {data!r}")
    hints = _field_types(type(tree))  # type: ignore[arg-type]
    names = [f.name for f in dataclasses.fields(tree)]  # type: ignore[arg-type]
    values = {name: getattr(tree, name) for name in names}
    for key, value in data.items():
        if key not in values:
            raise _unknown(str(key), names, where)
        tp = hints[key]
        if _is_dataclass_type(tp):
            values[key] = merge(values[key], value, f"{where}{key}.")
        else:
            values[key] = coerce(value, tp, f"{where}{key}")
    return _rebuild(type(tree), values, where)


def override(tree: T, assignment: str) -> T:
    """``tree`` with one ``dotted.name=value`` assignment applied (``--set`` syntax)."""
    key, sep, text = assignment.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigurationError(
            f"--set expects NAME=VALUE with a dotted name such as solver.backend=scipy, "
            f"got {assignment!r}"
        )
    nested: dict[str, Any] = {}
    cursor = nested
    parts = key.split(".")
    for part in parts[:-1]:
        cursor = cursor.setdefault(part, {})
    cursor[parts[-1]] = text.strip()
    return merge(tree, _check_path(tree, parts, nested))


def _check_path(tree: Any, parts: list[str], nested: dict[str, Any]) -> dict[str, Any]:
    node, where = tree, ""
    for part in parts[:-1]:
        names = [f.name for f in dataclasses.fields(node)]
        if part not in names:
            raise _unknown(part, names, where)
        node, where = getattr(node, part), f"{where}{part}."
        if not dataclasses.is_dataclass(node):
            raise ConfigurationError(f"setting {where.rstrip('.')!r} is a value, not a group")
    leaf_names = [f.name for f in dataclasses.fields(node)]
    if parts[-1] not in leaf_names:
        raise _unknown(parts[-1], leaf_names, where)
    if dataclasses.is_dataclass(getattr(node, parts[-1])):
        raise ConfigurationError(f"{'.'.join(parts)!r} is a group; set one of its fields")
    return nested
