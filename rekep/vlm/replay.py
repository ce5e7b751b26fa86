"""The ``replay`` backend: answers from saved queries, offline and deterministic."""

from __future__ import annotations

import logging
from pathlib import Path

from rekep.vlm.backend import ChatReply, Message, QueryContext
from rekep.vlm.errors import ReplayMissError, VLMError
from rekep.vlm.store import QueryStore, StoredQuery, load_query

logger = logging.getLogger(__name__)

_LISTED = 20


class ReplayBackend:
    """Serve the raw replies of a saved query, in attempt order.

    Give either ``store_dir`` (the query is looked up by instruction and image hash, the newest
    successful one first) or ``query_dir`` (that query is served whatever was asked). Replies
    are validated again by the caller, so a replay also checks old replies against the
    current loader.

    Raises:
        VLMError: neither or both folders given; ``query_dir`` is not a saved query.
    """

    name = "replay"
    records = False

    def __init__(self, *, store_dir: str | Path | None = None, query_dir: str | Path | None = None):
        if (store_dir is None) == (query_dir is None):
            raise VLMError("ReplayBackend needs exactly one of store_dir= or query_dir=")
        self.store = QueryStore(store_dir) if store_dir is not None else None
        self.fixed = load_query(query_dir) if query_dir is not None else None
        self.model = self.fixed.model if self.fixed is not None else "replay"
        self._cache: dict[tuple[str, str], StoredQuery] = {}

    def lookup(self, instruction: str, image_sha256: str) -> StoredQuery:
        """The saved query that answers this instruction and image.

        Raises:
            ReplayMissError: nothing matches; the message lists what the store holds.
        """
        if self.fixed is not None:
            if (self.fixed.instruction, self.fixed.image_sha256) != (instruction, image_sha256):
                logger.warning(
                    "replaying %s for a different query (saved for %r)",
                    self.fixed.path,
                    self.fixed.instruction,
                )
            return self.fixed
        assert self.store is not None
        key = (instruction, image_sha256)
        if key not in self._cache:
            found = self.store.find(instruction, image_sha256)
            if found is None:
                raise ReplayMissError(self._miss_message(instruction, image_sha256))
            self._cache[key] = found
        return self._cache[key]

    def _miss_message(self, instruction: str, image_sha256: str) -> str:
        assert self.store is not None
        stored = self.store.queries()
        lines = [
            f"no saved VLM query in {self.store.root} for instruction {instruction!r} and "
            f"image {image_sha256[:12]}; run once with the 'openai' backend to record it, or "
            "replay a folder explicitly (ReplayBackend(query_dir=...))."
        ]
        if not stored:
            lines.append("The store is empty.")
        else:
            lines.append(f"The store holds {len(stored)} queries:")
            lines += [f"  {q.describe()}" for q in stored[-_LISTED:]]
            if len(stored) > _LISTED:
                lines.append(f"  ... and {len(stored) - _LISTED} older ones")
        return "\n".join(lines)

    def complete(self, messages: list[Message], context: QueryContext) -> ChatReply:
        """Return the saved reply number ``context.attempt`` of the matching query."""
        query = self.lookup(context.instruction, context.image_sha256)
        replies = query.replies()
        if context.attempt > len(replies):
            raise VLMError(
                f"the saved query {query.path} holds {len(replies)} replies; replay cannot "
                f"answer attempt {context.attempt} (record the query again with the 'openai' "
                "backend)"
            )
        meta = query.attempt_meta(context.attempt)
        return ChatReply(
            text=replies[context.attempt - 1],
            model=str(meta.get("server_model") or query.model),
            finish_reason=meta.get("finish_reason"),
            latency_s=0.0,
            retries=0,
        )
