"""The cotracker adapter: clear errors without package/checkpoint; plumbing with a fake model."""

from __future__ import annotations

import importlib.machinery
import sys
import types
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from tracking_frames import frame, texture, world_at

from rekep.tracking import TrackingError
from rekep.tracking.cotracker import CHECKPOINT_ENV, CoTrackerTracker, cotracker_problems

torch = pytest.importorskip("torch")

PIXELS = np.array([[100.0, 120.0], [300.0, 200.0], [500.0, 400.0]])
SHIFT = np.array([3.0, -2.0])  # fake model: tracks move by this many px per frame


class FakeOnlinePredictor(torch.nn.Module):  # type: ignore[misc,name-defined]
    """Mimics CoTrackerOnlinePredictor's call protocol and records what it was given."""

    instances: ClassVar[list[FakeOnlinePredictor]] = []

    def __init__(self, checkpoint: str, window_len: int = 16, **kwargs: Any) -> None:
        super().__init__()
        self.checkpoint, self.step = checkpoint, window_len // 2
        self.calls: list[tuple[tuple[int, ...], bool]] = []
        self.frames_seen = 0
        FakeOnlinePredictor.instances.append(self)

    def forward(self, video_chunk: Any, is_first_step: bool = False, queries: Any = None,
                **kwargs: Any) -> tuple[Any, Any]:
        self.calls.append((tuple(video_chunk.shape), is_first_step))
        assert video_chunk.dtype == torch.float32 and video_chunk.shape[2] == 3
        if is_first_step:
            self.queries = queries.clone()
            self.frames_seen = 1
            return None, None
        self.frames_seen += self.step if self.frames_seen > 1 else 2 * self.step - 1
        T, N = self.frames_seen, self.queries.shape[1]
        t = torch.arange(T, dtype=torch.float32)[None, :, None, None]
        tracks = self.queries[:, None, :, 1:] + t * torch.tensor(SHIFT, dtype=torch.float32)
        vis = torch.ones((1, T, N), dtype=torch.bool)
        vis[0, :, 2] = False  # the model says point 2 is hidden
        return tracks, vis


@pytest.fixture()
def fake_cotracker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    package = types.ModuleType("cotracker")
    package.__spec__ = importlib.machinery.ModuleSpec("cotracker", None)
    predictor = types.ModuleType("cotracker.predictor")
    predictor.CoTrackerOnlinePredictor = FakeOnlinePredictor  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cotracker", package)
    monkeypatch.setitem(sys.modules, "cotracker.predictor", predictor)
    checkpoint = tmp_path / "scaled_online.pth"
    checkpoint.write_bytes(b"not really weights")
    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    return checkpoint


def test_missing_package_and_checkpoint_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    monkeypatch.setitem(sys.modules, "cotracker", None)  # import of cotracker fails
    with pytest.raises(TrackingError) as info:
        CoTrackerTracker()
    message = str(info.value)
    assert "cotracker package is not installed" in message and "co-tracker" in message
    assert "no checkpoint" in message and CHECKPOINT_ENV in message


def test_missing_checkpoint_file_is_named(fake_cotracker: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nope.pth"
    monkeypatch.setenv(CHECKPOINT_ENV, str(missing))
    assert len(cotracker_problems()) == 1  # only the checkpoint is missing
    with pytest.raises(TrackingError, match=f"checkpoint {missing} does not exist"):
        CoTrackerTracker()
    assert cotracker_problems(str(fake_cotracker)) == []


def test_plumbing_with_a_fake_model(fake_cotracker: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CHECKPOINT_ENV, str(fake_cotracker))
    tracker = CoTrackerTracker(window_len=4)  # step 2: runs every 2 frames from frame 4 on
    model = FakeOnlinePredictor.instances[-1]
    assert model.checkpoint == str(fake_cotracker)
    assert (tracker.name, tracker.privileged, tracker.needs_images) == ("cotracker", False, True)
    tex = texture(0)
    tracker.start(frame(tex, (0, 0)), world_at(PIXELS), 0.0)
    np.testing.assert_allclose(model.queries[0, :, 1:].numpy(), PIXELS, atol=1e-4)
    np.testing.assert_array_equal(model.queries[0, :, 0].numpy(), 0)
    results = [tracker.update(frame(tex, (0, 0)), 0.1 * i) for i in range(1, 8)]
    assert [shape[1] for shape, first in model.calls] == [1, 4, 4, 4]  # 2*step frames a chunk
    assert results[0].time_s == 0.0 and results[1].time_s == 0.0  # nothing new yet
    for n_frames, res in ((4, results[2]), (6, results[4])):
        assert res.time_s == pytest.approx(0.1 * (n_frames - 1))
        expected = world_at(PIXELS + (n_frames - 1) * SHIFT)
        np.testing.assert_allclose(res.positions[:2], expected[:2], atol=1e-9)
        assert res.visible.tolist() == [True, True, False]
        np.testing.assert_array_equal(res.positions[2], world_at(PIXELS)[2])  # kept
    assert results[3] is results[2]  # between chunks: the latest estimate, unchanged
