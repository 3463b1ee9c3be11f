"""The chaos suite's helpers are plain modules beside the tests (pytest runs in importlib mode,
which does not put test folders on sys.path)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
