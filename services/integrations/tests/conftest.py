"""The integrations tests import their shared helpers as ``integrations_support`` (pytest runs
in importlib mode, which does not put test folders on sys.path)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
