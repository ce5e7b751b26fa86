"""generate_program over real HTTP: the real ``openai`` client against a scripted local server."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from vlm_fake_server import FakeOpenAIServer, Reply, Sleep, Status
from vlm_replies import GOOD_CODE, GOOD_REPLY, MALFORMED_REPLY, NO_CODE_REPLY, escape_reply

from rekep.keypoint_set import Keypoints
from rekep.vlm import (
    VLMConfig,
    VLMConfigError,
    VLMTransportError,
    VLMValidationError,
    generate_program,
    image_sha256,
    load_query,
)

pytest.importorskip("openai")
pytest.importorskip("rekep.program")


def _user_texts(body: dict) -> list[str]:
    """All text parts of the user messages of one request body."""
    texts = []
    for message in body["messages"]:
        if message["role"] != "user":
            continue
        content = message["content"]
        if isinstance(content, str):
            texts.append(content)
        else:
            texts += [part["text"] for part in content if part["type"] == "text"]
    return texts


def test_good_reply_is_validated_sent_with_image_and_saved(
    fake_server: FakeOpenAIServer, vlm_config: VLMConfig, keypoints: Keypoints
) -> None:
    fake_server.push(Reply(GOOD_REPLY))
    result = generate_program("put the block  into the bowl", keypoints, config=vlm_config)

    assert result.attempts == 1 and result.reasons == ()
    assert result.program.num_stages == 2
    assert result.text.strip() == GOOD_CODE.strip()
    assert result.backend == "openai" and result.model == "fake-vlm"

    (request,) = fake_server.requests
    assert request.path.endswith("/chat/completions")
    assert request.headers["authorization"] == "Bearer test-key"
    body = request.body
    assert body["model"] == "fake-vlm"
    assert body["temperature"] == 0 and body["max_tokens"] == 2048
    (message,) = body["messages"]
    text_part, image_part = message["content"]
    assert "put the block into the bowl" in text_part["text"]
    assert "6 numbered keypoints" in text_part["text"]
    url = image_part["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    png = base64.b64decode(url.split(",", 1)[1])
    assert png.startswith(b"\x89PNG")
    cv2 = pytest.importorskip("cv2")
    decoded = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
    np.testing.assert_array_equal(decoded, keypoints.annotated_image)

    saved = load_query(result.query_dir)
    assert saved.status == "ok"
    assert saved.instruction == "put the block into the bowl"
    assert saved.image_sha256 == image_sha256(keypoints.annotated_image)
    assert saved.replies() == [GOOD_REPLY]
    assert (result.query_dir / "image.png").read_bytes() == png
    assert (result.query_dir / "prompt.txt").read_text() == text_part["text"]
    assert saved.program_text() == result.program.to_text()
    assert saved.meta["model"] == "fake-vlm" and saved.meta["total_s"] >= 0


def test_malformed_reply_is_answered_with_the_error_then_corrected(
    fake_server: FakeOpenAIServer, vlm_config: VLMConfig, keypoints: Keypoints
) -> None:
    fake_server.push(Reply(MALFORMED_REPLY), Reply(GOOD_REPLY))
    result = generate_program("put the block into the bowl", keypoints, config=vlm_config)

    assert result.attempts == 2 and len(result.reasons) == 1
    first, second = (r.body for r in fake_server.requests)
    assert len(second["messages"]) == 3
    assert second["messages"][0] == first["messages"][0]
    assert second["messages"][1] == {"role": "assistant", "content": MALFORMED_REPLY}
    reason = result.reasons[0].removeprefix("attempt 1: ")
    assert reason and reason in _user_texts(second)[-1]
    meta = json.loads((result.query_dir / "query.json").read_text())
    assert [a["valid"] for a in meta["attempts"]] == [False, True]
    assert (result.query_dir / "feedback_02.txt").read_text() == _user_texts(second)[-1]


def test_reply_without_code_is_a_validation_failure(
    fake_server: FakeOpenAIServer, vlm_config: VLMConfig, keypoints: Keypoints
) -> None:
    fake_server.push(Reply(NO_CODE_REPLY), Reply(GOOD_REPLY))
    result = generate_program("put the block into the bowl", keypoints, config=vlm_config)
    assert result.attempts == 2
    assert "no program" in result.reasons[0] and "```python" in result.reasons[0]

    fake_server.push(*[Reply(NO_CODE_REPLY)] * 3)
    with pytest.raises(VLMValidationError) as info:
        generate_program("put the block into the bowl", keypoints, config=vlm_config)
    assert len(info.value.reasons) == 3
    assert info.value.query_dir is not None
    assert str(info.value.query_dir) in str(info.value)
    saved = load_query(info.value.query_dir)
    assert saved.status == "invalid" and saved.replies() == [NO_CODE_REPLY] * 3


def test_escape_attempt_is_rejected_and_never_runs(
    fake_server: FakeOpenAIServer, vlm_config: VLMConfig, keypoints: Keypoints, tmp_path: Path
) -> None:
    canary = tmp_path / "escaped.txt"
    fake_server.push(Reply(escape_reply(str(canary))), Reply(GOOD_REPLY))
    result = generate_program("put the block into the bowl", keypoints, config=vlm_config)
    assert result.attempts == 2
    assert result.reasons[0].startswith("attempt 1: ")
    assert result.program.num_stages == 2
    assert not canary.exists()

    fake_server.push(*[Reply(escape_reply(str(canary)))] * 3)
    with pytest.raises(VLMValidationError) as info:
        generate_program("put the block into the bowl", keypoints, config=vlm_config)
    assert len(info.value.reasons) == 3
    assert not canary.exists()


def test_timeout_is_retried_then_reported(
    fake_server: FakeOpenAIServer, vlm_config: VLMConfig, keypoints: Keypoints
) -> None:
    config = vlm_config.with_overrides(timeout_s=0.2, max_retries=1)
    fake_server.push(Sleep(1.0, Reply(GOOD_REPLY)), Reply(GOOD_REPLY))
    result = generate_program("put the block into the bowl", keypoints, config=config)
    assert result.attempts == 1
    assert load_query(result.query_dir).attempt_meta(1)["transport_retries"] == 1

    fake_server.push(Sleep(1.0, Reply(GOOD_REPLY)), Sleep(1.0, Reply(GOOD_REPLY)))
    with pytest.raises(VLMTransportError) as info:
        generate_program("put the block into the bowl", keypoints, config=config)
    assert info.value.status_code is None
    assert "timed out" in str(info.value)
    assert load_query(info.value.query_dir).status == "error"


def test_429_then_success(
    fake_server: FakeOpenAIServer, vlm_config: VLMConfig, keypoints: Keypoints
) -> None:
    fake_server.push(Status(429, (("retry-after", "0"),)), Reply(GOOD_REPLY))
    result = generate_program("put the block into the bowl", keypoints, config=vlm_config)
    assert result.attempts == 1
    assert len(fake_server.requests) == 2


def test_500_until_failure(
    fake_server: FakeOpenAIServer, vlm_config: VLMConfig, keypoints: Keypoints
) -> None:
    fake_server.push(*[Status(500)] * 3, Reply(GOOD_REPLY))
    with pytest.raises(VLMTransportError) as info:
        generate_program("put the block into the bowl", keypoints, config=vlm_config)
    assert info.value.status_code == 500
    assert len(fake_server.requests) == vlm_config.max_retries + 1 == 3
    assert sum("HTTP 500" in r for r in info.value.reasons) == 3


def test_client_errors_are_not_retried(
    fake_server: FakeOpenAIServer, vlm_config: VLMConfig, keypoints: Keypoints
) -> None:
    fake_server.push(Status(401), Reply(GOOD_REPLY))
    with pytest.raises(VLMTransportError) as info:
        generate_program("put the block into the bowl", keypoints, config=vlm_config)
    assert info.value.status_code == 401 and "API key" in str(info.value)
    assert len(fake_server.requests) == 1


def test_unreachable_endpoint_is_a_transport_error(
    vlm_config: VLMConfig, keypoints: Keypoints
) -> None:
    server = FakeOpenAIServer().start()
    url = server.url
    server.stop()  # nothing listens on that port any more
    config = vlm_config.with_overrides(base_url=url, max_retries=1)
    with pytest.raises(VLMTransportError) as info:
        generate_program("put the block into the bowl", keypoints, config=config)
    assert len(info.value.reasons) == 2 and "could not reach" in info.value.reasons[0]


def test_openai_backend_needs_an_endpoint(keypoints: Keypoints, tmp_path: Path) -> None:
    config = VLMConfig(store_dir=tmp_path)
    assert not config.is_configured
    with pytest.raises(VLMConfigError, match="OPENAI_API_KEY"):
        generate_program("put the block into the bowl", keypoints, config=config)
    assert not any(tmp_path.iterdir())
