"""The layers stay honest: ports import only the standard library; core only ports and the standard
library; an adapter never imports core, entrypoints or another adapter."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            package = path.relative_to(ROOT).parent.parts if path.is_relative_to(ROOT) else ()
            base = package[: len(package) - (node.level - 1)]
            modules.add(".".join([*base, *(node.module.split(".") if node.module else [])]))
    return modules


def top(module: str) -> str:
    return module.split(".")[0]


def violations(package: str, allowed: callable, paths: list[Path] | None = None) -> list[str]:
    found = []
    for path in python_files(package) if paths is None else paths:
        for module in imported_modules(path):
            if not allowed(path, module):
                found.append(f"{path.name} imports {module}" if paths else f"{path.relative_to(ROOT)} imports {module}")
    return found


def test_ports_import_only_the_standard_library():
    assert violations("ports", lambda path, m: top(m) in STDLIB or top(m) == "ports") == []


def test_core_imports_only_ports_and_the_standard_library():
    assert violations("core", lambda path, m: top(m) in STDLIB or top(m) in ("ports", "core")) == []


def _adapter_allowed(path: Path, module: str) -> bool:
    own = path.relative_to(ROOT).parts[1]
    parts = module.split(".")
    if parts[0] in ("core", "entrypoints"):
        return False
    if parts[0] == "adapters":
        return len(parts) == 1 or parts[1] == own
    return True


def test_adapters_never_import_core_entrypoints_or_another_adapter():
    assert violations("adapters", _adapter_allowed) == []


@pytest.mark.parametrize("package", ["ports", "core", "adapters", "entrypoints"])
def test_every_layer_has_code_to_check(package):
    assert python_files(package), f"{package}/ has no Python files: the rules above would pass vacuously"


def test_the_checker_catches_a_forbidden_import(tmp_path):
    bad = tmp_path / "probe.py"
    bad.write_text("import httpx\nfrom adapters.kie import fake\nimport json\n", encoding="utf-8")
    found = violations("core", lambda path, m: top(m) in STDLIB or top(m) in ("ports", "core"), [bad])
    assert sorted(found) == ["probe.py imports adapters.kie", "probe.py imports httpx"]


def test_no_module_grows_past_a_few_hundred_lines():
    too_long = [
        f"{path.relative_to(ROOT)}: {n} lines"
        for package in ("ports", "core", "adapters", "entrypoints")
        for path in python_files(package)
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400
    ]
    assert too_long == []


# --- one storage adapter never imports another ---------------------------------------------------------
# adapters/storage/ holds two storages side by side: the JSON files (json_*.py) and PostgreSQL (postgres/).
# What both use (entity_codec.py, checks.py) is shared; neither storage imports the other's modules.

STORAGE = ROOT / "adapters" / "storage"


def _storage_kind(module_or_path: str) -> str | None:
    parts = module_or_path.split(".")
    if parts[:2] != ["adapters", "storage"] or len(parts) < 3:
        return None
    if parts[2] == "postgres":
        return "postgres"
    return "json" if parts[2].startswith("json_") else None


def _storage_allowed(path: Path, module: str) -> bool:
    relative = path.relative_to(ROOT).with_suffix("").parts if path.is_relative_to(ROOT) else path.with_suffix("").parts
    own = _storage_kind(".".join(relative)) if path.is_relative_to(ROOT) else ("postgres" if "postgres" in path.parts
                                                                              else "json")
    other = _storage_kind(module)
    return other is None or own is None or other == own


def storage_imports(path: Path) -> set[str]:
    """imported_modules, plus ``package.name`` for ``from package import name`` (a module may be imported so)."""
    modules = imported_modules(path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def storage_violations(paths: list[Path]) -> list[str]:
    found = {f"{path.name} imports {'.'.join(module.split('.')[:3])}" for path in paths
             for module in storage_imports(path) if not _storage_allowed(path, module)}
    return sorted(found)


def test_one_storage_never_imports_the_other():
    assert storage_violations(python_files("adapters/storage")) == []


def test_the_storage_checker_catches_a_cross_import(tmp_path):
    probe = tmp_path / "postgres" / "probe.py"
    probe.parent.mkdir()
    probe.write_text("from adapters.storage.json_admin import count\nfrom adapters.storage import checks, json_file\n"
                     "from adapters.storage.postgres import codec\n", encoding="utf-8")
    assert storage_violations([probe]) == ["probe.py imports adapters.storage.json_admin",
                                           "probe.py imports adapters.storage.json_file"]
