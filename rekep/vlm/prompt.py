"""Turn the versioned templates of :mod:`vlm_prompts` into chat messages for one query."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import vlm_prompts
from rekep.keypoint_set import Keypoints
from rekep.vlm.errors import VLMError

TEMPLATE_NAME = "constraint_generation"
FEEDBACK_TEMPLATE = "retry_feedback"
_PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")

Message = dict[str, Any]


@dataclass(frozen=True)
class Prompt:
    """The filled-in text of the first user message (the image travels next to it).

    Attributes:
        text: the prompt text.
        template: template name, e.g. ``constraint_generation``.
        version: template version used.
    """

    text: str
    template: str
    version: int


def normalize_instruction(instruction: str) -> str:
    """Collapse whitespace, so prompts and store lookups do not depend on spacing."""
    return " ".join(str(instruction).split())


def fill(template: str, values: dict[str, str]) -> str:
    """Replace every ``{{name}}`` of ``template``; raise :class:`VLMError` if one is unknown."""
    missing = sorted(set(_PLACEHOLDER.findall(template)) - set(values))
    if missing:
        raise VLMError(f"prompt template has placeholders with no value: {missing}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def _robot_parts(bimanual: bool) -> dict[str, str]:
    text = vlm_prompts.load_template("robot_two_arms" if bimanual else "robot_one_arm")
    head, _, rules = text.partition("rules:\n")
    parts = dict(line.split(": ", 1) for line in head.strip().splitlines())
    return {
        "robot": parts["robot"],
        "end_effector_shape": parts["end_effector_shape"],
        "robot_rules": rules,
    }


def _examples(bimanual: bool) -> str:
    examples = [vlm_prompts.load_example(name) for name in vlm_prompts.list_examples()]
    blocks = []
    for example in sorted(examples, key=lambda e: (e.order, e.name)):
        if example.arms == 2 and not bimanual:
            continue
        arms = "two arms" if example.arms == 2 else "one arm"
        title = example.name.replace("_", " ")
        blocks.append(f"\n### Example: {title} ({arms})\n{example.text}")
    return "".join(blocks) + "\n"


def _keypoint_table(keypoints: Keypoints) -> str:
    lines = ["Keypoint positions in metres (x, y, z), for reference:"]
    names = keypoints.names or ("",) * len(keypoints)
    for index, (position, name) in enumerate(zip(keypoints.positions, names, strict=True)):
        label = f"  ({name})" if name else ""
        x, y, z = (float(v) for v in position)
        lines.append(f"  {index}: ({x:.3f}, {y:.3f}, {z:.3f}){label}")
    return "\n".join(lines) + "\n"


def build_prompt(
    instruction: str, keypoints: Keypoints, *, bimanual: bool = False, version: int | None = None
) -> Prompt:
    """Fill the ``constraint_generation`` template for one instruction and keypoint set.

    Args:
        instruction: the task in free text, e.g. "put the red block into the bowl".
        keypoints: the K keypoints drawn on the annotated image; their positions are listed.
        bimanual: describe a two-arm robot and include the two-arm example.
        version: template version; None = newest.
    """
    instruction = normalize_instruction(instruction)
    if not instruction:
        raise VLMError("the instruction is empty; say what the robot should do")
    if len(keypoints) == 0:
        raise VLMError("there are no keypoints to write constraints on; propose keypoints first")
    version = vlm_prompts.template_version(TEMPLATE_NAME, version)
    values = {
        "instruction": instruction,
        "num_keypoints": str(len(keypoints)),
        "max_index": str(len(keypoints) - 1),
        "keypoint_table": _keypoint_table(keypoints),
        "examples": _examples(bimanual),
        **_robot_parts(bimanual),
    }
    text = fill(vlm_prompts.load_template(TEMPLATE_NAME, version), values)
    return Prompt(text=text, template=TEMPLATE_NAME, version=version)


def initial_messages(prompt: Prompt, image_data_url: str) -> list[Message]:
    """The first request: one user message with the prompt text and the image."""
    return [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": prompt.text},
                {"type": "image_url", "image_url": {"url": image_data_url}},
            ],
        }
    ]


def feedback_message(reason: str) -> Message:
    """The user message that asks again after a reply failed validation."""
    text = fill(vlm_prompts.load_template(FEEDBACK_TEMPLATE), {"reason": reason.strip()})
    return {"role": "user", "content": text}
