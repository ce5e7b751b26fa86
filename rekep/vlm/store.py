"""The query store: one folder per VLM query, readable by people and by the replay backend.

Layout of a query folder::

    query.json        metadata (instruction, image hash, model, timing, attempts, status)
    prompt.txt        the first user message's text
    image.png         the annotated image sent with it
    keypoints.json    the keypoints (positions, pixels, object ids, names)
    reply_01.txt      raw reply of attempt 1 (reply_02.txt, ... for later attempts)
    feedback_02.txt   the validation feedback sent before attempt 2, ...
    program.py        the accepted program, as parsed and re-written by the loader
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rekep.keypoint_set import Keypoints
from rekep.vlm.backend import ChatReply
from rekep.vlm.errors import VLMError
from rekep.vlm.prompt import normalize_instruction

logger = logging.getLogger(__name__)

META_FILE = "query.json"
FORMAT_VERSION = 1


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


class QueryRecord:
    """Writer for one query folder; every method updates ``query.json`` at once."""

    def __init__(self, path: Path, meta: dict[str, Any]):
        self.path = path
        self.meta = meta
        _write_json(path / META_FILE, meta)

    def add_reply(self, attempt: int, reply: ChatReply) -> None:
        """Save the raw reply of ``attempt`` (1-based)."""
        name = f"reply_{attempt:02d}.txt"
        (self.path / name).write_text(reply.text, encoding="utf-8")
        self.meta["attempts"].append(
            {
                "attempt": attempt,
                "reply_file": name,
                "server_model": reply.model,
                "finish_reason": reply.finish_reason,
                "latency_s": round(reply.latency_s, 4),
                "transport_retries": reply.retries,
                "valid": None,
                "error": None,
            }
        )
        _write_json(self.path / META_FILE, self.meta)

    def mark_invalid(self, attempt: int, reason: str, feedback: str) -> None:
        """Record why the reply of ``attempt`` was rejected and the feedback sent next."""
        entry = self.meta["attempts"][attempt - 1]
        entry["valid"], entry["error"] = False, reason
        (self.path / f"feedback_{attempt + 1:02d}.txt").write_text(feedback, encoding="utf-8")
        _write_json(self.path / META_FILE, self.meta)

    def finish(
        self, status: str, *, total_s: float, program_text: str | None = None, error: str = ""
    ) -> None:
        """Close the record: ``status`` is ``ok``, ``invalid`` (no valid reply) or ``error``."""
        if program_text is not None:
            (self.path / "program.py").write_text(program_text, encoding="utf-8")
            self.meta["program_file"] = "program.py"
            if self.meta["attempts"]:
                self.meta["attempts"][-1]["valid"] = True
        self.meta.update(status=status, total_s=round(total_s, 4), error=error or None)
        _write_json(self.path / META_FILE, self.meta)


@dataclass(frozen=True)
class StoredQuery:
    """A saved query, as read back from its folder.

    Attributes:
        path: the query folder.
        meta: the parsed ``query.json``.
    """

    path: Path
    meta: dict[str, Any]

    @property
    def instruction(self) -> str:
        return str(self.meta.get("instruction", ""))

    @property
    def image_sha256(self) -> str:
        return str(self.meta.get("image_sha256", ""))

    @property
    def status(self) -> str:
        return str(self.meta.get("status", "unknown"))

    @property
    def model(self) -> str:
        return str(self.meta.get("model", ""))

    def replies(self) -> list[str]:
        """Raw reply texts in attempt order."""
        return [
            (self.path / a["reply_file"]).read_text(encoding="utf-8")
            for a in self.meta.get("attempts", [])
        ]

    def attempt_meta(self, attempt: int) -> dict[str, Any]:
        """Metadata of one attempt (1-based)."""
        return dict(self.meta["attempts"][attempt - 1])

    def program_text(self) -> str | None:
        """The accepted program text, or None when the query did not succeed."""
        name = self.meta.get("program_file")
        return (self.path / name).read_text(encoding="utf-8") if name else None

    def describe(self) -> str:
        """One line for listings: folder, status, image hash prefix and instruction."""
        return (
            f"{self.path.name} [{self.status}] image {self.image_sha256[:12]} {self.instruction!r}"
        )


def load_query(path: str | Path) -> StoredQuery:
    """Read the query saved in folder ``path``.

    Raises:
        VLMError: the folder has no readable ``query.json``.
    """
    folder = Path(path)
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise VLMError(
            f"{folder} is not a saved VLM query (no readable {META_FILE}: {exc}); pass a folder "
            "written by the query store"
        ) from exc
    return StoredQuery(path=folder, meta=meta)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "query"


class QueryStore:
    """A folder of saved queries (created on first write)."""

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser()

    def create(
        self,
        *,
        instruction: str,
        image_sha256: str,
        image_png: bytes,
        prompt_text: str,
        keypoints: Keypoints,
        info: dict[str, Any],
    ) -> QueryRecord:
        """Start a new query folder and save its inputs; ``info`` adds metadata fields."""
        instruction = normalize_instruction(instruction)
        stamp = datetime.now(timezone.utc)
        base = f"{stamp:%Y%m%dT%H%M%S_%f}_{image_sha256[:10]}_{_slug(instruction)}"
        try:
            path = self._new_folder(base)
            (path / "prompt.txt").write_text(prompt_text, encoding="utf-8")
            (path / "image.png").write_bytes(image_png)
            (path / "keypoints.json").write_text(json.dumps(keypoints.to_dict()), encoding="utf-8")
        except OSError as exc:
            raise VLMError(
                f"cannot save the VLM query under {self.root} ({exc}); set REKEP_VLM_STORE_DIR "
                "(or VLMConfig.store_dir) to a writable folder, or to '' / None to save nothing"
            ) from exc
        meta: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "instruction": instruction,
            "image_sha256": image_sha256,
            "num_keypoints": len(keypoints),
            "created_utc": stamp.isoformat(),
            "status": "running",
            "attempts": [],
            "program_file": None,
            **info,
        }
        logger.info("saving VLM query in %s", path)
        return QueryRecord(path, meta)

    def _new_folder(self, base: str) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        path, n = self.root / base, 1
        while True:
            try:
                path.mkdir()
                return path
            except FileExistsError:
                n += 1
                path = self.root / f"{base}_{n}"

    def queries(self) -> list[StoredQuery]:
        """Every readable saved query, oldest first (unreadable folders are skipped)."""
        if not self.root.is_dir():
            return []
        found = []
        for folder in sorted(p for p in self.root.iterdir() if (p / META_FILE).is_file()):
            try:
                found.append(load_query(folder))
            except VLMError as exc:
                logger.warning("skipping %s: %s", folder, exc)
        return found

    def find(self, instruction: str, image_sha256: str) -> StoredQuery | None:
        """The newest query for this instruction and image, preferring successful ones."""
        instruction = normalize_instruction(instruction)
        matches = [
            q
            for q in self.queries()
            if q.instruction == instruction and q.image_sha256 == image_sha256
        ]
        ok = [q for q in matches if q.status == "ok"]
        chosen = ok or matches
        return chosen[-1] if chosen else None
