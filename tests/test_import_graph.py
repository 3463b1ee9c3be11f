"""The import graph: no cycles inside a service or library (imports for type checking count:
they are the same dependency), and no import from ``libs/`` into a service."""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = sorted((ROOT / "services").glob("*/src/rivet_*"))
LIBS = sorted((ROOT / "libs").glob("*/src/rivet_*"))
SERVICE_PACKAGES = {path.name for path in SERVICES}


def _module_name(package: Path, path: Path) -> str:
    parts = [package.name, *path.relative_to(package).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(module: str, path: Path, is_package: bool) -> Iterator[str]:
    """Every module ``path`` imports (absolute names), anywhere in the file."""
    base = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parent = base[: len(base) - node.level + 1]
                target = ".".join([*parent, node.module] if node.module else parent)
            else:
                target = node.module or ""
            yield target
            for alias in node.names:  # ``from . import x`` may name a module
                yield f"{target}.{alias.name}"


def _graph(package: Path) -> dict[str, set[str]]:
    files = {_module_name(package, p): p for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        targets = set(_imports(module, path, path.name == "__init__.py"))
        graph[module] = {t for t in targets if t in files and t != module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("package", SERVICES + LIBS, ids=lambda p: p.name)
def test_no_import_cycles(package: Path) -> None:
    # A package's __init__ re-exporting its modules is not a cycle of design: leave it out.
    graph = {
        module: {t for t in targets if not graph_is_init(package, t)}
        for module, targets in _graph(package).items()
    }
    assert _cycles(graph) == []


def graph_is_init(package: Path, module: str) -> bool:
    relative = module.split(".")[1:]
    return (package.joinpath(*relative) / "__init__.py").exists()


@pytest.mark.parametrize("package", LIBS, ids=lambda p: p.name)
def test_libs_import_no_service(package: Path) -> None:
    imported = {
        target.split(".")[0]
        for path in package.rglob("*.py")
        for target in _imports(_module_name(package, path), path, path.name == "__init__.py")
    }
    assert imported & SERVICE_PACKAGES == set()


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
