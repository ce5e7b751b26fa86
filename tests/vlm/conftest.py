"""Fixtures for the VLM tests: a scripted OpenAI-compatible server and matching inputs."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rekep.keypoint_set import Keypoints
from rekep.vlm import VLMConfig

# Helper modules of this folder (vlm_fake_server, vlm_replies): pytest runs with
# --import-mode=importlib, which does not put test folders on sys.path.
sys.path.insert(0, str(Path(__file__).parent))
from vlm_fake_server import FakeOpenAIServer


@pytest.fixture
def fake_server() -> Iterator[FakeOpenAIServer]:
    server = FakeOpenAIServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def vlm_config(fake_server: FakeOpenAIServer, tmp_path: Path) -> VLMConfig:
    """Talks to the fake server; tiny timeouts and backoffs keep the tests fast."""
    return VLMConfig(
        model="fake-vlm",
        base_url=fake_server.url,
        api_key="test-key",
        timeout_s=2.0,
        max_retries=2,
        backoff_initial_s=0.001,
        backoff_max_s=0.01,
        max_attempts=3,
        store_dir=tmp_path / "store",
    )


@pytest.fixture
def keypoints() -> Keypoints:
    """Six keypoints with a small random annotated image."""
    rng = np.random.default_rng(0)
    return Keypoints(
        positions=rng.uniform(-0.3, 0.3, (6, 3)),
        pixels=rng.uniform(0, 40, (6, 2)),
        object_ids=np.array([0, 0, 1, 1, 1, 1]),
        annotated_image=rng.integers(0, 256, (24, 40, 3), dtype=np.uint8),
    )
