"""The Rivet Pro import's test data lives in ``rivet_pro_data`` (pytest runs in importlib mode,
which does not put test folders on sys.path, hence the insert)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
