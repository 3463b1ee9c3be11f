"""Benchmarks reach the system through its public surface, never through service internals.

Allowed from ``bench/``: the contracts (``rivet_contracts``), the libraries (``rivet_runtime``,
``rivet_devstack``, which starts services as processes of their console scripts), HTTP to the
gateway, NATS request-reply with contract models and the services' console scripts. Not
allowed: importing a service package, which would measure (or copy state from) code that is not
the running system.
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
SERVICE_PACKAGES = frozenset(
    {"rivet_auth", "rivet_assets", "rivet_workorders", "rivet_ocr", "rivet_telegram",
     "rivet_gateway", "rivet_maintenance", "rivet_integrations", "rivet_attachments"}
)  # fmt: skip


def service_imports(source: str, filename: str = "<bench>") -> list[tuple[int, str]]:
    """(line, module) of every import of a service package in ``source``: ``import x``,
    ``from x import y``, ``from x.y import z``, at any depth (functions, try blocks) and also
    ``importlib.import_module("x...")`` / ``__import__("x...")`` with a literal name."""
    found: list[tuple[int, str]] = []

    def check(line: int, module: str | None) -> None:
        if module and module.split(".", 1)[0] in SERVICE_PACKAGES:
            found.append((line, module))

    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                check(node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            check(node.lineno, node.module)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if (
                name in ("import_module", "__import__")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                check(node.lineno, first.value)
    return found


SOURCE_PATH = re.compile(r"(^|/)services/[a-z_]+/src(/|$)|(^|/)src/rivet_")
"""A path into a service's sources (``services/ocr/src``, ``.../src/rivet_assets/...``)."""


def _path_parts(node: ast.expr) -> list[str] | None:
    """The string constants of a ``a / "b" / "c"`` chain, in order (None: not such a chain)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        left, right = _path_parts(node.left), _path_parts(node.right)
        return (left or []) + (right or []) if left or right else None
    return []


def service_source_paths(source: str, filename: str = "<bench>") -> list[tuple[int, str]]:
    """(line, path) of every literal path into a service's sources: loading a module from its
    file (``importlib.util.spec_from_file_location``) or ``sys.path.insert`` is an import too."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Constant | ast.BinOp):
            parts = _path_parts(node)
            text = "/".join(p.strip("/") for p in parts or [])
            if text and SOURCE_PATH.search(text):
                found.append((node.lineno, text))
    return sorted(set(found))


def bench_files() -> list[Path]:
    return sorted(BENCH.rglob("*.py"))


def test_there_are_benchmarks_to_check() -> None:
    assert len(bench_files()) >= 10


def test_no_benchmark_imports_a_service_package() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in bench_files()
        for line, module in service_imports(path.read_text(), str(path))
    ]
    assert offenders == [], (
        "bench/ must reach services through their public API, contracts and console scripts "
        "(rivet_contracts, rivet_runtime, rivet_devstack, HTTP, NATS), not import them:\n"
        + "\n".join(offenders)
    )


@pytest.mark.parametrize(
    "source",
    [
        "import rivet_assets",
        "import rivet_ocr.scanner as s",
        "from rivet_workorders.stats import service",
        "from rivet_gateway import tokens",
        "try:\n    from rivet_ocr.scanner import Scanner\nexcept ImportError:\n    pass",
        "def f():\n    from rivet_auth.main import build",
        "import importlib\nimportlib.import_module('rivet_telegram.main')",
    ],
)
def test_the_check_sees_every_form_of_import(source: str) -> None:
    assert service_imports(source)


def test_no_benchmark_loads_service_sources_by_path() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {text}"
        for path in bench_files()
        for line, text in service_source_paths(path.read_text(), str(path))
    ]
    assert offenders == [], "bench/ must not load service code from its files:\n" + "\n".join(
        offenders
    )


@pytest.mark.parametrize(
    "source",
    [
        'MIGRATION = ROOT / "services/assets/src/rivet_assets/migrations/versions/0002.py"',
        'sys.path.insert(0, str(ROOT / "services" / "ocr" / "src"))',
    ],
)
def test_the_path_check_sees_service_sources(source: str) -> None:
    assert service_source_paths(source)


@pytest.mark.parametrize(
    "source",
    [
        "import rivet_contracts",
        "from rivet_runtime.streams import ensure_streams",
        "from rivet_devstack.services import SERVICES",
        "from . import rivet_assets",
        "x = 'rivet_assets.main:build'",
    ],
)
def test_the_check_allows_the_public_surface(source: str) -> None:
    assert service_imports(source) == []
