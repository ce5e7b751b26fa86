"""Find the constraint program inside a VLM reply."""

from __future__ import annotations

import ast
import re

from rekep.vlm.errors import VLMError

_FENCE = re.compile(r"```[ \t]*(?P<lang>[A-Za-z0-9_+-]*)[ \t]*\n(?P<body>.*?)(?:```|\Z)", re.DOTALL)
_CODE_LANGS = {"python", "py", "python3"}


class NoCodeError(VLMError):
    """The reply holds no program: no ```python block and no bare Python with ``num_stages``."""


def extract_code(reply: str) -> str:
    """Return the program text of ``reply``.

    Rules: the ```python (or ```py) fenced blocks are joined in order; without such blocks,
    unlabeled fenced blocks are used; without any fence, the whole reply is taken when it is
    valid Python that assigns ``num_stages``. An unterminated fence (a reply cut off by the
    token limit) still yields its text, and validation then reports what is missing.

    Raises:
        NoCodeError: no code could be found; the message says what was expected.
    """
    blocks = [(m["lang"].lower(), m["body"]) for m in _FENCE.finditer(reply)]
    chosen = [body for lang, body in blocks if lang in _CODE_LANGS]
    if not chosen:
        chosen = [body for lang, body in blocks if not lang]
    if chosen:
        code = "\n\n".join(body.strip("\n") for body in chosen).strip()
        if code:
            return code + "\n"
    stripped = reply.strip()
    if stripped and "num_stages" in stripped:
        try:
            ast.parse(stripped)
        except SyntaxError:
            pass
        else:
            return stripped + "\n"
    preview = " ".join(stripped.split())[:120]
    raise NoCodeError(
        "the reply contains no program: expected the whole program in one ```python code "
        f"block (reply began: {preview!r})"
    )
