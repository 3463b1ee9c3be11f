"""Shared helpers of the deployment tests: the repository root, the deploy scripts, tools."""

import importlib.util
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The tests import their shared helpers as `deploy_support` (pytest runs in importlib mode,
# which does not put test folders on sys.path).
sys.path.insert(0, str(Path(__file__).parent))


def load_script(relative: str) -> ModuleType:
    """A Python file of deploy/ (not a package) as a module."""
    path = ROOT / relative
    name = "rivet_deploy_" + path.stem
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def find_tool(name: str) -> str | None:
    """A command installed in this environment (a dev dependency), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


@pytest.fixture(scope="session")
def tool() -> Callable[[str], str | None]:
    return find_tool


@pytest.fixture(scope="session")
def nats_permissions() -> ModuleType:
    return load_script("deploy/nats/permissions.py")


@pytest.fixture(scope="session")
def postgres_roles() -> ModuleType:
    return load_script("deploy/postgres/roles.py")


@pytest.fixture(scope="session")
def dashboard_script() -> ModuleType:
    return load_script("deploy/grafana/dashboard.py")
