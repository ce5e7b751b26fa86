"""The sandbox against a corpus of known escape and resource-exhaustion payloads.

Corpus (tests/program/escape_corpus.py), 162 payloads; stopped at load time / at run time:

- dunder attribute walks (__subclasses__, __globals__, __builtins__, __class__, __mro__,
  __closure__, np.__dict__, ...): 15 / 0
- format-string tricks ("{0.__class__}".format, format_map, f-strings, '%' formatting and
  width bombs): 5 / 2
- generators and frames (gi_frame, f_back, tb_frame via try, yield, async): 8 / 0
- decorators: 3 / 0
- default-argument tricks (def and lambda defaults, keyword-only defaults): 5 / 0
- getattr/vars/globals/locals/type/object/eval/exec/open/setattr, global/nonlocal/class/del/
  with/raise/walrus/match, rebinding np or the helper: 27 / 0
- NumPy tricks (np.load/save/fromfile/memmap/savetxt/genfromtxt, np.lib, np.ctypeslib,
  np.frompyfunc, np.vectorize, np.__dict__, array.ctypes/tofile/dump/view/base, np.random,
  np.seterr, aliasing np): 27 / 0
- huge allocations (np creation functions, broadcasting, outer/kron/meshgrid/diag/einsum,
  list/str repetition, big ints, dtype-size bombs, doubling loops, range, sum concat;
  dtype/record/subarray bombs, fixed-width string arrays, big matrix products;
  np.kron is not on the allow-list): 1 / 38
- infinite loops and recursion (while, nested loops and comprehensions, exponential and
  infinite recursion, key= lambdas): 1 / 8
- imports (import, from-import, __import__, importlib, np.lib.npyio, sys.modules): 13 / 0
- module-level tricks (calls, loops, expressions, rebinding, class, try): 9 / 0

Every load-time rejection is a SandboxViolation with a reason; every run-time stop is a
SandboxViolation or ConstraintEvaluationError naming the function. Payloads that would write
a file or set a flag on builtins/numpy are checked to have had no effect.
"""

from __future__ import annotations

import builtins
import sys
import textwrap

import numpy as np
import pytest
from escape_corpus import PAYLOADS, summary

from rekep.errors import ConstraintEvaluationError, ProgramError, SandboxViolation
from rekep.program import load_program
from rekep.program.checker import restricted_python_check
from rekep.program.guards import SAFE_BUILTINS, numpy_internal_import
from rekep.program.numpy_proxy import make_numpy_proxy

FLAG = "rekep_sandbox_pwned"


def build(payload, marker: str) -> str:
    code = payload.code.replace("{marker}", marker).replace("{flag}", FLAG)
    if payload.where == "module":
        module, body = code, "return 0.0"
    else:
        module, body = "", code + "\nreturn 0.0"
    return (
        f"num_stages = 1\n{module}\n"
        "def stage1_subgoal_constraint1(end_effector, keypoints):\n"
        f"{textwrap.indent(body, '    ')}\n\n"
        "grasp_keypoints = [-1]\nrelease_keypoints = [-1]\n"
    )


def test_corpus_is_large_and_summary_matches_docstring():
    assert len(PAYLOADS) >= 50
    counts = summary()
    assert sum(c["load"] + c["run"] for c in counts.values()) == len(PAYLOADS)
    assert f"{len(PAYLOADS)} payloads" in (__doc__ or "")
    assert len({p.name for p in PAYLOADS}) == len(PAYLOADS)


@pytest.mark.parametrize("payload", PAYLOADS, ids=[f"{p.stage}-{p.name}" for p in PAYLOADS])
def test_payload_is_stopped(payload, tmp_path):
    marker = tmp_path / "escaped"
    text = build(payload, str(marker))
    if payload.stage == "load":
        with pytest.raises(SandboxViolation) as info:
            load_program(text)
        assert info.value.reason and info.value.line is not None
    else:
        fn = load_program(text, time_limit_s=0.05).functions()[0]
        with pytest.raises((SandboxViolation, ConstraintEvaluationError)) as info:
            fn(np.zeros(3), np.zeros((4, 3)))
        assert info.value.function == "stage1_subgoal_constraint1"
        assert info.value.line is not None
    assert not marker.exists()
    assert not hasattr(builtins, FLAG) and not hasattr(np, FLAG)


def test_clean_program_passes_restricted_python_second_opinion():
    pytest.importorskip("RestrictedPython")
    restricted_python_check("def f(x, y):\n    y[0] += 1\n    return x.shape[0]\n")
    with pytest.raises(SandboxViolation, match="RestrictedPython"):
        restricted_python_check("def f(x):\n    return x.__class__\n")


