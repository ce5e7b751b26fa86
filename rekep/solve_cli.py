"""``rekep solve``: plan from RGB-D files, with a program file or the configured VLM."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_solve_parser(subparsers: Any) -> None:
    """Register ``rekep solve`` on the CLI's subparsers."""
    solve = subparsers.add_parser(
        "solve",
        help="plan from RGB-D files (program file or VLM)",
        description="Propose keypoints on an RGB-D frame, get a constraint program (from "
        "--program or the configured VLM) and plan it. Writes plan.json and keypoints.png "
        "into --out. Exit code 0 when the plan is feasible.",
    )
    solve.add_argument("--instruction", required=True, help="what to do, in words")
    solve.add_argument("--rgb", required=True, help="colour image: PNG/JPEG or .npy (H,W,3)")
    solve.add_argument("--depth", required=True, help="depth: .npy metres or 16-bit PNG")
    solve.add_argument("--intrinsics", required=True, help="3x3 K: .npy/.txt/.json")
    solve.add_argument("--camera-pose", help="4x4 T_world_camera (.npy/.txt/.json); default I")
    solve.add_argument("--depth-scale", type=float, default=0.001, help="metres per depth unit")
    solve.add_argument("--masks", required=True, help="(H,W) integer label image (.npy/PNG)")
    solve.add_argument("--hand-pose", help="4x4 current T_world_tcp (.npy/.txt/.json)")
    solve.add_argument("--program", help="ReKep program file; omit to ask the VLM")
    solve.add_argument("--out", default="out/solve", help="output directory")
    solve.add_argument("--record", metavar="FILE.rrd", help="write a Rerun recording of the plan")
    solve.add_argument("--proposer", default="features", choices=["features", "simple"],
                       help="keypoint proposer (default: features)")
    solve.add_argument("--vlm-backend", help="openai | replay (default: REKEP_VLM_BACKEND)")
    solve.add_argument("--vlm-replay", help="answer from this saved query directory, offline")
    solve.add_argument("--vlm-store", help="directory where queries are saved")
    solve.add_argument("--vlm-model", help="model name (default: REKEP_VLM_MODEL)")
    solve.add_argument("--vlm-base-url", help="OpenAI-compatible endpoint URL")
    solve.set_defaults(func=run_solve)


def _vlm_config(args: argparse.Namespace) -> Any:
    from rekep.vlm.config import VLMConfig

    overrides: dict[str, Any] = {}
    if args.vlm_backend:
        overrides["backend"] = args.vlm_backend
    if args.vlm_replay:
        overrides["backend"] = "replay"
    if args.vlm_store:
        overrides["store_dir"] = Path(args.vlm_store)
    if args.vlm_model:
        overrides["model"] = args.vlm_model
    if args.vlm_base_url:
        overrides["base_url"] = args.vlm_base_url
    return VLMConfig.from_env(**overrides)


def run_solve(args: argparse.Namespace) -> int:
    import rekep
    from keypoints.annotate import save_png
    from keypoints.proposer import get_proposer
    from rekep.api import masks_for_proposal
    from rekep.frame_files import load_frame, load_labels, load_matrix

    rgbd = load_frame(args.rgb, args.depth, args.intrinsics, args.camera_pose, args.depth_scale)
    masks = masks_for_proposal(load_labels(args.masks), rgbd)
    keypoints = get_proposer(args.proposer).propose(rgbd, masks)
    out = Path(args.out)
    if keypoints.annotated_image is not None:
        print(f"annotated keypoints: {save_png(out / 'keypoints.png', keypoints.annotated_image)}")
    program: Any = None
    if args.program:
        program = Path(args.program).read_text()
    elif args.vlm_replay:
        program = _replayed_program(args, keypoints)
    hand = None if args.hand_pose is None else load_matrix(args.hand_pose, "hand pose")
    plan = rekep.solve(
        args.instruction,
        rgbd,
        program=program,
        keypoints=keypoints,
        T_world_tcp=hand,
        vlm=_vlm_config(args),
    )
    for stage in plan.stages:
        where = " ".join(f"{v:.3f}" for v in stage.subgoal.pose[:3, 3])
        print(f"stage {stage.number}: {stage.subgoal.status}, sub-goal TCP at [{where}] m")
    print(f"plan: {plan.save(out / 'plan.json')}")
    if args.record:
        from rekep.record.plan_recording import record_plan
        from rekep.record.rerun_recorder import RerunRecorder

        recorder = RerunRecorder(args.record)
        try:
            record_plan(recorder, rgbd, plan)
        finally:
            recorder.close()
        print(f"recording: {args.record}")
    print(f"feasible: {'true' if plan.feasible else 'false'}")
    return 0 if plan.feasible else 1


def _replayed_program(args: argparse.Namespace, keypoints: Any) -> Any:
    from rekep.vlm.generate import generate_program
    from rekep.vlm.replay import ReplayBackend

    backend = ReplayBackend(query_dir=Path(args.vlm_replay))
    result = generate_program(
        args.instruction, keypoints, config=_vlm_config(args), backend=backend
    )
    return result.program
