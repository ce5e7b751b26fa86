"""Prompt templates, worked examples, prompt building, code extraction and PNG encoding."""

from __future__ import annotations

import re

import numpy as np
import pytest

import vlm_prompts
from rekep.errors import ProgramError
from rekep.keypoint_set import Keypoints
from rekep.vlm import NoCodeError, VLMError, build_prompt, encode_png, extract_code, image_sha256
from rekep.vlm.image import png_data_url
from rekep.vlm.prompt import feedback_message, fill


def _keypoints(k: int) -> Keypoints:
    return Keypoints(
        positions=np.arange(3 * k, dtype=float).reshape(k, 3) / 10,
        pixels=np.zeros((k, 2)),
        object_ids=np.zeros(k),
        names=tuple(f"anchor{i}" for i in range(k)),
    )


def test_templates_are_versioned_and_the_header_is_stripped() -> None:
    assert {"constraint_generation", "retry_feedback"} <= set(vlm_prompts.list_templates())
    versions = vlm_prompts.available_versions("constraint_generation")
    assert versions and vlm_prompts.template_version() == versions[-1]
    text = vlm_prompts.load_template()
    assert text == vlm_prompts.load_template("constraint_generation", versions[-1])
    assert not text.startswith("### rekep-template")
    with pytest.raises(vlm_prompts.TemplateNotFoundError, match="constraint_generation"):
        vlm_prompts.load_template("no_such_template")
    with pytest.raises(vlm_prompts.TemplateNotFoundError, match="available versions"):
        vlm_prompts.load_template("constraint_generation", 999)


def test_template_states_the_rules() -> None:
    text = vlm_prompts.load_template()
    for phrase in (
        "at most 0",
        "get_grasping_cost_by_keypoint_idx",
        "offsetted_point",
        "No imports",
        "`if` statements",
        "Grasping is a stage of its own",
        "exactly one sub-goal constraint",
        "at most one object",
        "mean of keypoints",
        "```python",
    ):
        assert phrase in text, phrase


def test_examples_cover_the_task_kinds() -> None:
    names = set(vlm_prompts.list_examples())
    assert {"pick_and_place", "insert_upright", "pour", "fold_cloth", "bimanual_fold"} <= names
    arms = {vlm_prompts.load_example(n).arms for n in names}
    assert arms == {1, 2}
    with pytest.raises(vlm_prompts.TemplateNotFoundError, match="pick_and_place"):
        vlm_prompts.load_example("juggle")


@pytest.mark.parametrize("name", vlm_prompts.list_examples())
def test_every_worked_example_is_a_valid_program(name: str) -> None:
    program_module = pytest.importorskip("rekep.program")
    example = vlm_prompts.load_example(name)
    code = extract_code(example.text)
    program = program_module.load_program(
        code, num_keypoints=example.num_keypoints, bimanual=example.arms == 2
    )
    assert program.num_stages >= 2
    assert "if " not in code and "import" not in code
    with pytest.raises(ProgramError):  # one keypoint too few: an index is out of range
        program_module.load_program(
            code, num_keypoints=_max_index(code), bimanual=example.arms == 2
        )


@pytest.mark.parametrize("name", vlm_prompts.list_examples())
def test_worked_examples_follow_the_rules_they_teach(name: str) -> None:
    """Grasp stages have one sub-goal and no path constraint; later stages that hold the
    object check it is still held; every constraint evaluates to a finite number."""
    program_module = pytest.importorskip("rekep.program")
    example = vlm_prompts.load_example(name)
    program = program_module.load_program(
        extract_code(example.text), num_keypoints=example.num_keypoints, bimanual=example.arms == 2
    )
    rng = np.random.default_rng(2)
    keypoints = rng.uniform(-0.5, 0.5, (example.num_keypoints, 3))
    end_effector = rng.uniform(-0.5, 0.5, (3,) if example.arms == 1 else (2, 3))
    held: set[int] = set()
    for stage in program.stages:
        for fn in (*stage.subgoal_constraints, *stage.path_constraints):
            assert np.isfinite(fn(end_effector, keypoints, held_keypoints=sorted(held)))
        if stage.is_grasp_stage:
            assert len(stage.subgoal_constraints) == 1 and not stage.path_constraints
        elif held:
            costs_held = [
                fn(end_effector, keypoints, sorted(held)) for fn in stage.path_constraints
            ]
            costs_dropped = [fn(end_effector, keypoints, ()) for fn in stage.path_constraints]
            assert any(h <= 0 < d for h, d in zip(costs_held, costs_dropped, strict=True)), (
                f"stage {stage.number} holds {held} but never checks it is still grasped"
            )
        grasp, release = stage.grasp_keypoint, stage.release_keypoint
        held |= {k for k in np.atleast_1d(grasp).tolist() if k != -1}
        held -= {k for k in np.atleast_1d(release).tolist() if k != -1}


