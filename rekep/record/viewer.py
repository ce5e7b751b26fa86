"""Open a recording in the Rerun viewer with its usage analytics off unless allowed.

Recording (``--record``) only writes files and sends nothing. The viewer application,
however, collects anonymous usage data unless disabled; ``rekep view`` disables it first
(``rerun analytics disable``, a setting stored in the user's Rerun config) unless
``--allow-analytics`` is given.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from rekep.errors import ConfigurationError, MissingDependencyError


def rerun_executable() -> str:
    """Path of the ``rerun`` command installed with rerun-sdk (extra ``viz``)."""
    here = Path(sys.executable).parent / "rerun"
    found = str(here) if here.exists() else shutil.which("rerun")
    if not found:
        raise MissingDependencyError(
            "the rerun viewer is not installed; install it with: pip install 'rekep[viz]'"
        )
    return found


def verify_recording(path: str | Path) -> str:
    """Run ``rerun rrd verify`` on ``path``; returns its report, raises when it fails."""
    target = Path(path)
    if not target.is_file():
        raise ConfigurationError(f"recording {target} does not exist")
    done = subprocess.run([rerun_executable(), "rrd", "verify", str(target)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    report = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        raise ConfigurationError(f"rerun rrd verify rejected {target}: {report}")
    return report


def open_viewer(path: str | Path, *, allow_analytics: bool = False) -> int:
    """Open ``path`` in the viewer (blocks until the viewer closes); returns its exit code."""
    exe = rerun_executable()
    if not allow_analytics:
        subprocess.run([exe, "analytics", "disable"], capture_output=True, timeout=60)
    return subprocess.call([exe, str(path)])
