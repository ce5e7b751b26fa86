"""Typed settings: one tree of dataclasses, loadable from TOML/YAML/JSON, overridable with
``--set group.name=value`` (see :mod:`rekep.settings.tree`)."""

from rekep.settings.dataclass_tree import merge, override, to_dict
from rekep.settings.tree import RekepSettings, load_settings

__all__ = ["RekepSettings", "load_settings", "merge", "override", "to_dict"]
