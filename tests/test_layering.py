"""The import structure of egan, read from the source: layers, no cycles, no helper twice.

Every import counts, also one inside a function (a lazy import still ties two modules
together) and except those under ``if TYPE_CHECKING:`` (they never run). The engine's
modules sit in layers, from the base (errors, contracts, tensors) up to the command line;
a module may import its own layer or lower ones, never a higher one. The engine imports no
built-in plugin, and no engine module imports the public facade ``egan_core`` (it imports
every module lazily, so importing it from inside closes a cycle); plugins, built-in ones
included, use the facade as third-party plugins do.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("egan_core", "egan_plugins")

#: The engine's layers, bottom first. A module is placed by its longest matching prefix.
LAYERS: tuple[tuple[str, ...], ...] = (
    # 0: vocabulary every module may use
    ("egan_core.errors", "egan_core.contracts", "egan_core.signature", "egan_core.hookspecs",
     "egan_core.objects", "egan_core.devices", "egan_core.hardware", "egan_core.threads",
     "egan_core.padding", "egan_core.fileio", "egan_core.configs"),
    # 1: tensors, images, metrics, files of weights
    ("egan_core.generator_io", "egan_core.tensors", "egan_core.losses", "egan_core.imageio",
     "egan_core.metrics", "egan_core.scenes", "egan_core.checkpoint", "egan_core.weights",
     "egan_core.registry", "egan_core.video.io", "egan_core.video.synthetic",
     "egan_core.video.temporal", "egan_core.video.flicker"),
    # 2: what the runs are built from
    ("egan_core.plugins", "egan_core.recipe", "egan_core.autotune", "egan_core.distributed",
     "egan_core.winograd", "egan_core.model_loading", "egan_core.export_files",
     "egan_core.export_formats",
     "egan_core.progress"),
    # 3: the two runs and their products
    ("egan_core.enhance", "egan_core.training", "egan_core.export", "egan_core.evaluate",
     "egan_core.video"),
    # 4: tools built on the runs
    ("egan_core.compare", "egan_core.demo", "egan_core.demo_page", "egan_core.demo_app",
     "egan_core.doctor",
     "egan_core.data_tools", "egan_core.exdark", "egan_core.testing"),
    # 5: the command line and the public facade
    ("egan_core.cli", "egan_core.__main__", "egan_core"),
)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _known(name: str) -> str | None:
    """The egan module ``name`` is, or lives in (``egan_core.padding.pad`` -> ``egan_core.padding``)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(module: str, path: Path) -> set[str]:
    """Every egan module ``module`` imports, anywhere in its source, but under TYPE_CHECKING."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _type_checking(node):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, path, node)
            names = [f"{base}.{alias.name}" for alias in node.names] or [base]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module" \
                and node.args and isinstance(node.args[0], ast.Constant):
            names = [str(node.args[0].value)]
        for name in names:
            target = _known(name)
            if target is not None and target != module:
                found.add(target)
    return found


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _layer(module: str) -> int | None:
    best, layer = -1, None
    for level, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, layer = len(prefix), level
    return layer


def test_every_engine_module_has_a_layer() -> None:
    unplaced = [m for m in MODULES if m.startswith("egan_core") and _layer(m) is None]
    assert not unplaced, f"add these to LAYERS: {unplaced}"


def test_no_engine_module_imports_a_higher_layer() -> None:
    wrong = []
    for module, targets in GRAPH.items():
        if not module.startswith("egan_core") or module == "egan_core":
            continue
        for target in targets:
            if target.startswith("egan_core") and _layer(target) > _layer(module):  # type: ignore[operator]
                wrong.append(f"{module} (layer {_layer(module)}) imports {target} (layer {_layer(target)})")
    assert not wrong, "\n".join(sorted(wrong))


def test_the_engine_imports_no_built_in_plugin() -> None:
    wrong = sorted(f"{m} imports {t}" for m, ts in GRAPH.items() if m.startswith("egan_core")
                   for t in ts if t.startswith("egan_plugins"))
    assert not wrong, "\n".join(wrong)


#: Engine modules allowed to spell a built-in's name: the test kit builds real tiny recipes
#: from the built-ins for plugin authors' tests; that is a recipe, not a default.
NAMES_ALLOWED = {"egan_core.testing"}


def _non_doc_strings(tree: ast.Module) -> list[ast.Constant]:
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)}
    return [node for node in ast.walk(tree) if isinstance(node, ast.Constant)
            and isinstance(node.value, str) and id(node) not in docs]


def test_the_engine_names_no_built_in_method_network_or_loss() -> None:
    """A default the engine spelled (``attention_unet`` as the recipe's generator, say) would
    tie every recipe to one method; the defaults belong to the methods, in the plugins."""
    from egan_core.registry import Registries
    from egan_plugins import hooks

    registries = Registries()
    hooks.egan_register(registries)
    names = {entry.name: kind for kind in ("generators", "discriminators", "losses", "methods")
             for entry in getattr(registries, kind)}
    assert {"attention_unet", "global_local", "ralsgan", "relu5_1", "enlightengan"} <= set(names)
    found = []
    for module, path in MODULES.items():
        if not module.startswith("egan_core") or module in NAMES_ALLOWED:
            continue
        for node in _non_doc_strings(ast.parse(path.read_text(encoding="utf-8"))):
            if node.value in names:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {names[node.value]} {node.value!r}")
    assert not found, found


def test_no_engine_module_imports_the_public_facade() -> None:
    wrong = sorted(m for m, ts in GRAPH.items() if "egan_core" in ts and m.startswith("egan_core.")
                   and m != "egan_core.__main__")
    assert not wrong, f"import from the defining module instead: {wrong}"


def _cycles() -> list[list[str]]:
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
        for nxt in GRAPH.get(node, ()):
            if nxt == "egan_core":
                continue  # the facade: checked on its own above
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index and module != "egan_core":
            visit(module)
    return found


def test_no_import_cycle_lazy_imports_included() -> None:
    assert _cycles() == []


def _bodies() -> dict[str, list[str]]:
    """Functions (and methods) of 3+ statements, by their body's source shape."""
    seen: dict[str, list[str]] = defaultdict(list)
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                    body = body[1:]  # the docstring
                if len(body) >= 3:
                    shape = ast.dump(ast.Module(body=body, type_ignores=[]))
                    seen[shape].append(f"{module}.{node.name}")
    return seen


def test_no_helper_is_defined_twice() -> None:
    twice = [places for places in _bodies().values() if len(places) > 1]
    assert not twice, twice

