"""docs/architecture.md stays true to the code: every module, file and symbol it names exists.

Checked forms, inside backticks:

* a path ending in ``.py`` or ``/`` (``pipeline/load.py``, ``sources/``): relative to ``src/ztoq``
  (or the repository, for ``tests/...`` and ``docs/...``);
* a dotted name whose head is a ztoq module (``store.Repository``, ``pipeline.load.run_load``,
  ``ztoq.entities.LOAD_ORDER``): the module exists and defines (or imports) the name;
* ``Class.member`` (``Loader.load_one``): the class exists and defines the member;
* a bare identifier written like code (``decide_load``, ``PlannedEntity``, ``LOAD_ORDER``): it is
  defined somewhere in ``src/ztoq``.

Config keys (``migration.propagate_deletions``), table columns, states and other words in
backticks are recognised and skipped; see :func:`_is_code_name`.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections import defaultdict
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SRC = ROOT / "src" / "ztoq"
DOC = ROOT / "docs" / "architecture.md"

#: Config sections: ``section.key`` in backticks is a setting, not a symbol.
CONFIG_SECTIONS = {
    "zephyr",
    "qtest",
    "database",
    "performance",
    "migration",
    "logging",
    "network",
    "mappings",
    "custom_fields",
}


#: Libraries the doc may name (``httpx.MockTransport``): not ztoq's to check.
EXTERNAL = {"httpx", "sqlalchemy", "pydantic", "typer", "rich", "uvicorn", "starlette", "alembic", "psycopg"}


@cache
def _modules() -> dict[str, ast.Module]:
    """Dotted module name (without ``ztoq.``; test modules by file name) -> parsed source."""
    found: dict[str, ast.Module] = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = ast.parse(path.read_text(encoding="utf-8"))
    for path in (ROOT / "tests").rglob("*.py"):
        found.setdefault(path.stem, ast.parse(path.read_text(encoding="utf-8")))
    return found


@cache
def _files() -> list[str]:
    """Every file and folder of the repository (as ``a/b/c.py`` and ``a/b/``), for suffix matches."""
    found: list[str] = []
    for top in ("src", "tests", "docs", ".ci"):
        for path in (ROOT / top).rglob("*"):
            if "__pycache__" in path.parts or ".egg-info" in str(path):
                continue
            relative = path.relative_to(ROOT).as_posix()
            found.append(relative + ("/" if path.is_dir() else ""))
    return found


@cache
def _all_text() -> str:
    files = [
        *(ROOT / "src").rglob("*.py"),
        *(ROOT / "tests").rglob("*.py"),
        ROOT / ".ci" / "run",
        ROOT / "Makefile",
    ]
    return "\n".join(p.read_text(encoding="utf-8") for p in files if p.exists())


def _top_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


@cache
def _index() -> tuple[dict[str, set[str]], dict[str, set[str]], set[str]]:
    """(module -> its top-level names, class -> its members, every name defined anywhere)."""
    by_module: dict[str, set[str]] = {}
    members: dict[str, set[str]] = defaultdict(set)
    everything: set[str] = set()
    for module, tree in _modules().items():
        by_module[module] = _top_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        members[node.name].add(item.name)
                    elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        members[node.name].add(item.target.id)
                    elif isinstance(item, ast.Assign):
                        members[node.name].update(t.id for t in item.targets if isinstance(t, ast.Name))
                for inner in ast.walk(node):  # attributes set on ``self`` in its methods
                    targets = inner.targets if isinstance(inner, ast.Assign) else []
                    if isinstance(inner, ast.AnnAssign):
                        targets = [inner.target]
                    members[node.name].update(
                        t.attr
                        for t in targets
                        if isinstance(t, ast.Attribute)
                        and isinstance(t.value, ast.Name)
                        and t.value.id == "self"
                    )
                everything.add(node.name)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                everything.add(node.name)
            elif isinstance(node, ast.Assign):
                everything.update(t.id for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                everything.add(node.target.id)
    # A class has what its bases have (the repository is made of query mixins).
    bases = {
        node.name: [b.id for b in node.bases if isinstance(b, ast.Name)]
        for tree in _modules().values()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    }

    def inherited(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        found = set(members.get(name, set()))
        for base in bases.get(name, []):
            if base not in seen:
                found |= inherited(base, seen | {name})
        return found

    return by_module, {name: inherited(name) for name in members}, everything


def _is_code_name(token: str) -> bool:
    """Identifiers written like code: CamelCase, UPPER_CASE, snake_case with a call or a dot."""
    called = token.endswith("()")
    if called:
        token = token[:-2]
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", token):
        return False
    head = token.split(".")[0]
    if head in CONFIG_SECTIONS:
        return False
    if "." in token or called:
        return True
    return bool(
        re.search(r"[a-z][A-Z]|^[A-Z][a-z]+[A-Z]|^[A-Z][A-Z0-9]*_[A-Z0-9_]+$|^_?[a-z]+(_[a-z0-9]+)+$", token)
    )


def _tokens() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # diagrams: names there are drawn, not linked
    return sorted(set(re.findall(r"`([^`\n]+)`", text)))


def _check_path(token: str) -> str | None:
    """A path exists when some file or folder of the repository ends with it."""
    wanted = token.removeprefix("./").rstrip("/")
    if any(f.rstrip("/") == wanted or f.rstrip("/").endswith("/" + wanted) for f in _files()):
        return None
    return f"{token}: no such file or folder"


def _check_dotted(token: str) -> str | None:
    by_module, members, everything = _index()
    parts = token.removeprefix("ztoq.").removesuffix("()").split(".")
    if parts[0] in EXTERNAL:
        return None
    for cut in range(len(parts), 0, -1):
        written = ".".join(parts[:cut])
        # ``context.PhaseContext`` names ztoq.pipeline.context: a module by its last components.
        candidates = [m for m in by_module if m == written or m.endswith("." + written)]
        if candidates:
            rest = parts[cut:]
            if not rest:
                return None
            having = [m for m in candidates if rest[0] in by_module[m]]
            if not having:
                return f"{token}: ztoq.{candidates[0]} has no {rest[0]}"
            if len(rest) > 1 and rest[0] in members and rest[1] not in members[rest[0]]:
                return f"{token}: {rest[0]} has no member {rest[1]}"
            return None
    if parts[0] in members:
        return None if parts[1] in members[parts[0]] else f"{token}: {parts[0]} has no member {parts[1]}"
    if parts[0] in everything:
        return None  # an attribute of a value (e.g. ``ctx.cancelled``): its head exists
    return f"{token}: nothing in src/ztoq is called {parts[0]}"


SKIP = "skip"


def _check_token(bare: str, everything: set[str]) -> str | None:
    """None when ``bare`` names what exists, a sentence when not, :data:`SKIP` when it is no code."""
    if bare.startswith("/") or re.fullmatch(r"[\w.-]+\.(toml|md|yaml|yml|json|txt|cfg)", bare):
        return SKIP  # an API path, or a file a user writes (config.yaml)
    if "*" in bare:
        if not bare.endswith(".py"):
            return SKIP  # a family of names (``ZTOQ_*``, ``qtest_*``)
        return None if any((ROOT / "src" / "ztoq").rglob(bare)) else f"{bare}: matches no file"
    if f'"{bare}"' in _all_text():
        return None  # a name in quotes in the code: a fault point, an event, a key
    if "/" in bare:
        bare = bare.removesuffix("()")
    if bare.endswith((".py", "/")) or ("/" in bare and not re.fullmatch(r"[\w/]+\.[A-Za-z_]\w*", bare)):
        return _check_path(bare)
    if "/" in bare:
        return _check_dotted(bare.replace("/", "."))  # ``pipeline/status.source_counts``
    if not _is_code_name(bare):
        return SKIP
    bare = bare.removesuffix("()")
    if "." in bare:
        return _check_dotted(bare)
    if bare in everything or hasattr(builtins, bare) or re.search(rf"\b{bare}\b", _all_text()):
        return None
    return f"{bare}: nothing in src/ztoq or tests is called {bare}"


def test_every_named_module_file_and_symbol_exists() -> None:
    _, _, everything = _index()
    problems: list[str] = []
    checked = 0
    for token in _tokens():
        bare = token.split(" ")[0].rstrip(",")
        bare = bare.split("(")[0] + ("()" if "(" in bare else "")
        problem = _check_token(bare, everything)
        if problem == SKIP:
            continue
        checked += 1
        if problem:
            problems.append(problem)
    assert checked > 50, f"only {checked} names checked: the doc or this test's patterns changed"
    assert not problems, "docs/architecture.md names what the code does not have:\n" + "\n".join(problems)
