"""How the code is laid out: no import cycles (lazy imports inside functions count too), no layer
importing a higher one, every module importing on its own in any order, no product module over 300
lines, no folder of more than 15 modules, and the README's map naming every module."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("harness", "backends", "datasets", "model")  # installed under googlenet_bench
MODULES = sorted([ROOT / "__init__.py"] + [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")])
MAX_MODULE_LINES = 300
MAX_MODULES_PER_FOLDER = 15
# Lowest first: a module imports only from its own layer or those below it.
LAYERS = (
    ("googlenet_bench", "googlenet_bench.harness", "googlenet_bench.model", "googlenet_bench.datasets"),
    ("googlenet_bench.harness.results",),
    ("googlenet_bench.harness.measure", "googlenet_bench.backends"),
    ("googlenet_bench.harness.training",),
    ("googlenet_bench.harness.lifecycle",),
    ("googlenet_bench.harness.tuning", "googlenet_bench.harness.reporting"),
    ("googlenet_bench.harness.cli",),
)


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


def layer_of(module: str) -> int:
    """The layer of the longest package prefix that names it (a subpackage before its parent)."""
    matches = [(len(package), index) for index, packages in enumerate(LAYERS) for package in packages
               if module == package or module.startswith(package + ".")]
    return max(matches)[1]


def test_no_layer_imports_a_higher_one():
    upward = [f"{name} imports {target}" for name, path in NAMES.items() for target in imported(path)
              if layer_of(target) > layer_of(name)]
    assert upward == []


def test_the_layer_rule_sees_an_upward_import():
    assert layer_of("googlenet_bench.harness.results.record") < layer_of("googlenet_bench.harness.cli.main")
    assert layer_of("googlenet_bench.harness.errors") == 0


def test_no_module_imports_a_name_outside_the_namespace():
    """`harness`, `backends`, `datasets` and `model` exist only under googlenet_bench once installed."""
    stray = []
    for path in [*MODULES, *sorted((ROOT / "tests").rglob("*.py")), ROOT / "bench.py", ROOT / "__main__.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
            stray += [f"{path.relative_to(ROOT)}: {name}" for name in names if name.split(".")[0] in PACKAGES]
    assert stray == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_product_module_is_over_300_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)}: {lines} lines; split it inside its subpackage"


def test_no_folder_holds_more_than_15_modules():
    folders = {path.parent for path in MODULES}
    crowded = {str(folder.relative_to(ROOT)): count for folder in folders
               if (count := len([p for p in folder.glob("*.py") if p.name != "__init__.py"])) > MAX_MODULES_PER_FOLDER}
    assert crowded == {}


def readme_map() -> dict[str, set[str]]:
    """The README's map: a folder at the start of an indented line, then the names on it and on the more
    deeply indented lines that continue it."""
    entries: dict[str, set[str]] = {}
    folder = None
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        words = line.split()
        if line.startswith("    ") and words and not line.startswith("     "):
            folder = words[0] if words[0].endswith("/") else None
            entries.setdefault(folder, set()).update(words[1:])
        elif line.startswith("     ") and folder:
            entries[folder].update(words)
        else:
            folder = None
    return entries


def test_the_readme_map_names_every_module():
    entries = readme_map()
    unnamed = [str(path.relative_to(ROOT)) for path in MODULES if path.name != "__init__.py"
               and path.name not in entries.get(path.parent.relative_to(ROOT).as_posix() + "/", set())]
    assert unnamed == []
