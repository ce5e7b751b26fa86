"""Make the injected episode functions importable by name in spawned worker processes
(spawn children receive the parent's sys.path)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
