"""The web app's test helpers live in ``web_support`` (importlib mode: this folder goes on
sys.path)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
