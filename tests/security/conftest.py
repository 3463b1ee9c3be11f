"""Registers the attack suite's fixtures. Its helpers live in ``security_support`` (pytest runs
in importlib mode, which does not put test folders on sys.path, hence the insert)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from security_support import client, openapi, ops, tenants  # noqa: F401 - fixtures
