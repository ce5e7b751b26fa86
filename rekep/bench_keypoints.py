"""The keypoint-proposal benchmark (``rekep bench keypoints``) on rendered task-suite scenes.

For every task and test seed the task's camera is rendered after ``reset(seed)`` (as an
episode does). On each scene, per feature extractor (``geometric``; ``dinov2`` = ViT-S/14
with RANDOMLY INITIALIZED weights of the real architecture, which measures its compute,
not its quality) and per mask source (``sim``: the simulator's segmentation of the task's
objects; ``segmenter``: the weight-free RGB-D segmenter), the feature proposer runs with
its default settings and is timed. The task's semantic anchors (PRIVILEGED ground truth)
are used only here, for scoring: an anchor is recalled when some proposed keypoint lies
within 3 cm of it. ``anchor_observable_3cm`` is the oracle bound: the fraction of anchors
with an observed, valid-depth pixel of their own object within 3 cm.

:func:`run_keypoint_bench` returns a JSON-ready dict; :func:`format_table` renders it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from keypoints.feature_config import FeatureProposalConfig
from keypoints.feature_proposer import FeatureProposer
from keypoints.features import FeatureExtractor
from keypoints.masks import masks_from_segmentation
from rekep.availability import is_available
from rekep.errors import ConfigurationError
from rekep.observation import RGBD

logger = logging.getLogger(__name__)

EXTRACTORS = ("geometric", "dinov2")
SOURCES = ("sim", "segmenter")
RECALL_RADIUS_M = 0.03
#: (extractor, mask source) -> targets; ms targets apply to the proposal with given masks
TARGETS: dict[tuple[str, str], dict[str, float]] = {
    ("geometric", "sim"): {"ms_median_max": 100.0, "anchor_recall_3cm_min": 0.9},
    ("geometric", "segmenter"): {"anchor_recall_3cm_min": 0.8},
    ("dinov2", "sim"): {"ms_median_max": 1000.0},
}
KEYPOINTS_RANGE = (5, 40)


@dataclass(frozen=True)
class BenchScene:
    """One rendered scene: the observation, the simulator's (H, W) body-id image, the ids
    of the task's objects, and the anchors (name -> (3,) world metres; scoring only)."""

    task: str
    seed: int
    rgbd: RGBD
    segmentation: NDArray[np.int64]
    object_ids: tuple[int, ...]
    anchors: dict[str, NDArray[np.float64]]
    anchor_objects: dict[str, int]


def render_scenes(tasks: Sequence[str], seeds: Sequence[int]) -> list[BenchScene]:
    """Render every task's default camera after ``reset(seed)``, robot at home."""
    from rekep.sim import HOME_Q, Panda, SimWorld, get_task_class

    scenes = []
    for name in tasks:
        cls = get_task_class(name)
        for seed in seeds:
            with SimWorld() as world:
                panda = Panda(world)
                task = cls(world)
                panda.reset_joints(HOME_Q, width=0.08)
                task.reset(seed)
                rgbd, seg = task.camera().render(world.client)
                scenes.append(BenchScene(
                    name, int(seed), rgbd, seg, tuple(sorted(task.object_bodies().values())),
                    {k: np.asarray(v, dtype=np.float64) for k, v in task.anchors().items()},
                    dict(task.anchor_objects()),
                ))  # fmt: skip
    return scenes


def build_extractor(name: str) -> tuple[FeatureExtractor | None, str]:
    """The extractor benchmarked as ``name`` and a label, or (None, why it is skipped)."""
    if name == "geometric":
        from keypoints.features import GeometricExtractor

        return GeometricExtractor(), "geometric"
    if name == "dinov2":
        if not (is_available("torch") and is_available("transformers")):
            return None, "skipped: torch/transformers missing (pip install 'rekep[dinov2]')"
        from keypoints.features import Dinov2Extractor

        ex = Dinov2Extractor.random_init("vits14")
        h, w = ex.input_size(480, 640)
        return ex, f"dinov2 ViT-S/14, random weights, input {w}x{h}"
    raise ConfigurationError(f"unknown benchmark extractor {name!r}; valid: {EXTRACTORS}")


