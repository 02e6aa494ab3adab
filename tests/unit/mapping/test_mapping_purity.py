"""The mapping package is pure: no HTTP client, no database, no API client code."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import ztoq.mapping

PACKAGE = Path(ztoq.mapping.__file__).parent
FORBIDDEN = (
    "httpx",
    "requests",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "ztoq.store",
    "ztoq.qtest",
    "ztoq.zephyr",
)


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_mapping_module_imports_clients_or_the_store() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 8
    for path in modules:
        for name in imported_modules(path):
            assert not any(name == f or name.startswith(f + ".") for f in FORBIDDEN), (
                f"{path.name} imports {name}"
            )


def test_importing_the_mapping_package_loads_no_client_or_database_module() -> None:
    code = (
        "import sys, ztoq.mapping, ztoq.mapping.testcases, ztoq.mapping.modules, ztoq.mapping.executions, "
        "ztoq.mapping.cycles, ztoq.mapping.releases\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN[:5]!r} "
        "or m.startswith(('ztoq.store', 'ztoq.qtest', 'ztoq.zephyr'))]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
