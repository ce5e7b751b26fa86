"""Prompt templates and worked examples for the VLM, shipped as package data.

Templates are text files named ``{name}.v{N}.txt`` whose first line is the header
``### rekep-template name={name} version={N}``; placeholders look like ``{{instruction}}`` and
are filled by :mod:`rekep.vlm.prompt`. Worked examples live in ``examples/{name}.txt`` and
start with ``### rekep-example name={name} arms={1|2} keypoints={K} order={N}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from rekep.errors import ConfigurationError

__all__ = [
    "Example",
    "TemplateNotFoundError",
    "available_versions",
    "list_examples",
    "list_templates",
    "load_example",
    "load_template",
    "template_version",
]

_TEMPLATE_FILE = re.compile(r"^(?P<name>[a-z0-9_]+)\.v(?P<version>\d+)\.txt$")
_TEMPLATE_HEADER = re.compile(
    r"^### rekep-template name=(?P<name>[a-z0-9_]+) version=(?P<version>\d+)\s*$"
)
_EXAMPLE_HEADER = re.compile(
    r"^### rekep-example name=(?P<name>[a-z0-9_]+) arms=(?P<arms>[12]) keypoints=(?P<k>\d+)"
    r"(?: order=(?P<order>\d+))?\s*$"
)


class TemplateNotFoundError(ConfigurationError, LookupError):
    """A prompt template, version or worked example does not exist (or is malformed)."""


def _files() -> dict[tuple[str, int], str]:
    """Map (name, version) -> file name of every template shipped in this package."""
    found: dict[tuple[str, int], str] = {}
    for entry in resources.files(__name__).iterdir():
        match = _TEMPLATE_FILE.match(entry.name)
        if match:
            found[(match["name"], int(match["version"]))] = entry.name
    return found


def list_templates() -> list[str]:
    """Names of all templates shipped (each may have several versions)."""
    return sorted({name for name, _ in _files()})


def available_versions(name: str) -> list[int]:
    """Versions of template ``name``, ascending (empty when there is no such template)."""
    return sorted(version for tname, version in _files() if tname == name)


def template_version(name: str = "constraint_generation", version: int | None = None) -> int:
    """The version :func:`load_template` would load (the newest when ``version`` is None)."""
    versions = available_versions(name)
    if not versions:
        raise TemplateNotFoundError(
            f"no prompt template named {name!r}; available templates: {list_templates()}"
        )
    if version is None:
        return versions[-1]
    if version not in versions:
        raise TemplateNotFoundError(
            f"prompt template {name!r} has no version {version}; available versions: {versions}"
        )
    return version


def load_template(name: str = "constraint_generation", version: int | None = None) -> str:
    """Text of template ``name`` at ``version`` (newest when None), without its header line.

    Raises:
        TemplateNotFoundError: the template or version does not exist, or its header does not
            match its file name (the fix is to correct the header of the file).
    """
    version = template_version(name, version)
    file_name = f"{name}.v{version}.txt"
    text = resources.files(__name__).joinpath(file_name).read_text(encoding="utf-8")
    header, _, body = text.partition("\n")
    match = _TEMPLATE_HEADER.match(header)
    if match is None or match["name"] != name or int(match["version"]) != version:
        raise TemplateNotFoundError(
            f"{file_name} must start with '### rekep-template name={name} version={version}', "
            f"found {header!r}"
        )
    return body


@dataclass(frozen=True)
class Example:
    """One worked example: an instruction, its keypoints and the program answering it.

    Attributes:
        name: file stem under ``examples/``.
        arms: 1 for a single-arm program, 2 for a bimanual one.
        num_keypoints: K, the number of keypoints the program may index.
        order: position in the prompt (smaller first; 1000 when the header gives none).
        text: the example as shown to the model (header line removed).
    """

    name: str
    arms: int
    num_keypoints: int
    order: int
    text: str


def list_examples() -> list[str]:
    """Names of the worked examples shipped, sorted."""
    folder = resources.files(__name__).joinpath("examples")
    return sorted(e.name[: -len(".txt")] for e in folder.iterdir() if e.name.endswith(".txt"))


def load_example(name: str) -> Example:
    """Load worked example ``name`` (see :func:`list_examples`)."""
    if name not in list_examples():
        raise TemplateNotFoundError(
            f"no worked example named {name!r}; available examples: {list_examples()}"
        )
    path = resources.files(__name__).joinpath("examples", f"{name}.txt")
    header, _, body = path.read_text(encoding="utf-8").partition("\n")
    match = _EXAMPLE_HEADER.match(header)
    if match is None or match["name"] != name:
        raise TemplateNotFoundError(
            f"examples/{name}.txt must start with "
            f"'### rekep-example name={name} arms=<1|2> keypoints=<K>', found {header!r}"
        )
    return Example(
        name=name,
        arms=int(match["arms"]),
        num_keypoints=int(match["k"]),
        order=int(match["order"]) if match["order"] else 1000,
        text=body,
    )
