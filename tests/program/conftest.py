"""Make the shared program texts (``program_fixtures``, ``escape_corpus``) importable.

The suite runs with ``--import-mode=importlib``, where test modules cannot import siblings;
the two data modules have names unique to this folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
