"""The update pipeline stays honest (the layer rules are in test_architecture.py). From webhook to reply an
update passes the inbound rate limit, the dispatcher's per-chat scheduling, the core, and the replies'
delivery; the sweeper re-queues what other instances stored. The rules, checked by walking imports with
``ast`` (transitively: a rule cannot be dodged through a helper module):

- The inbound limit decides without I/O: core/rate_limit.py and entrypoints/intake_limit.py, with all they
  import, use the core, the ports and computing-only standard modules. Time comes in as an argument, never
  from a clock they read.
- The pipeline (dispatcher, delivery, intake limit, inbox gauge) reaches storage and Telegram only through
  ports: nothing it imports, directly or not, is an adapter or a third-party library. The Telegram update
  parser and the storage come in from the wiring.
- The sweeper uses nothing from an adapter or a library: it asks the dispatcher and the job runner.
- Entrypoints never reach into an adapter's internals: no private names, and the storage only through its
  façades (the storages, the leader locks), never its role or SQL modules, which sit behind the ports.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STDLIB = set(sys.stdlib_module_names) | {"__future__"}
PROJECT = {"ports", "core", "adapters", "entrypoints"}

# Standard modules that compute and nothing else: no clock, randomness, files, sockets, processes or logs.
COMPUTING = {
    "__future__", "abc", "bisect", "collections", "dataclasses", "decimal", "enum", "fractions", "functools",
    "heapq", "itertools", "math", "numbers", "operator", "re", "string", "types", "typing",
}
INBOUND_LIMIT = ("core.rate_limit", "entrypoints.intake_limit")
PIPELINE = ("entrypoints.dispatcher", "entrypoints.delivery", "entrypoints.intake_limit", "entrypoints.inbox_gauge")
SWEEPER_MODULE = "entrypoints.instance"
STORAGE_FACADES = {
    "adapters.storage.json_storage",
    "adapters.storage.postgres",  # PostgresStorage and migrate (its __init__)
    "adapters.storage.file_leader_lock",
    "adapters.storage.pg_leader_lock",
}


def top(module: str) -> str:
    return module.split(".")[0]


def module_path(module: str, root: Path = ROOT) -> Path | None:
    """The project file of a module, or None (a standard or third-party module, or a name inside a module)."""
    if top(module) not in PROJECT:
        return None
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _from_module(node: ast.ImportFrom, path: Path, root: Path) -> str:
    """The absolute name of the module a ``from … import`` reads (relative imports resolved)."""
    parts = node.module.split(".") if node.module else []
    if not node.level:
        return ".".join(parts)
    package = path.relative_to(root).parent.parts
    return ".".join([*package[: len(package) - (node.level - 1)], *parts])


def imports_of(path: Path, root: Path = ROOT) -> dict[str, set[str]]:
    """Each module the file imports, with the names taken from it (``from m import a, b``; empty for
    ``import m``). ``from package import submodule`` also counts as importing the submodule."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.setdefault(alias.name, set())
        elif isinstance(node, ast.ImportFrom):
            module = _from_module(node, path, root)
            found.setdefault(module, set()).update(alias.name for alias in node.names)
            for alias in node.names:
                if module_path(f"{module}.{alias.name}", root) is not None:
                    found.setdefault(f"{module}.{alias.name}", set())
    return found


