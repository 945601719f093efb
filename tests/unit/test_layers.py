"""Guards of the architecture: the engine's modules import each other without a cycle, and never the layers above.

The import graph is read from the source with ``ast`` (nothing is imported), counting every ``import`` statement
of a module: top-level ones and the ones inside functions (a lazy import still ties the two modules together),
but not those under ``if TYPE_CHECKING:`` (never run). A package's implicit import of its ``__init__`` is not an
edge: a package re-exporting its submodules is no cycle.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "hamacho_core"
# the services around the engine: they may import the engine, never the other way round
# (``__main__`` is the command-line entry point: ``python -m hamacho_core`` runs the CLI)
SERVICE_LAYERS = ("hamacho_core.api", "hamacho_core.jobs", "hamacho_core.scale", "hamacho_core.cli",
                  "hamacho_core.__main__")
OUTSIDE_LAYERS = ("ui", "pages", "app", "streamlit", "click", "fastapi", "uvicorn", "ray", "tests", "bench")


def _modules() -> dict[str, Path]:
    found = {}
    for path in (ROOT / PACKAGE).rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement of ``tree`` (at any depth) except those inside ``if TYPE_CHECKING:``."""
    found = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            found += [n for child in node.orelse for n in _imports(ast.Module(body=[child], type_ignores=[]))]
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        found += _imports(node)
    return found


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The full names an import statement asks for: ``from a import b`` gives ``a.b`` (``a`` when no module
    ``a.b`` exists, resolved by the caller)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".")[: len(module.split(".")) - node.level + is_package]
        base = ".".join(parts + ([node.module] if node.module else []))
    return [f"{base}.{alias.name}" for alias in node.names]


@functools.cache
def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of this repository it imports (outside names kept as their top-level name)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges = set()
        for node in _imports(tree):
            for name in _targets(module, path.name == "__init__.py", node):
                while name and name not in modules and "." in name:
                    name = name.rpartition(".")[0]
                if name in modules or name.split(".")[0] != PACKAGE:
                    edges.add(name if name in modules else name.split(".")[0])
        edges.discard(module)
        graph[module] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph.get(node, ()):
            if other not in graph:
                continue
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return groups


def _is_in(module: str, layers: tuple[str, ...]) -> bool:
    return any(module == layer or module.startswith(layer + ".") for layer in layers)


def test_the_graph_sees_top_level_and_function_level_imports() -> None:
    graph = import_graph()
    assert "hamacho_core.pipeline" in graph["hamacho_core.cli"]  # imported inside each command
    assert "hamacho_core.persistence" in graph["hamacho_core.pipeline"]  # at the top
    assert "hamacho_core.export.engines" in graph["hamacho_core.pipeline"]  # inside infer
    assert "torch" in graph["hamacho_core.backbone"] and "click" in graph["hamacho_core.cli"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_inside_hamacho_core() -> None:
    assert _cycles(import_graph()) == []


def test_engine_modules_never_import_the_services_or_the_ui() -> None:
    graph = import_graph()
    engine = [module for module in graph if not _is_in(module, SERVICE_LAYERS)]
    assert "hamacho_core.pipeline" in engine and "hamacho_core.api.routes" not in engine
    wrong = {module: sorted(name for name in graph[module] if _is_in(name, SERVICE_LAYERS + OUTSIDE_LAYERS))
             for module in engine}
    assert {module: names for module, names in wrong.items() if names} == {}


def test_no_engine_module_holds_test_support() -> None:
    modules = _modules()
    assert "hamacho_core.hostile" not in modules
    for module, path in modules.items():
        names = {node.name for node in ast.parse(path.read_text(encoding="utf-8")).body
                 if isinstance(node, ast.FunctionDef)}
        assert "run_training" not in names, module
