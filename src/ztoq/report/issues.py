"""Missing, failed and mismatched entities, and the entity references every section links to.

:class:`RefMaker` names each entity by its Zephyr key with its qTest id and a safe link (filled
from the entity mappings when a problem or mismatch does not carry them); :func:`issue_groups`
collects the entities that did not arrive intact, grouped by kind and entity type.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ztoq.report.formatting import entity_sort_key, safe_link
from ztoq.report.sections import FAILED_STATES, EntityIssue, EntityRef, FieldDiff, IssueGroup, ProblemItem

if TYPE_CHECKING:
    from ztoq.report.model import EntityLink, ProblemRecord, ReportInput

_Key = tuple[str, str]


class RefMaker:
    """Makes EntityRefs, filling the qTest id and URL from the entity index when not given.

    One EntityRef per entity is shared by every problem that names it without its own id or URL.
    """

    def __init__(self, entities: Iterable[EntityLink]) -> None:
        self.known: dict[_Key, EntityRef] = {}
        for e in entities:
            ref = EntityRef(
                e.entity_type, e.source_key, e.target_id, e.web_url, safe_link(e.web_url), e.state
            )
            self.known[(e.entity_type, e.source_key)] = ref

    def ref(self, entity_type: str, source_key: str, target_id: int | None, web_url: str | None) -> EntityRef:
        """The reference to an entity; an id or URL given here wins over the mapping's.

        Args:
            entity_type: e.g. "test_case".
            source_key: The Zephyr key.
            target_id: The qTest id if the caller knows it.
            web_url: The qTest URL if the caller knows it.

        Returns:
            The shared reference when nothing overrides the mapping, else a new one.
        """
        known = self.known.get((entity_type, source_key))
        if known is None:
            return EntityRef(entity_type, source_key, target_id, web_url, safe_link(web_url))
        if (target_id is None or target_id == known.target_id) and (not web_url or web_url == known.web_url):
            return known
        target_id = target_id if target_id is not None else known.target_id
        web_url = web_url or known.web_url
        return EntityRef(entity_type, source_key, target_id, web_url, safe_link(web_url), known.state)

    def entity(self, e: EntityLink) -> EntityRef:
        """The reference to a mapped entity.

        Args:
            e: The entity mapping.

        Returns:
            Its reference.
        """
        return self.ref(e.entity_type, e.source_key, e.target_id, e.web_url)

    def problem(self, p: ProblemRecord) -> ProblemItem:
        """A recorded problem attached to its entity reference.

        Args:
            p: The problem.

        Returns:
            The problem item.
        """
        entity = self.ref(p.entity_type, p.source_key, p.target_id, p.web_url)
        return ProblemItem(entity, p.phase, p.severity, p.code, p.message, p.field, p.detail)


_STATE_REASONS = {
    "failed": "qTest rejected the entity or it could not be sent (mapping state: failed)",
    "intent": "the create request was sent but never confirmed (mapping state: intent)",
    "missing": "not found in qTest (mapping state: missing)",
}


def issue_groups(
    data: ReportInput, problems: list[ProblemItem], refs: RefMaker, sample_size: int
) -> tuple[IssueGroup, ...]:
    """Missing, failed and mismatched entities, one group per (kind, entity type).

    Sources: problems of severity missing/failed/mismatch, mismatch records (one field each),
    and entity mappings in state missing, failed or intent. One entry per entity and kind,
    collecting every reason and differing field.

    Args:
        data: The report input.
        problems: The problems, already attached to entity references.
        refs: The reference maker.
        sample_size: Items per group shown in HTML and Markdown.

    Returns:
        Groups ordered by kind (missing, failed, mismatch), then entity type.
    """
    found: dict[str, dict[_Key, tuple[EntityRef, list[str], list[FieldDiff]]]] = {
        "missing": {},
        "failed": {},
        "mismatch": {},
    }

    def note(kind: str, ref: EntityRef, reason: str | None = None, diff: FieldDiff | None = None) -> None:
        key = (ref.entity_type, ref.source_key)
        entry = found[kind].setdefault(key, (ref, [], []))
        if reason and reason not in entry[1]:
            entry[1].append(reason)
        if diff is not None:
            entry[2].append(diff)

    for item in problems:
        if item.severity in found:
            diff = _diff_from_detail(item)
            note(item.severity, item.entity, None if diff else item.message, diff)
    for m in data.mismatches:
        ref = refs.ref(m.entity_type, m.source_key, m.target_id, m.web_url)
        note("mismatch", ref, diff=FieldDiff(m.field, m.expected, m.actual))
    for e in data.entities:
        if e.state in FAILED_STATES or e.state == "missing":
            kind = "missing" if e.state == "missing" else "failed"
            note(kind, refs.entity(e), _STATE_REASONS.get(e.state))
    groups = []
    for kind, entries in found.items():
        by_type: dict[str, list[EntityIssue]] = defaultdict(list)
        for ref, reasons, diffs in entries.values():
            by_type[ref.entity_type].append(EntityIssue(ref, tuple(reasons), _dedupe(diffs)))
        for etype in sorted(by_type, key=entity_sort_key):
            members = by_type[etype]
            groups.append(IssueGroup(kind, etype, len(members), tuple(members), tuple(members[:sample_size])))
    return tuple(groups)


def _diff_from_detail(item: ProblemItem) -> FieldDiff | None:
    """A mismatch problem carrying {"expected": ..., "actual": ...} becomes a field diff."""
    detail = item.detail
    if item.severity != "mismatch" or not isinstance(detail, dict):
        return None
    if "expected" not in detail or "actual" not in detail:
        return None
    return FieldDiff(item.field or item.code, str(detail["expected"]), str(detail["actual"]))


def _dedupe(diffs: list[FieldDiff]) -> tuple[FieldDiff, ...]:
    return tuple(dict.fromkeys(diffs))