def bindings(tree: ast.AST, path: Path, root: Path = ROOT) -> dict[str, str]:
    """Each name an import binds in the module, with the module it comes from."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bound.update({alias.asname or alias.name.split(".")[0]: alias.name for alias in node.names})
        elif isinstance(node, ast.ImportFrom):
            module = _from_module(node, path, root)
            bound.update({alias.asname or alias.name: module for alias in node.names})
    return bound


def closure(roots: Iterable[str], root: Path = ROOT) -> dict[str, set[str]]:
    """Every project module the roots load (with their parent packages), each with what it imports."""
    seen: dict[str, set[str]] = {}
    todo = list(roots)
    while todo:
        module = todo.pop()
        parts = module.split(".")
        todo.extend(".".join(parts[:n]) for n in range(1, len(parts)))
        path = module_path(module, root)
        if module in seen or path is None:
            continue
        seen[module] = set(imports_of(path, root))
        todo.extend(seen[module])
    return seen


def inbound_limit_violations(root: Path = ROOT) -> list[str]:
    loaded = closure(INBOUND_LIMIT, root)
    assert set(INBOUND_LIMIT) <= set(loaded), "the inbound limit moved: point INBOUND_LIMIT at it"
    return sorted(
        f"{module} imports {imported}"
        for module, imports in loaded.items()
        for imported in imports
        if not (top(imported) in ("core", "ports") or top(imported) in COMPUTING or _one_of(imported, INBOUND_LIMIT))
    )


def _one_of(module: str, modules: Iterable[str]) -> bool:
    """One of the modules, or a package holding one (its __init__ runs anyway)."""
    return any(module == m or m.startswith(module + ".") for m in modules)


def pipeline_violations(root: Path = ROOT) -> list[str]:
    loaded = closure(PIPELINE, root)
    assert set(PIPELINE) <= set(loaded), "a pipeline module moved: point PIPELINE at it"
    return sorted(
        f"{module} imports {imported}"
        for module, imports in loaded.items()
        for imported in imports
        if top(module) != "adapters"  # report where the pipeline crosses, not what the adapter imports
        and (top(imported) == "adapters" or top(imported) not in PROJECT | STDLIB)
    )


def sweeper_violations(root: Path = ROOT) -> list[str]:
    """Names the sweeper uses that its module imports from an adapter or a library."""
    path = module_path(SWEEPER_MODULE, root)
    assert path is not None, "the sweeper's module moved: point SWEEPER_MODULE at it"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    origin = bindings(tree, path, root)
    sweepers = [
        node for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and "sweep" in node.name
    ]
    assert sweepers, f"no sweeper in {SWEEPER_MODULE}: point SWEEPER_MODULE at it"
    return sorted(
        f"{sweeper.name} uses {name.id} from {origin[name.id]}"
        for sweeper in sweepers
        for name in ast.walk(sweeper)
        if isinstance(name, ast.Name) and name.id in origin
        and (top(origin[name.id]) == "adapters" or top(origin[name.id]) not in PROJECT | STDLIB)
    )


def adapter_internals_violations(root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted((root / "entrypoints").rglob("*.py")):
        for module, names in imports_of(path, root).items():
            if top(module) != "adapters":
                continue
            private = [name for name in [*module.split("."), *names] if name.startswith("_") and name != "__init__"]
            storage_inside = module.startswith("adapters.storage.") and module not in STORAGE_FACADES
            if private or storage_inside:
                found.append(f"{path.relative_to(root)} imports {module} {sorted(names)}")
    return found


def test_the_inbound_rate_limit_decides_without_io():
    assert inbound_limit_violations() == []


def test_the_pipeline_reaches_storage_and_telegram_only_through_ports():
    assert pipeline_violations() == []


def test_the_sweeper_uses_no_adapter_or_library():
    assert sweeper_violations() == []


def test_entrypoints_never_reach_into_an_adapters_internals():
    assert adapter_internals_violations() == []


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_the_checkers_catch_each_broken_rule_even_through_a_helper(tmp_path):
    root = _tree(tmp_path, {
        "core/__init__.py": "",
        "core/rate_limit.py": "from core import clock\n",
        "core/clock.py": "import time\n",  # the limit reading a clock, one module away
        "entrypoints/__init__.py": "",
        "entrypoints/intake_limit.py": "from entrypoints import settings\n",
        "entrypoints/settings.py": "",
        "entrypoints/dispatcher.py": "from entrypoints.delivery import deliver\n",
        "entrypoints/delivery.py": "from entrypoints.storage_help import fast_path\n",
        "entrypoints/storage_help.py": "from adapters.storage.json_state import State\nimport asyncpg\n",
        "entrypoints/inbox_gauge.py": "import asyncio\n",
        "entrypoints/instance.py": (
            "import asyncio\nfrom adapters.storage.postgres import PostgresStorage\nfrom adapters.telegram import _raw\n"
            "async def _sweep(self):\n    await asyncio.sleep(1)\n    await PostgresStorage.pending()\n"
        ),
    })
    assert inbound_limit_violations(root) == [
        "core.clock imports time", "entrypoints.intake_limit imports entrypoints.settings",
    ]
    assert pipeline_violations(root) == [
        "entrypoints.storage_help imports adapters.storage.json_state", "entrypoints.storage_help imports asyncpg",
    ]
    assert sweeper_violations(root) == ["_sweep uses PostgresStorage from adapters.storage.postgres"]
    assert adapter_internals_violations(root) == [
        "entrypoints/instance.py imports adapters.telegram ['_raw']",
        "entrypoints/storage_help.py imports adapters.storage.json_state ['State']",
    ]