def observable(scene: BenchScene, radius: float = RECALL_RADIUS_M) -> list[bool]:
    """Per anchor (sorted by name): does a valid pixel of its object lie within radius?"""
    points = scene.rgbd.points_world()
    valid = scene.rgbd.valid_depth()
    out = []
    for name in sorted(scene.anchors):
        mask = valid & (scene.segmentation == scene.anchor_objects[name])
        d = np.linalg.norm(points[mask] - scene.anchors[name], axis=1)
        out.append(bool(d.size and d.min() <= radius))
    return out


def recalled(scene: BenchScene, positions: NDArray[np.float64]) -> list[bool]:
    """Per anchor (sorted by name): is a keypoint within :data:`RECALL_RADIUS_M`?"""
    if len(positions) == 0:
        return [False] * len(scene.anchors)
    return [bool(np.linalg.norm(positions - scene.anchors[n], axis=1).min() <= RECALL_RADIUS_M)
            for n in sorted(scene.anchors)]  # fmt: skip


def _median(values: Sequence[float]) -> float:
    return float(np.median(values)) if len(values) else float("nan")


def bench_row(
    scenes: Sequence[BenchScene], extractor: FeatureExtractor, source: str
) -> dict[str, Any]:
    """Propose on every scene with one extractor and mask source; the row's figures."""
    cfg = FeatureProposalConfig(mask_source="given" if source == "sim" else "segmenter")
    proposer = FeatureProposer(cfg, extractor=extractor)

    def masks_of(s: BenchScene) -> Any:
        return masks_from_segmentation(s.segmentation, s.object_ids) if source == "sim" else None

    proposer.propose(scenes[0].rgbd, masks_of(scenes[0]))  # warm-up (lazy imports, caches)
    wall, cpu, feat, mask_ms, counts, hits, empty = [], [], [], [], [], [], 0
    per_task: dict[str, list[bool]] = {}
    for s in scenes:
        t0, c0 = time.perf_counter(), time.process_time()
        masks = masks_of(s)
        kp, report = proposer.propose_with_report(s.rgbd, masks)
        wall.append(1e3 * (time.perf_counter() - t0))
        cpu.append(1e3 * (time.process_time() - c0))
        feat.append(report.timings_ms.get("features", 0.0))
        mask_ms.append(report.timings_ms.get("masks", 0.0))
        counts.append(len(kp))
        empty += len(kp) == 0
        found = recalled(s, kp.positions)
        hits += found
        per_task.setdefault(s.task, []).extend(found)
        logger.info("%s/%s %s seed %d: %d keypoints, %d/%d anchors, %.0f ms", extractor.name,
                    source, s.task, s.seed, len(kp), sum(found), len(found), wall[-1])  # fmt: skip
    return {
        "extractor": extractor.name,
        "mask_source": source,
        "ms_median": _median(wall),
        "cpu_ms_median": _median(cpu),
        "features_ms_median": _median(feat),
        "masks_ms_median": _median(mask_ms),
        "keypoints_median": _median(counts),
        "keypoints_min": int(min(counts)),
        "keypoints_max": int(max(counts)),
        "empty_results": int(empty),
        "anchors_total": len(hits),
        "anchors_found": int(sum(hits)),
        "anchor_recall_3cm": float(np.mean(hits)) if hits else float("nan"),
        "per_task_recall_3cm": {t: float(np.mean(v)) for t, v in sorted(per_task.items())},
    }


def check_targets(row: dict[str, Any]) -> dict[str, bool]:
    """Target name -> met, for the row's (extractor, mask source)."""
    targets = TARGETS.get((row["extractor"], row["mask_source"]), {})
    met: dict[str, bool] = {}
    if "ms_median_max" in targets:
        met[f"ms_median <= {targets['ms_median_max']:.0f}"] = (
            row["ms_median"] <= targets["ms_median_max"]
        )
    if "anchor_recall_3cm_min" in targets:
        met[f"anchor_recall_3cm >= {targets['anchor_recall_3cm_min']}"] = (
            row["anchor_recall_3cm"] >= targets["anchor_recall_3cm_min"]
        )
    if row["extractor"] == "geometric":
        lo, hi = KEYPOINTS_RANGE
        in_range = lo <= row["keypoints_min"] and row["keypoints_max"] <= hi
        met[f"keypoints in [{lo}, {hi}]"] = in_range
    return met


