"""The release check trusts only tracks that agreed with the hand when the release began."""

from __future__ import annotations

import numpy as np

from rekep.loop.release_check import RELEASE_CHECK, TRUSTED_M, ReleaseCheck
from rekep.tracking.base import TrackResult

HELD_AT = np.array([[0.40, 0.20, 0.10], [0.42, 0.20, 0.10], [0.41, 0.22, 0.10]])


def _track(rows: list[list[float]], visible: list[bool]) -> TrackResult:
    positions = np.zeros((4, 3))
    positions[1:] = rows  # keypoint 0 is not carried
    return TrackResult(positions, np.array([True, *visible]), 0.0)


def test_a_trusted_track_seen_away_from_the_hand_fails_the_release() -> None:
    check = ReleaseCheck()
    check.begin((1, 2, 3), HELD_AT, _track(HELD_AT.tolist(), [True, True, False]))
    moved = HELD_AT + [RELEASE_CHECK + 0.02, 0.0, -0.05]
    ok, why = check.verdict(_track(moved.tolist(), [True, True, True]))
    assert not ok and "from where the hand held it" in why


def test_a_released_object_that_only_dropped_passes() -> None:
    check = ReleaseCheck()
    check.begin((1, 2, 3), HELD_AT, _track(HELD_AT.tolist(), [True, True, True]))
    dropped = HELD_AT + [0.005, 0.0, -0.08]  # fell straight down: xy unchanged
    assert check.verdict(_track(dropped.tolist(), [True, True, True]))[0]


def test_tracks_that_had_slid_off_the_held_object_are_no_evidence() -> None:
    slid = HELD_AT + [0.0, 0.0, TRUSTED_M + 0.05]  # on the fingers, not on the object
    check = ReleaseCheck()
    check.begin((1, 2, 3), HELD_AT, _track(slid.tolist(), [True, True, True]))
    far = HELD_AT + [0.10, 0.0, 0.0]  # the fingers went away with those tracks
    assert check.verdict(_track(far.tolist(), [True, True, True]))[0]


def test_only_the_trusted_tracks_are_measured() -> None:
    at_begin = HELD_AT.copy()
    at_begin[2] += [0.0, 0.0, 0.10]  # keypoint 3's track slid onto the hand
    check = ReleaseCheck()
    check.begin((1, 2, 3), HELD_AT, _track(at_begin.tolist(), [True, True, True]))
    later = HELD_AT.copy()
    later[2] += [0.12, 0.0, 0.0]  # and left with it; keypoints 1 and 2 stayed
    assert check.verdict(_track(later.tolist(), [True, True, True]))[0]
    later[:2] += [RELEASE_CHECK + 0.01, 0.0, 0.0]  # now the trusted ones moved away
    assert not check.verdict(_track(later.tolist(), [True, True, True]))[0]


def test_nothing_carried_or_nothing_seen_passes() -> None:
    check = ReleaseCheck()
    assert check.verdict(_track(HELD_AT.tolist(), [True, True, True]))[0]
    check.begin((1, 2, 3), HELD_AT, None)  # no tracks yet: nothing can be trusted
    assert check.verdict(_track((HELD_AT + 1.0).tolist(), [True, True, True]))[0]
