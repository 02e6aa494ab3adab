"""Zephyr execution statuses (of executions and of their steps) -> qTest execution status ids.

Order: ``mappings.execution_status`` (explicit configuration wins), then the qTest status with the
same name, then the usual equivalents (Pass -> Passed, Fail -> Failed, Blocked -> Blocked,
In Progress -> Incomplete, Not Executed -> Unexecuted), then qTest's default status, degraded
("execution_status_defaulted") with the Zephyr status kept in the note.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ztoq.config import ZtoqConfig
from ztoq.mapping.lookups import SourceLookups, TargetFields, fold
from ztoq.mapping.properties import PropertySet, lookup_label
from ztoq.mapping.text import text_to_html
from ztoq.sources.records import Ref

#: Zephyr's default execution statuses and their qTest counterparts.
EQUIVALENTS: dict[str, str] = {
    "pass": "Passed",
    "passed": "Passed",
    "fail": "Failed",
    "failed": "Failed",
    "blocked": "Blocked",
    "in progress": "Incomplete",
    "not executed": "Unexecuted",
}

#: How bad each outcome is (by the qTest status a Zephyr status maps to), for merging the rows of a
#: data-driven execution into the one status a qTest step log takes: the worst row wins. Failed and
#: Blocked outrank Incomplete and Unexecuted, which outrank Passed; a status not listed (a custom
#: one) ranks with Incomplete: it is no pass.
SEVERITY: dict[str, int] = {"failed": 3, "blocked": 3, "incomplete": 2, "unexecuted": 2, "passed": 1}
UNLISTED_SEVERITY = 2


@dataclass(frozen=True)
class StatusMapper:
    """Maps source status references to qTest execution status ids."""

    lookups: SourceLookups
    fields: TargetFields
    config: ZtoqConfig

    def source_name(self, status: Ref | None) -> str | None:
        """The source's name of a status reference, or None when absent or unknown."""
        return self.lookups.name_of(self.lookups.statuses, status)

    def _target(self, name: str) -> Any:
        return self.fields.execution_status(name) or self.fields.execution_status(
            EQUIVALENTS.get(fold(name), name)
        )

    def target_name(self, name: str) -> str:
        """The qTest status name a source status maps to: configured, else its equivalent, else itself."""
        mapped = lookup_label(self.config.mappings.execution_status, name)
        return mapped or EQUIVALENTS.get(fold(name), name)

    def never_run(self, name: str | None) -> bool:
        """True for "Not Executed" (or whatever maps to qTest's "Unexecuted")."""
        if name is None:
            return True
        return fold(self.target_name(name)) == "unexecuted"

    def severity(self, status: Ref | None) -> int:
        """How bad a status is (:data:`SEVERITY`); no status counts as not executed."""
        name = self.source_name(status)
        target = "unexecuted" if name is None else fold(self.target_name(name))
        return SEVERITY.get(target, UNLISTED_SEVERITY)

    def _once(self, props: PropertySet, severity: str, code: str, message: str, name: str) -> None:
        # Hundreds of steps may share one unmapped status: report it once per entity.
        if not any(p.code == code and p.field == name for p in props.problems):
            props.problem(severity, code, message, name)

    def map(self, status: Ref | None, props: PropertySet, what: str) -> int | None:
        """The qTest status id for a source status reference; None only when qTest offers no status.

        Args:
            status: the status reference; absent means "not run" and takes the default silently.
            props: receives Problems and, when defaulted, the original status in the note.
            what: names the subject in the note, e.g. "execution PROJ-E1" or "step 3".
        """
        name = self.source_name(status)
        if name is not None:
            mapped = lookup_label(self.config.mappings.execution_status, name)
            target = self.fields.execution_status(mapped) if mapped is not None else self._target(name)
            if target is not None:
                return int(target.id)
            if mapped is not None:
                self._once(
                    props,
                    "degraded",
                    "mapping_target_missing",
                    f"The configuration maps execution status {name!r} to {mapped!r}, which qTest does not "
                    "offer; the default status is used and the original kept in the note.",
                    name,
                )
        default = self.fields.default_execution_status()
        if default is None:
            self._once(
                props,
                "failed",
                "execution_status_unavailable",
                "qTest offers no default execution status to fall back on; the log cannot be created.",
                name or "status",
            )
            return None
        if status is None or status.shown is None:
            return int(default.id)
        shown = name or f"status {status.shown}"
        self._once(
            props,
            "degraded",
            "execution_status_defaulted",
            f"Zephyr status {shown!r} has no qTest execution status; {default.name!r} is used and the "
            "original kept in the note.",
            shown,
        )
        props.keep_in_text(f"Zephyr status ({what})", text_to_html(shown), None, "")
        return int(default.id)
