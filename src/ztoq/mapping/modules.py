"""Zephyr folder trees -> qTest module trees (test cases) and test-cycle trees (cycles without a plan).

One root holds everything migrated, named ``config.root_module_name`` (the Zephyr project key by
default), so a migration never mixes with what the qTest project already holds. Each Zephyr
folder becomes one child, under its parent folder's entity. Broken trees are repaired visibly:
a folder whose parent is unknown, or that is part of a parent cycle, goes under the root with a
Problem; nothing loops and no folder is lost.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from ztoq.config import ZtoqConfig
from ztoq.mapping.base import PlannedEntity, Problem, ref
from ztoq.mapping.lookups import link_id
from ztoq.mapping.text import join_html, source_key_marker, truncate_name
from ztoq.vendor import QTEST_PARENT_CYCLE, QTEST_PARENT_ROOT

ROOT_KEY = "root"


def _folder_name(folder: Mapping[str, Any], folder_id: int, problems: list[Problem]) -> str:
    raw = folder.get("name")
    name = raw if isinstance(raw, str) else ""
    if not name.strip():
        problems.append(
            Problem(
                "degraded",
                "unnamed_folder",
                f"Zephyr folder {folder_id} has no name; it is named '(unnamed folder {folder_id})'.",
            )
        )
        return f"(unnamed folder {folder_id})"
    return name


def _effective_parents(
    folders: Mapping[int, Mapping[str, Any]],
) -> tuple[dict[int, int | None], dict[int, str]]:
    """Each folder's parent id (None: under the root) and, per repaired folder, the reason code."""
    parents: dict[int, int | None] = {}
    repaired: dict[int, str] = {}
    for folder_id, folder in folders.items():
        parent = link_id({"id": folder.get("parentId")})
        if parent is not None and parent not in folders:
            repaired[folder_id] = "missing_parent_folder"
            parent = None
        parents[folder_id] = parent
    # Break every parent cycle at its smallest id (deterministic), which then hangs under the root.
    state: dict[int, int] = {}
    for start in sorted(parents):
        path: list[int] = []
        current: int | None = start
        while current is not None and state.get(current, 0) == 0:
            state[current] = 1
            path.append(current)
            current = parents[current]
        if current is not None and state.get(current) == 1:
            cycle = path[path.index(current) :]
            breaker = min(cycle)
            parents[breaker] = None
            repaired[breaker] = "folder_cycle"
        for node in path:
            state[node] = 2
    return parents, repaired


def plan_folder_tree(
    folders: Iterable[Mapping[str, Any]],
    *,
    entity_type: str,
    folder_type: str,
    root_name: str,
    root_description: str,
    root_parent_type: str | None,
    child_parent_type: str | None,
) -> list[PlannedEntity]:
    """The root and one Planned per folder of ``folder_type``, parents before children.

    ``root_parent_type`` and ``child_parent_type`` are the qTest ``parentType`` of each.
    """
    selected = {
        int(f["id"]): f
        for f in folders
        if link_id(f) is not None and f.get("folderType", folder_type) == folder_type
    }
    parents, repaired = _effective_parents(selected)
    children: dict[int | None, list[int]] = {}
    for folder_id, parent in parents.items():
        children.setdefault(parent, []).append(folder_id)
    for siblings in children.values():
        # Zephyr's own order: its index, then the id for folders sharing an index.
        siblings.sort(key=lambda i: (selected[i].get("index") or 0, i))

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
    queue: deque[tuple[int, int]] = deque((i, 1) for i in children.get(None, []))
    while queue:
        folder_id, depth = queue.popleft()
        folder = selected[folder_id]
        problems: list[Problem] = []
        name = _folder_name(folder, folder_id, problems)
        short, cut = truncate_name(name)
        notes = [f"Full name: {name}"] if cut else []
        if cut:
            problems.append(
                Problem(
                    "degraded",
                    "name_truncated",
                    f"The name of Zephyr folder {folder_id} is longer than qTest accepts; it is "
                    "truncated and the full name kept in the description.",
                )
            )
        reason = repaired.get(folder_id)
        if reason is not None:
            wanted = folder.get("parentId")
            problems.append(
                Problem(
                    "degraded",
                    reason,
                    f"Zephyr folder {folder_id} "
                    + (
                        f"names parent folder {wanted}, which does not exist"
                        if reason == "missing_parent_folder"
                        else "is part of a folder cycle"
                    )
                    + "; it is placed directly under the root.",
                    detail={"parent_id": wanted},
                )
            )
        parent = parents[folder_id]
        parent_key = ROOT_KEY if parent is None else str(parent)
        plans.append(
            PlannedEntity(
                entity_type,
                str(folder_id),
                {
                    "name": short,
                    "description": join_html(*notes, source_key_marker(str(folder_id))),
                },
                level=depth,
                problems=problems,
                parent=ref(entity_type, parent_key),
                parent_type=child_parent_type,
            )
        )
        queue.extend((child, depth + 1) for child in children.get(folder_id, []))
    return plans


def plan_modules(folders: Iterable[Mapping[str, Any]], config: ZtoqConfig) -> list[PlannedEntity]:
    """qTest modules mirroring the Zephyr TEST_CASE folder tree under one root module.

    Args:
        folders: Zephyr Folder JSON (any type; only ``folderType`` TEST_CASE, or none, is used).
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
        folder_type="TEST_CASE",
        root_name=root,
        root_description=f"Test cases migrated from Zephyr Scale project {config.zephyr.project_key}.",
        root_parent_type=None,
        child_parent_type=None,
    )


def plan_cycle_folders(folders: Iterable[Mapping[str, Any]], config: ZtoqConfig) -> list[PlannedEntity]:
    """qTest test cycles mirroring the Zephyr TEST_CYCLE folder tree, for cycles without a test plan.

    Entity type "cycle_folder"; the root (source key "root") is created at the project root
    (``parent_type`` "root") and named like the root module; each folder is a test cycle under
    its parent (``parent_type`` "test-cycle").
    """
    root = config.root_module_name or "Zephyr"
    return plan_folder_tree(
        folders,
        entity_type="cycle_folder",
        folder_type="TEST_CYCLE",
        root_name=root,
        root_description=f"Test cycles migrated from Zephyr Scale project {config.zephyr.project_key}.",
        root_parent_type=QTEST_PARENT_ROOT,
        child_parent_type=QTEST_PARENT_CYCLE,
    )
