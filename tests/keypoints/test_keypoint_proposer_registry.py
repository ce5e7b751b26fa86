"""The Proposer interface, its registry, and ProposalConfig validation."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from keypoints.config import ProposalConfig
from keypoints.proposer import PROPOSERS, Proposer, get_proposer
from keypoints.simple import SimpleProposer, propose_keypoints
from rekep.errors import ConfigurationError, RekepError


def test_registry_builds_the_simple_proposer(scene):
    proposer = get_proposer("simple", config=ProposalConfig(per_mask=3, annotate=False))
    assert isinstance(proposer, Proposer) and isinstance(proposer, SimpleProposer)
    got = proposer.propose(scene.rgbd, scene.masks)
    ref = propose_keypoints(scene.rgbd, scene.masks, ProposalConfig(per_mask=3, annotate=False))
    np.testing.assert_array_equal(got.positions, ref.positions)
    np.testing.assert_array_equal(got.object_ids, ref.object_ids)


def test_every_registered_factory_builds_a_proposer():
    assert "simple" in PROPOSERS
    for name in PROPOSERS:
        assert isinstance(get_proposer(name), Proposer)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ConfigurationError, match=r"valid names: .*simple"):
        get_proposer("dinov3")


def test_unknown_option_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="does not accept"):
        get_proposer("simple", bandwidth=0.06)
    with pytest.raises(ConfigurationError, match="ProposalConfig"):
        SimpleProposer(config={"per_mask": 3})  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="ProposalConfig"):
        propose_keypoints(None, {}, config={"per_mask": 3})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"per_mask": 0},
        {"per_mask": 8},
        {"per_mask": True},
        {"extremal_percentile": 0.0},
        {"extremal_percentile": 50.0},
        {"merge_radius": -0.01},
        {"merge_radius": math.inf},
        {"workspace_min": (0.0, 0.0, 1.0), "workspace_max": (1.0, 1.0, 1.0)},
        {"workspace_min": (0.0, 0.0)},
        {"workspace_max": "far"},
        {"min_mask_area_px": 0},
        {"max_mask_fraction": 0.0},
        {"max_mask_fraction": 1.5},
        {"max_keypoints": 0},
    ],
)
def test_config_rejects_bad_values(kwargs):
    with pytest.raises(ConfigurationError):
        ProposalConfig(**kwargs)


def test_config_is_frozen_and_normalizes_bounds():
    cfg = ProposalConfig(
        workspace_min=[-1, -1, 0],  # type: ignore[arg-type]
        workspace_max=np.array([1, 1, 2]),  # type: ignore[arg-type]
    )
    assert cfg.workspace_min == (-1.0, -1.0, 0.0) and cfg.workspace_max == (1.0, 1.0, 2.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.per_mask = 3  # type: ignore[misc]
    assert issubclass(ConfigurationError, RekepError)
