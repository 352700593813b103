"""No import cycles between the modules of exchange/: dependencies run one way (domains follow each other through
exchange/signals.py, and the app factory is the only module that imports every domain).

The graph is read with `ast` from every exchange/**/*.py, counting imports at any depth (module level, inside
functions, under `try`). Importing `a.b.c` runs the packages `a` and `a.b` first, so an import counts as an edge
to the module and to each of its packages, except the importer's own packages (Python has already run them);
taking a name that is not a module from one of its own packages (`from . import bp`) does count.
"""
import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import exchange

ROOT = Path(exchange.__file__).parent


def modules_of(root: Path) -> dict[str, tuple[Path, bool]]:
    """Dotted module name → (file, is a package's __init__)."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        modules[".".join(parts)] = (path, is_package)
    return modules


def _packages_of(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def import_graph(root: Path) -> dict[str, dict[str, int]]:
    """module → {module it imports → line of the (first) import}, within the package at `root`."""
    modules = modules_of(root)

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, dict[str, int]] = defaultdict(dict)
    for module, (path, is_package) in modules.items():
        here = module.split(".") if is_package else module.split(".")[:-1]
        own_packages = _packages_of(module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = ".".join(here[:len(here) - node.level + 1] + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            else:
                continue
            for target in filter(None, map(known, targets)):
                for imported in ({target} | _packages_of(target)) - own_packages - {module}:
                    graph[module].setdefault(imported, node.lineno)
                if target in own_packages:  # a name defined in one of its own packages' __init__
                    graph[module].setdefault(target, node.lineno)
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def describe(graph, component) -> str:
    members = set(component)
    return "\n".join(f"  {a} -> {b} (line {line})" for a in component
                     for b, line in sorted(graph[a].items()) if b in members)


def test_no_import_cycle_between_modules():
    graph = import_graph(ROOT)
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n\n".join(describe(graph, c) for c in found)


def test_every_module_imports():
    """Every module of exchange/ imports in a fresh interpreter, the deepest first (so a module is not only ever
    imported after the packages that would pull it in anyway)."""
    names = sorted(modules_of(ROOT), key=lambda name: (-name.count("."), name))  # the deepest first
    script = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    result = subprocess.run([sys.executable, "-c", script, *names], capture_output=True, text=True,
                            cwd=ROOT.parent, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_graph_sees_function_level_and_guarded_imports(tmp_path):
    package = tmp_path / "pkg"
    (package / "a").mkdir(parents=True)
    (package / "b").mkdir()
    (package / "__init__.py").write_text("")
    (package / "a" / "__init__.py").write_text("")
    (package / "a" / "services.py").write_text("def f():\n    from ..b.kinds import g\n")
    (package / "b" / "__init__.py").write_text("")
    (package / "b" / "kinds.py").write_text("try:\n    from ..a import services\nexcept ImportError:\n    pass\n")
    (package / "b" / "views.py").write_text("from . import kinds\n")  # a sibling, not a cycle
    graph = import_graph(package)
    assert cycles(graph) == [["pkg.a.services", "pkg.b.kinds"]]
    assert "pkg.b" not in graph["pkg.b.views"]

    (package / "b" / "__init__.py").write_text("bp = object()\nfrom . import views\n")
    (package / "b" / "views.py").write_text("from . import bp\n")  # the package and its views need each other
    assert ["pkg.b", "pkg.b.views"] in cycles(import_graph(package))
