"""Shared by the tests: the repository's test helpers (tools/testing/python) on the path."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tools" / "testing" / "python"))