def test_builtins_are_an_allow_list():
    for name in ("open", "eval", "exec", "compile", "getattr", "setattr", "vars", "globals",
                 "locals", "type", "object", "dir", "input", "breakpoint", "memoryview"):
        assert name not in SAFE_BUILTINS
    assert SAFE_BUILTINS["__import__"] is numpy_internal_import
    with pytest.raises(ImportError):
        numpy_internal_import("os")
    with pytest.raises(ImportError):
        numpy_internal_import("numpyx")


def test_numpy_proxy_exposes_only_allowed_members():
    proxy = make_numpy_proxy()
    members = set(vars(proxy))
    for name in ("load", "save", "fromfile", "lib", "ctypeslib", "frompyfunc", "vectorize",
                 "memmap", "random", "core", "testing", "seterr", "ndarray"):
        assert name not in members
    assert set(vars(proxy.linalg)) <= {"norm", "det", "inv", "pinv", "solve", "svd", "eig",
                                       "eigh", "qr"}


def test_module_constants_are_frozen_between_calls():
    text = (
        "num_stages = 1\nCACHE = [1.0]\nTABLE = {'a': 1.0}\nUP = np.array([0.0, 0.0, 1.0])\n"
        "def stage1_subgoal_constraint1(end_effector, keypoints):\n"
        "    CACHE.append(1.0)\n    return 0.0\n"
        "def stage1_subgoal_constraint2(end_effector, keypoints):\n"
        "    UP[2] = 5.0\n    return 0.0\n"
        "def stage1_subgoal_constraint3(end_effector, keypoints):\n"
        "    return len(CACHE) + TABLE['a'] + UP[2]\n"
        "grasp_keypoints = [-1]\nrelease_keypoints = [-1]\n"
    )
    p = load_program(text)
    f1, f2, f3 = p.functions()
    ee, kp = np.zeros(3), np.zeros((2, 3))
    with pytest.raises(ConstraintEvaluationError, match="AttributeError"):
        f1(ee, kp)
    with pytest.raises(ConstraintEvaluationError, match="read-only"):
        f2(ee, kp)
    assert f3(ee, kp) == 3.0


def test_timeout_message_names_limit_and_function():
    body = "total = 0\nfor i in range(10**5):\n    for j in range(10**5):\n        total += 1"
    text = build(type("P", (), {"code": body, "where": "body"})(), "")
    fn = load_program(text, time_limit_s=0.02).functions()[0]
    with pytest.raises(ConstraintEvaluationError, match=r"time limit of 0\.02 s") as info:
        fn(np.zeros(3), np.zeros((1, 3)))
    assert info.value.line == 6  # the innermost loop body


def test_violation_in_helper_names_the_helper():
    text = (
        "num_stages = 1\n"
        "def big():\n    return np.zeros(10**9)\n"
        "def stage1_subgoal_constraint1(end_effector, keypoints):\n    return big()\n"
        "grasp_keypoints = [-1]\nrelease_keypoints = [-1]\n"
    )
    fn = load_program(text).functions()[0]
    with pytest.raises(SandboxViolation, match="in helper big") as info:
        fn(np.zeros(3), np.zeros((1, 3)))
    assert info.value.line == 3


def test_moderate_sizes_still_work():
    body = (
        "a = np.linspace(0.0, 1.0, 1000)\n"
        "grid = a[:, None] * a[None, :]\n"
        "m = np.eye(50) @ np.ones((50, 3))\n"
        "s = sum(range(1000)) + len([0] * 1000) + 2 ** 64\n"
        "return float(grid.sum() > 0) + m.shape[0] + s * 0"
    )
    fn = load_program(build(type("P", (), {"code": body, "where": "body"})(), "")).functions()[0]
    assert fn(np.zeros(3), np.zeros((1, 3))) == 51.0


def test_errors_are_program_errors():
    assert issubclass(SandboxViolation, ProgramError)
    assert issubclass(ConstraintEvaluationError, ProgramError)


def test_docstring_counts_match_corpus():
    doc = __doc__ or ""
    for category, counts in summary().items():
        assert f"): {counts['load']} / {counts['run']}" in doc or (
            f"{category}: {counts['load']} / {counts['run']}" in doc
        ), category


def test_load_time_rejections_do_not_depend_on_restricted_python(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "RestrictedPython", None)  # import now fails
    for payload in PAYLOADS:
        if payload.stage == "load":
            with pytest.raises(SandboxViolation):
                load_program(build(payload, str(tmp_path / "escaped")))
    assert load_program(build(type("P", (), {"code": "x = 1", "where": "body"})(), ""))
