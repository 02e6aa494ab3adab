"""The mapping package is pure: no HTTP client, no database, no API client code, no source adapter.

Mapping reads canonical records (:mod:`ztoq.sources.records`) and nothing else of the sources:
an adapter, its client and its decoder stay on the other side of the seam.
"""

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
    "ztoq.sources",
)
#: The one module of the sources mapping may import: the canonical records.
ALLOWED = ("ztoq.sources.records",)


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_mapping_module_imports_clients_the_store_or_an_adapter() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 8
    for path in modules:
        for name in imported_modules(path):
            if name in ALLOWED:
                continue
            assert not any(name == f or name.startswith(f + ".") for f in FORBIDDEN), (
                f"{path.name} imports {name}"
            )


def test_mapping_reads_the_canonical_records() -> None:
    readers = [p.name for p in sorted(PACKAGE.glob("*.py")) if "ztoq.sources.records" in imported_modules(p)]
    assert {"testcases.py", "executions.py", "modules.py", "lookups.py"} <= set(readers)


def test_importing_the_mapping_package_loads_no_client_database_or_adapter_module() -> None:
    code = (
        "import sys, ztoq.mapping, ztoq.mapping.testcases, ztoq.mapping.modules, ztoq.mapping.executions, "
        "ztoq.mapping.cycles, ztoq.mapping.releases\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN[:5]!r} "
        "or m.startswith(('ztoq.store', 'ztoq.qtest', 'ztoq.sources.'))\n"
        f"       and m not in {ALLOWED!r}]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