def run_keypoint_bench(
    tasks: Sequence[str] | None = None,
    seeds: int = 3,
    extractors: Sequence[str] = EXTRACTORS,
    sources: Sequence[str] = SOURCES,
    quick: bool = False,
) -> dict[str, Any]:
    """Run the benchmark; ``quick``: the first task and one seed only.

    Returns a JSON-ready dict: the setup, ``anchor_observable_3cm`` and one row per
    (extractor, mask source) with its figures and ``targets`` (name -> met).
    """
    from rekep.sim.tasks import TASKS, TEST_SEEDS

    names = list(tasks) if tasks else sorted(TASKS)
    if seeds < 1:
        raise ConfigurationError(f"seeds must be >= 1, got {seeds}")
    for s in sources:
        if s not in SOURCES:
            raise ConfigurationError(f"unknown mask source {s!r}; valid: {', '.join(SOURCES)}")
    if quick:
        names, seeds = names[:1], 1
    seed_list = list(TEST_SEEDS)[:seeds]
    scenes = render_scenes(names, seed_list)
    oracle = [o for s in scenes for o in observable(s)]
    rows, labels = [], {}
    for name in extractors:
        extractor, label = build_extractor(name)
        labels[name] = label
        if extractor is None:
            logger.warning("%s: %s", name, label)
            continue
        for source in sources:
            row = bench_row(scenes, extractor, source)
            row["targets"] = check_targets(row)
            rows.append(row)
    return {
        "tasks": names,
        "seeds": seed_list,
        "scenes": len(scenes),
        "frame": [int(scenes[0].rgbd.width), int(scenes[0].rgbd.height)],
        "extractors": labels,
        "torch_threads": _torch_threads(),
        "recall_radius_m": RECALL_RADIUS_M,
        "anchor_observable_3cm": float(np.mean(oracle)) if oracle else float("nan"),
        "results": rows,
    }


def _torch_threads() -> int | None:
    if not is_available("torch"):
        return None
    import torch

    return int(torch.get_num_threads())


def format_table(report: dict[str, Any]) -> str:
    """A human-readable table of :func:`run_keypoint_bench`'s report."""
    head = (f"keypoint proposal on {report['scenes']} scenes ({len(report['tasks'])} tasks x "
            f"seeds {report['seeds'][0]}..{report['seeds'][-1]}), "
            f"{report['frame'][0]}x{report['frame'][1]}; anchors observable within 3 cm: "
            f"{report['anchor_observable_3cm']:.2f}")  # fmt: skip
    cols = ("extractor", "masks", "ms", "cpu_ms", "feat_ms", "mask_ms", "kp med", "kp min-max",
            "recall@3cm", "targets")  # fmt: skip
    lines = [head, "  ".join(f"{c:>10}" for c in cols)]
    for r in report["results"]:
        missed = [k for k, ok in r["targets"].items() if not ok]
        verdict = "met" if not missed else "MISSED " + "; ".join(missed)
        if not r["targets"]:
            verdict = "n/a"
        cells = (r["extractor"], r["mask_source"], f"{r['ms_median']:.0f}",
                 f"{r['cpu_ms_median']:.0f}", f"{r['features_ms_median']:.0f}",
                 f"{r['masks_ms_median']:.0f}",
                 f"{r['keypoints_median']:.0f}", f"{r['keypoints_min']}-{r['keypoints_max']}",
                 f"{r['anchor_recall_3cm']:.3f}")  # fmt: skip
        lines.append("  ".join(f"{c:>10}" for c in cells) + "  " + verdict)
    lines.append("per-task anchor recall@3cm:")
    for r in report["results"]:
        tasks = ", ".join(f"{t} {v:.2f}" for t, v in r["per_task_recall_3cm"].items())
        lines.append(f"  {r['extractor']}/{r['mask_source']}: {tasks}")
    lines += [f"  {k}: {v}" for k, v in report["extractors"].items()]
    return "\n".join(lines)
