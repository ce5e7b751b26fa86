"""The ``rekep`` command line: ``rekep demo``, ``rekep tasks``, ``rekep solve``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rekep.bench_cli import add_bench_parser
from rekep.config_cli import add_config_parser, add_settings_options, settings_from_args
from rekep.errors import RekepError
from rekep.solve_cli import add_solve_parser


def _cmd_tasks(args: argparse.Namespace) -> int:
    from rekep.sim.tasks.registry import list_tasks

    for name, description in list_tasks():
        print(f"{name:24s} {description}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    settings = settings_from_args(args, {
        "run.task": args.task, "run.seed": args.seed, "run.keypoints": args.keypoints,
        "run.out": args.out, "solver.backend": args.backend, "loop.mode": args.loop,
        "loop.tracker": args.tracker, "loop.disturbance": args.disturb,
    })  # fmt: skip
    recorder = None
    if args.record:
        from rekep.record.rerun_recorder import RerunRecorder

        recorder = RerunRecorder(args.record)
    video = Path(args.video) if args.video else None
    try:
        if settings.loop.mode == "closed":
            result = _run_closed(settings, recorder, video)
        else:
            result = _run_open(settings, recorder, video)
    finally:
        if recorder is not None:
            recorder.close()
    if args.record:
        print(f"recording: {args.record} (open it with: rekep view {args.record})")
    if args.video:
        print(f"video: {args.video}")
    if result.annotated_image_path is not None:
        print(f"annotated keypoints: {result.annotated_image_path}")
    if result.failure:
        print(f"failure: {result.failure}")
    print(f"success: {'true' if result.success else 'false'}")
    return 0 if result.success else 1


def _run_open(settings: Any, recorder: Any, video: Path | None) -> Any:
    from rekep.episode import run_episode
    from rekep.settings.apply import episode_config

    def on_stage(line: str) -> None:
        print(line, flush=True)

    return run_episode(episode_config(settings), on_event=on_stage, recorder=recorder,
                       video_path=video)  # fmt: skip


def _run_closed(settings: Any, recorder: Any, video: Path | None) -> Any:
    from rekep.loop.episode import run_closed_loop_episode
    from rekep.settings.apply import closed_loop_config

    config = closed_loop_config(settings)
    print(f"closed loop: {config.task} seed {config.seed}, {config.keypoint_mode} keypoints, "
          f"tracker {config.tracker}, {config.loop.hz:.0f} Hz ticks", flush=True)  # fmt: skip
    result = run_closed_loop_episode(config, recorder=recorder, video_path=video)
    for line in result.summary(with_outcome=False):
        print(line)
    return result


def _cmd_view(args: argparse.Namespace) -> int:
    from rekep.record.viewer import open_viewer, verify_recording

    if args.verify:
        print(verify_recording(args.recording))
        return 0
    return open_viewer(args.recording, allow_analytics=args.allow_analytics)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rekep", description="Constraint-based manipulation in the ReKep style."
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log what the library does (INFO)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="errors only")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run a simulated task end to end, headless")
    demo.add_argument("--task", help="task name (see `rekep tasks`); default block_in_tray")
    demo.add_argument("--seed", type=int, help="scene randomization seed (default 0)")
    demo.add_argument("--out", help="directory for the annotated image etc. (default out/demo)")
    demo.add_argument(
        "--keypoints",
        choices=["proposed", "annotated"],
        help="proposed (default): keypoints from the rendered RGB-D; annotated: the task's anchors",
    )
    demo.add_argument(
        "--backend",
        help="sub-goal solver: casadi (joint space, default), scipy, rekep_baseline",
    )
    demo.add_argument("--loop", choices=["closed", "open"],
                      help="closed (default): track and re-solve every tick; open: plan once")
    demo.add_argument("--tracker", choices=["auto", "sim", "flow", "cotracker"],
                      help="keypoint tracker of the closed loop (default auto = flow)")
    demo.add_argument("--disturb", choices=["auto", "move_target", "knock_out", "rotate_object"],
                      help="arm a disturbance during the run (closed loop)")
    demo.add_argument("--record", metavar="FILE.rrd", help="write a Rerun recording of the run")
    demo.add_argument("--video", metavar="FILE.mp4", help="film the run from a recorder camera")
    add_settings_options(demo)
    demo.set_defaults(func=_cmd_demo)

    view = sub.add_parser("view", help="open a .rrd recording in the Rerun viewer")
    view.add_argument("recording", help="a .rrd file written with --record")
    view.add_argument("--verify", action="store_true",
                      help="only check that the file loads (rerun rrd verify); no window")
    view.add_argument("--allow-analytics", action="store_true",
                      help="leave the viewer's anonymous usage analytics as configured "
                           "(default: disable them before opening)")  # fmt: skip
    view.set_defaults(func=_cmd_view)

    tasks = sub.add_parser("tasks", help="list the simulated tasks")
    tasks.set_defaults(func=_cmd_tasks)
    add_solve_parser(sub)
    add_bench_parser(sub)
    add_config_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.INFO if args.verbose else logging.ERROR if args.quiet else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except RekepError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
