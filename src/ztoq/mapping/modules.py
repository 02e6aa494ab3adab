"""Folder trees -> qTest module trees (test cases) and test-cycle trees (cycles without a plan).

One root holds everything migrated, named ``config.root_module_name`` (the Zephyr project key by
default), so a migration never mixes with what the qTest project already holds. Each Zephyr
folder becomes one child, under its parent folder's entity. Broken trees are repaired visibly:
a folder whose parent is unknown, or that is part of a parent cycle, goes under the root with a
Problem; nothing loops and no folder is lost.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

from ztoq.config import ZtoqConfig
from ztoq.mapping.base import PlannedEntity, Problem, ref
from ztoq.mapping.text import join_html, source_key_marker, truncate_name
from ztoq.sources.records import Folder, FolderKind
from ztoq.vendor import QTEST_PARENT_CYCLE, QTEST_PARENT_ROOT

ROOT_KEY = "root"


def _folder_name(folder: Folder, problems: list[Problem]) -> str:
    name = folder.name or ""
    if not name.strip():
        problems.append(
            Problem(
                "degraded",
                "unnamed_folder",
                f"Zephyr folder {folder.key} has no name; it is named '(unnamed folder {folder.key})'.",
            )
        )
        return f"(unnamed folder {folder.key})"
    return name


def _order(folder: Folder) -> tuple[bool, int, str, str]:
    """A folder's place among folders sharing an index: by id when the source numbers them.

    Zephyr Scale Server names folders by path and numbers none (``TEST_CASE:/A/B``, id None), so
    there its name decides, then its key: the same folders always come out in the same order.
    """
    return folder.id is None, folder.id or 0, folder.name or "", folder.key


def _effective_parents(folders: Mapping[str, Folder]) -> tuple[dict[str, str | None], dict[str, str]]:
    """Each folder's parent key (None: under the root) and, per repaired folder, the reason code."""
    parents: dict[str, str | None] = {}
    repaired: dict[str, str] = {}
    for key, folder in folders.items():
        parent = None if folder.parent is None else folder.parent.key
        if parent is not None and parent not in folders:
            repaired[key] = "missing_parent_folder"
            parent = None
        parents[key] = parent
    # Break every parent cycle at its first folder (deterministic), which then hangs under the root.
    state: dict[str, int] = {}
    for start in sorted(parents, key=lambda k: _order(folders[k])):
        path: list[str] = []
        current: str | None = start
        while current is not None and state.get(current, 0) == 0:
            state[current] = 1
            path.append(current)
            current = parents[current]
        if current is not None and state.get(current) == 1:
            cycle = path[path.index(current) :]
            breaker = min(cycle, key=lambda k: _order(folders[k]))
            parents[breaker] = None
            repaired[breaker] = "folder_cycle"
        for node in path:
            state[node] = 2
    return parents, repaired


def plan_folder_tree(
    folders: Iterable[Folder],
    *,
    entity_type: str,
    kind: FolderKind,
    root_name: str,
    root_description: str,
    root_parent_type: str | None,
    child_parent_type: str | None,
) -> list[PlannedEntity]:
    """The root and one Planned per folder of ``kind`` (or of no kind), parents before children.

    ``root_parent_type`` and ``child_parent_type`` are the qTest ``parentType`` of each.
    """
    selected = {f.key: f for f in folders if f.kind in (None, kind)}
    parents, repaired = _effective_parents(selected)
    children: dict[str | None, list[str]] = {}
    for key, parent in parents.items():
        children.setdefault(parent, []).append(key)
    for siblings in children.values():
        # The source's own order: its index, then the id for folders sharing an index.
        siblings.sort(key=lambda k: (selected[k].index, _order(selected[k])))

    plans = [
        PlannedEntity(
            entity_type,
            ROOT_KEY,
            {"name": root_name, "description": root_description},
            level=0,
            parent=None,
            parent_type=root_parent_type,
        )
    ]
    queue: deque[tuple[str, int]] = deque((k, 1) for k in children.get(None, []))
    while queue:
        key, depth = queue.popleft()
        folder = selected[key]
        problems: list[Problem] = []
        name = _folder_name(folder, problems)
        short, cut = truncate_name(name)
        notes = [f"Full name: {name}"] if cut else []
        if cut:
            problems.append(
                Problem(
                    "degraded",
                    "name_truncated",
                    f"The name of Zephyr folder {key} is longer than qTest accepts; it is "
                    "truncated and the full name kept in the description.",
                )
            )
        reason = repaired.get(key)
        if reason is not None:
            wanted = None if folder.parent is None else folder.parent.shown
            problems.append(
                Problem(
                    "degraded",
                    reason,
                    f"Zephyr folder {key} "
                    + (
                        f"names parent folder {wanted}, which does not exist"
                        if reason == "missing_parent_folder"
                        else "is part of a folder cycle"
                    )
                    + "; it is placed directly under the root.",
                    detail={"parent_id": wanted},
                )
            )
        parent = parents[key]
        parent_key = ROOT_KEY if parent is None else parent
        plans.append(
            PlannedEntity(
                entity_type,
                key,
                {
                    "name": short,
                    "description": join_html(*notes, source_key_marker(key)),
                },
                level=depth,
                problems=problems,
                parent=ref(entity_type, parent_key),
                parent_type=child_parent_type,
            )
        )
        queue.extend((child, depth + 1) for child in children.get(key, []))
    return plans


def plan_modules(folders: Iterable[Folder], config: ZtoqConfig) -> list[PlannedEntity]:
    """qTest modules mirroring the test case folder tree under one root module.

    Args:
        folders: the source's folders (of every kind; only TEST_CASE folders, and folders of no
            kind, are used).
        config: the migration configuration (``root_module_name``).

    Returns:
        The root module (source key "root", level 0) then each folder (source key its id,
        level its depth), parents first. ``parent`` is the parent's reference
        (None for the root): qTest takes it as the ``parentId`` query parameter.
    """
    root = config.root_module_name or "Zephyr"
    return plan_folder_tree(
        folders,
        entity_type="module",
        kind=FolderKind.TEST_CASE,
        root_name=root,
        root_description=f"Test cases migrated from Zephyr Scale project {config.zephyr.project_key}.",
        root_parent_type=None,
        child_parent_type=None,
    )


def plan_cycle_folders(folders: Iterable[Folder], config: ZtoqConfig) -> list[PlannedEntity]:
    """qTest test cycles mirroring the test cycle folder tree, for cycles without a test plan.

    Entity type "cycle_folder"; the root (source key "root") is created at the project root
    (``parent_type`` "root") and named like the root module; each folder is a test cycle under
    its parent (``parent_type`` "test-cycle").
    """
    root = config.root_module_name or "Zephyr"
    return plan_folder_tree(
        folders,
        entity_type="cycle_folder",
        kind=FolderKind.TEST_CYCLE,
        root_name=root,
        root_description=f"Test cycles migrated from Zephyr Scale project {config.zephyr.project_key}.",
        root_parent_type=QTEST_PARENT_ROOT,
        child_parent_type=QTEST_PARENT_CYCLE,
    )
