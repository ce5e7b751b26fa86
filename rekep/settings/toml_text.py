"""Write a settings dict as TOML text (only what the settings tree holds: one level of
groups, scalars and flat lists), so ``rekep config show`` output can be saved and loaded."""

from __future__ import annotations

import json
import math
from typing import Any


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def _table(data: dict[str, Any], prefix: str, lines: list[str]) -> None:
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    groups = {k: v for k, v in data.items() if isinstance(v, dict)}
    if prefix and scalars:
        lines.append(f"[{prefix}]")
    for key, value in scalars.items():
        lines.append(f"# {key} = (unset)" if value is None else f"{key} = {_value(value)}")
    if prefix and scalars:
        lines.append("")
    for key, value in groups.items():
        _table(value, f"{prefix}.{key}" if prefix else key, lines)


def dumps_toml(data: dict[str, Any]) -> str:
    """TOML text of nested ``data`` (None values become comments: TOML has no null)."""
    lines: list[str] = []
    _table(data, "", lines)
    return "\n".join(lines).rstrip() + "\n"
