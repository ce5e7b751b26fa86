"""Map an episode's failure string to a reporting category.

The episode runners name a failure with a short prefix followed by details (see
:mod:`rekep.episode`): ``"solver infeasible: stage 2/3: ..."``, ``"grasp missed: ..."``.
:func:`categorize_failure` maps those strings to the categories of the benchmark table;
per-episode records keep the raw string next to the category.

The closed loop (:mod:`rekep.loop`) writes ``"<terminal>: <reason>"`` with terminals such
as ``grasp_missed`` or ``tracking_lost``; underscores count as spaces.

Rules, first match wins (case-insensitive, on the start of the string unless noted):

=====================  ==============================================================
category               failure strings
=====================  ==============================================================
``timeout``            ``timeout...`` (the runner's episode limit; the loop's stage timeout)
``crash``              ``crash...`` (an exception or a dead worker process)
``perception``         ``perception...``, ``keypoint...``, or containing ``anchor``
``program``            ``program...``, ``constraint program...``, ``sandbox...``
``solver infeasible``  ``solver infeasible...``, ``infeasible...``, ``solver...`` (incl.
                       the loop's ``solver_error``)
``grasp missed``       ``grasp missed...``, ``grasp lost...`` (object dropped in transport),
                       ``release failed...`` (the loop's release primitive)
``tracking lost``      ``tracking lost...``, ``tracking...``, ``tracker...``
``other``              anything else, e.g. ``sub-goal not reached`` (the executed pose
                       missed a feasible sub-goal), ``task check failed`` / ``task_check``
                       (every stage ran but the physical success check failed) and the
                       loop's ``backtrack_limit``
=====================  ==============================================================
"""

from __future__ import annotations

CATEGORIES: tuple[str, ...] = (
    "perception",
    "program",
    "solver infeasible",
    "grasp missed",
    "tracking lost",
    "timeout",
    "crash",
    "other",
)
"""Every category a failure can fall into, in table order."""

_PREFIX_RULES: tuple[tuple[str, str], ...] = (
    ("timeout", "timeout"),
    ("crash", "crash"),
    ("perception", "perception"),
    ("keypoint", "perception"),
    ("program", "program"),
    ("constraint program", "program"),
    ("sandbox", "program"),
    ("solver infeasible", "solver infeasible"),
    ("infeasible", "solver infeasible"),
    ("solver", "solver infeasible"),
    ("grasp missed", "grasp missed"),
    ("grasp lost", "grasp missed"),
    ("release failed", "grasp missed"),
    ("tracking", "tracking lost"),
    ("tracker", "tracking lost"),
)


def categorize_failure(reason: str | None) -> str | None:
    """The category of a failure string (see the module table); None for a success.

    Never raises: an unrecognized string is ``"other"``, so no failure is dropped.
    """
    if reason is None:
        return None
    text = reason.strip().lower().replace("_", " ")
    for prefix, category in _PREFIX_RULES:
        if text.startswith(prefix):
            return category
    if "anchor" in text:
        return "perception"
    return "other"


def count_by_category(reasons: list[str | None]) -> dict[str, int]:
    """Failures per category (every category present, zeros included); successes skipped."""
    counts = dict.fromkeys(CATEGORIES, 0)
    for reason in reasons:
        category = categorize_failure(reason)
        if category is not None:
            counts[category] += 1
    return counts
