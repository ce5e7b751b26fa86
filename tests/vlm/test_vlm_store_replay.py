"""The query store round trip and the offline ``replay`` backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from vlm_fake_server import FakeOpenAIServer, Reply
from vlm_replies import GOOD_REPLY, MALFORMED_REPLY

from rekep.keypoint_set import Keypoints
from rekep.vlm import (
    QueryStore,
    ReplayBackend,
    ReplayMissError,
    VLMConfig,
    VLMError,
    generate_program,
    image_sha256,
)

pytest.importorskip("openai")
pytest.importorskip("rekep.program")

INSTRUCTION = "put the block into the bowl"


def _record(server: FakeOpenAIServer, config: VLMConfig, keypoints: Keypoints) -> Path:
    server.push(Reply(MALFORMED_REPLY), Reply(GOOD_REPLY))
    result = generate_program(INSTRUCTION, keypoints, config=config)
    assert result.query_dir is not None
    return result.query_dir


def test_saved_query_replays_offline_by_instruction_and_image(
    fake_server: FakeOpenAIServer, vlm_config: VLMConfig, keypoints: Keypoints
) -> None:
    recorded_dir = _record(fake_server, vlm_config, keypoints)
    sent = len(fake_server.requests)
    fake_server.stop()  # replay must not need the endpoint
    offline = vlm_config.with_overrides(base_url=None, api_key=None, backend="replay")
    assert offline.is_configured

    replayed = generate_program("  put the block   into the bowl ", keypoints, config=offline)
    assert replayed.backend == "replay"
    assert replayed.attempts == 2 and replayed.query_dir is None
    assert replayed.program.to_text() == (recorded_dir / "program.py").read_text()
    assert len(fake_server.requests) == sent
    assert len(QueryStore(vlm_config.store_dir).queries()) == 1  # replay records nothing


def test_replay_by_explicit_query_dir(
    fake_server: FakeOpenAIServer, vlm_config: VLMConfig, keypoints: Keypoints
) -> None:
    recorded_dir = _record(fake_server, vlm_config, keypoints)
    other_image = np.zeros((8, 8, 3), np.uint8)
    backend = ReplayBackend(query_dir=recorded_dir)
    result = generate_program(
        "a different wording", keypoints, config=vlm_config, backend=backend, image=other_image
    )
    assert result.program.to_text() == (recorded_dir / "program.py").read_text()


def test_replay_miss_lists_what_is_stored(
    fake_server: FakeOpenAIServer, vlm_config: VLMConfig, keypoints: Keypoints
) -> None:
    recorded_dir = _record(fake_server, vlm_config, keypoints)
    with pytest.raises(ReplayMissError) as info:
        generate_program("pour the tea", keypoints, config=vlm_config, backend="replay")
    message = str(info.value)
    assert "pour the tea" in message and recorded_dir.name in message
    assert INSTRUCTION in message

    changed = keypoints.annotated_image.copy()
    changed[0, 0, 0] ^= 1
    assert image_sha256(changed) != image_sha256(keypoints.annotated_image)
    with pytest.raises(ReplayMissError):
        generate_program(INSTRUCTION, keypoints, config=vlm_config, backend="replay", image=changed)


def test_replay_of_an_empty_store_says_so(
    vlm_config: VLMConfig, keypoints: Keypoints, tmp_path: Path
) -> None:
    config = vlm_config.with_overrides(store_dir=tmp_path / "empty", backend="replay")
    with pytest.raises(ReplayMissError, match="store is empty"):
        generate_program(INSTRUCTION, keypoints, config=config)


def test_replay_cannot_invent_more_replies(
    fake_server: FakeOpenAIServer, vlm_config: VLMConfig, keypoints: Keypoints
) -> None:
    fake_server.push(*[Reply(MALFORMED_REPLY)] * 2)
    with pytest.raises(VLMError) as info:
        generate_program(INSTRUCTION, keypoints, config=vlm_config.with_overrides(max_attempts=2))
    failed_dir = info.value.query_dir
    assert failed_dir is not None
    backend = ReplayBackend(query_dir=failed_dir)
    with pytest.raises(VLMError, match="holds 2 replies"):
        generate_program(INSTRUCTION, keypoints, config=vlm_config, backend=backend)


def test_store_prefers_the_newest_successful_query(
    fake_server: FakeOpenAIServer, vlm_config: VLMConfig, keypoints: Keypoints
) -> None:
    good_dir = _record(fake_server, vlm_config, keypoints)
    fake_server.push(*[Reply(MALFORMED_REPLY)] * 3)
    with pytest.raises(VLMError):
        generate_program(INSTRUCTION, keypoints, config=vlm_config)
    store = QueryStore(vlm_config.store_dir)
    assert [q.status for q in store.queries()] == ["ok", "invalid"]
    found = store.find(INSTRUCTION, image_sha256(keypoints.annotated_image))
    assert found is not None and found.path == good_dir


def test_not_a_query_dir(tmp_path: Path) -> None:
    with pytest.raises(VLMError, match=r"query\.json"):
        ReplayBackend(query_dir=tmp_path)
    with pytest.raises(VLMError, match="exactly one"):
        ReplayBackend()


def test_unwritable_store_is_explained(
    fake_server: FakeOpenAIServer, vlm_config: VLMConfig, keypoints: Keypoints, tmp_path: Path
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    config = vlm_config.with_overrides(store_dir=blocker / "store")
    with pytest.raises(VLMError, match="REKEP_VLM_STORE_DIR"):
        generate_program(INSTRUCTION, keypoints, config=config)
    assert fake_server.requests == []  # nothing was asked before the store was ready