def _max_index(code: str) -> int:
    """The largest keypoint index the code uses (so K = that index is one too few)."""
    return max(int(i) for i in re.findall(r"keypoints\[(\d+)\]", code))


@pytest.mark.parametrize("bimanual", [False, True])
def test_prompt_is_complete_and_matches_the_robot(bimanual: bool) -> None:
    prompt = build_prompt("  stack the\tcups ", _keypoints(5), bimanual=bimanual)
    assert "{{" not in prompt.text and "}}" not in prompt.text
    assert "Instruction: stack the cups\n" in prompt.text
    assert "5 numbered keypoints, indices 0 to 4" in prompt.text
    assert "anchor4" in prompt.text
    assert ("Example: bimanual fold" in prompt.text) == bimanual
    assert ("(2, 3)" in prompt.text) == bimanual
    assert prompt.template == "constraint_generation"
    assert prompt.version == vlm_prompts.template_version()


def test_prompt_rejects_empty_inputs() -> None:
    with pytest.raises(VLMError, match="instruction"):
        build_prompt("   ", _keypoints(3))
    with pytest.raises(VLMError, match="no keypoints"):
        build_prompt("do it", _keypoints(0))
    with pytest.raises(VLMError, match="missing_one"):
        fill("{{a}} {{missing_one}}", {"a": "x"})


def test_feedback_message_carries_the_reason() -> None:
    message = feedback_message("[in stage1_subgoal_constraint1, line 4] bad thing")
    assert message["role"] == "user"
    assert "[in stage1_subgoal_constraint1, line 4] bad thing" in message["content"]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("Plan:\n```python\nnum_stages = 1\n```\nDone.", "num_stages = 1\n"),
        ("```py\na = 1\n```\ntext\n```python\nb = 2\n```", "a = 1\n\nb = 2\n"),
        ("```\nnum_stages = 3\n```", "num_stages = 3\n"),
        ("```text\nnotes\n```\n```python\nx = 1\n```", "x = 1\n"),
        (
            "num_stages = 2\ngrasp_keypoints = [0, -1]",
            "num_stages = 2\ngrasp_keypoints = [0, -1]\n",
        ),
        ("```python\nnum_stages = 2\ndef stage1_sub", "num_stages = 2\ndef stage1_sub\n"),
    ],
)
def test_extract_code(reply: str, expected: str) -> None:
    assert extract_code(reply) == expected


@pytest.mark.parametrize(
    "reply", ["", "I cannot see the image.", "num_stages is two, then (", "```python\n\n```"]
)
def test_extract_code_without_code(reply: str) -> None:
    with pytest.raises(NoCodeError, match="```python"):
        extract_code(reply)


def test_png_round_trip_and_hash() -> None:
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (13, 17, 3), dtype=np.uint8)
    png = encode_png(image)
    decoded = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
    np.testing.assert_array_equal(decoded, image)
    assert png_data_url(png).startswith("data:image/png;base64,iVBOR")

    assert image_sha256(image) == image_sha256(image.copy())
    changed = image.copy()
    changed[5, 5, 1] ^= 1
    assert image_sha256(changed) != image_sha256(image)
    reshaped = np.ascontiguousarray(image.reshape(17, 13, 3))  # same bytes, other shape
    assert image_sha256(reshaped) != image_sha256(image)
    with pytest.raises(VLMError, match="uint8"):
        encode_png(image.astype(np.float32))
