"""The keypoint-proposer interface and its registry.

A proposer turns an observation plus object masks into :class:`Keypoints`. Every backend
(the weight-free ``simple`` one now; DINOv2 features with clustering later) implements
:class:`Proposer` and registers a factory in :data:`PROPOSERS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from numpy.typing import ArrayLike

from keypoints.feature_proposer import FeatureProposer
from keypoints.simple import SimpleProposer
from rekep.errors import ConfigurationError
from rekep.keypoint_set import Keypoints
from rekep.observation import RGBD


@runtime_checkable
class Proposer(Protocol):
    """Anything that proposes keypoints on an observation."""

    def propose(self, rgbd: RGBD, masks: Mapping[int, ArrayLike]) -> Keypoints:
        """Keypoints on ``rgbd`` from ``masks`` ({object id: (H, W) bool}).

        Returns positions (K, 3) in world metres, pixels (K, 2) (u, v), object ids (K,)
        taken from the mask ids, and the annotated image; sorted by pixel row then column.
        """
        ...


#: name -> factory; keyword options are forwarded (``config=...``; for ``features`` also
#: ``extractor=`` and ``segmenter=``).
PROPOSERS: dict[str, Callable[..., Proposer]] = {
    "simple": SimpleProposer,
    "features": FeatureProposer,
}


def get_proposer(name: str, **options: Any) -> Proposer:
    """Build the proposer registered as ``name`` with ``options``.

    Raises:
        ConfigurationError: unknown name (the message lists the valid ones) or options
            the proposer does not accept.
    """
    try:
        factory = PROPOSERS[name]
    except (KeyError, TypeError):
        valid = ", ".join(sorted(PROPOSERS))
        raise ConfigurationError(
            f"unknown keypoint proposer {name!r}; valid names: {valid}"
        ) from None
    try:
        return factory(**options)
    except TypeError as exc:
        raise ConfigurationError(
            f"keypoint proposer {name!r} does not accept options {sorted(options)}: {exc}"
        ) from exc
