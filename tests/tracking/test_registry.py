from __future__ import annotations

import sys

import numpy as np
import pytest

from rekep.tracking import (
    TRACKERS,
    FlowTracker,
    PointTracker,
    SimTracker,
    TrackingError,
    available_trackers,
    make_tracker,
)
from rekep.tracking.cotracker import CHECKPOINT_ENV


def test_names_and_unknown_name() -> None:
    assert set(TRACKERS) == {"sim", "flow", "cotracker"}
    with pytest.raises(TrackingError, match="choose one of: cotracker, flow, sim"):
        make_tracker("raft")


def test_builds_sim_and_flow_with_their_arguments() -> None:
    sim = make_tracker("sim", body_pose=lambda b: np.eye(4), point_bodies=np.array([1]))
    assert isinstance(sim, SimTracker) and isinstance(sim, PointTracker)
    flow = make_tracker("flow", fb_threshold_px=0.5)
    assert isinstance(flow, FlowTracker) and flow.config.fb_threshold_px == 0.5
    with pytest.raises(TrackingError, match="bad arguments for tracker 'sim'"):
        make_tracker("sim")


def test_cotracker_unavailable_here_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    monkeypatch.setitem(sys.modules, "cotracker", None)
    with pytest.raises(TrackingError, match="cotracker tracker unavailable"):
        make_tracker("cotracker")
    assert available_trackers() == ["flow", "sim"]


def test_importing_the_package_loads_neither_opencv_nor_torch() -> None:
    import subprocess

    code = (
        "import sys, rekep.tracking; "
        "print('cv2' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
