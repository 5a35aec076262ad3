"""How the code is laid out: no import cycles (lazy imports inside functions count too), every
module imports on its own in any order, and no product module is over ~250 lines without saying why."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("harness", "backends", "datasets", "model")  # installed under googlenet_bench
MODULES = sorted([ROOT / "__init__.py"] + [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")])
LONG_MODULE_LINES = 250


def module_name(path: Path) -> str:
    parts = ("googlenet_bench", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


NAMES = {module_name(p): p for p in MODULES}


def imported(path: Path) -> set[str]:
    """Project modules `path` imports anywhere in it, at module level or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            candidates = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {name for name in candidates if name in NAMES}
    return found - {module_name(path)}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_product_has_no_import_cycles():
    graph = {name: imported(path) for name, path in NAMES.items()}
    # A package's __init__ importing its own modules is not a cycle unless they import it back.
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_every_module_imports_on_its_own_in_both_orders():
    names = [name for name in NAMES if not name.startswith("googlenet_bench.backends.ascend310.lite")]
    for order in (names, names[::-1]):
        script = "import importlib\nfor name in %r:\n    importlib.import_module(name)\n" % order
        result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_long_module_says_why_at_its_top(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    if len(lines) > LONG_MODULE_LINES:
        docstring = ast.get_docstring(ast.parse("\n".join(lines))) or ""
        assert "long because" in docstring.lower(), f"{path.name}: {len(lines)} lines and no reason at its top"
