"""Collecting the qTest ``properties`` of one entity, and the "Zephyr fields" block for the rest.

Every Zephyr value an entity holds goes through a :class:`PropertySet`: it lands in a qTest field
when one fits exactly, otherwise in the description's "Zephyr fields" block with a Problem naming
the reason. Nothing is dropped. A value kept whole in text because qTest has no field for it is
reported as "kept_in_text" (information); one that changed on the way (a field's default, the
default user, a value its field cannot take) is "degraded".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ztoq.mapping.base import KEPT_IN_TEXT, Problem
from ztoq.mapping.fields import Kind, UnconvertibleValue, convert_value, display, field_kind, is_empty
from ztoq.mapping.lookups import SourceLookups, TargetField, TargetFields, UserResolver, fold
from ztoq.mapping.text import FieldBlock, text_to_html

#: Field labels qTest sets from the request body itself (name, description, ...), never as
#: properties: a "required" flag on them says nothing about the properties list.
BODY_LABELS = frozenset(
    fold(label)
    for label in (
        "Id",
        "Name",
        "Description",
        "Precondition",
        "Test Steps",
        "Test Case Steps",
        "Note",
        "Start Date",
        "End Date",
        "Test Case",
        "Test Case Version",
        "Version",
        "Attachments",
        "Created Date",
        "Created By",
        "Last Modified Date",
        "Last Modified By",
    )
)


def lookup_label(mapping: Mapping[str, str], name: str) -> str | None:
    """``mapping[name]``, else the entry whose key equals ``name`` case-insensitively, else None."""
    if name in mapping:
        return mapping[name]
    wanted = fold(name)
    return next((v for k, v in mapping.items() if fold(k) == wanted), None)


@dataclass
class PropertySet:
    """The properties of one entity of ``object_type`` ("test-cases", "test-runs", ...) being built."""

    object_type: str
    target: TargetFields
    users: UserResolver
    source: SourceLookups
    block: FieldBlock = field(default_factory=FieldBlock)
    problems: list[Problem] = field(default_factory=list)
    values: dict[int, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """True when a problem makes the entity impossible to create."""
        return any(p.severity == "failed" for p in self.problems)

    def properties(self) -> list[dict[str, Any]]:
        """The qTest ``properties`` list: ``[{"field_id": 1, "field_value": "..."}]``."""
        return [{"field_id": fid, "field_value": value} for fid, value in self.values.items()]

    def problem(self, severity: str, code: str, message: str, name: str | None = None, **detail: Any) -> None:
        self.problems.append(Problem(severity, code, message, field=name, detail=detail or None))

    def keep_in_text(
        self,
        name: str,
        value_html: str,
        code: str | None,
        message: str,
        *,
        severity: str = KEPT_IN_TEXT,
        **detail: Any,
    ) -> None:
        """Put a value in the "Zephyr fields" block; with a Problem unless ``code`` is None.

        The Problem is "kept_in_text" (the value is whole, qTest has no field for it) unless
        ``severity`` says otherwise: "degraded" when the value also changed (defaulted, truncated,
        not convertible, an unmatched user) and the text only keeps the original.
        """
        self.block.add(name, value_html)
        if code is not None:
            self.problem(severity, code, message, name, **detail)

    def describe(self, value: Any, kind: Kind | None = None) -> str:
        """A value as HTML for the block; user accounts with their display name."""
        if kind is Kind.USER:
            items = value if isinstance(value, list | tuple) else [value]
            return ", ".join(self.source.user_label(display(v)) for v in items)
        return text_to_html(display(value))

    def put(self, target: TargetField, field_value: str) -> None:
        self.values[target.id] = field_value

    def field(self, label: str | None) -> TargetField | None:
        return self.target.field(self.object_type, label)

    def map_value(self, name: str, value: Any, label: str | None = None, shown: str | None = None) -> None:
        """Put Zephyr ``name: value`` into qTest field ``label`` (default: the field named ``name``).

        Args:
            name: the Zephyr field name (the block's row name and the Problem's field).
            value: the Zephyr value; empty values carry nothing and are skipped.
            label: the qTest label from the configuration, when one is configured.
            shown: how the value reads in the block, when not its plain display.
        """
        if is_empty(value):
            return
        target = self.field(label or name)
        text = shown
        if target is None:
            if label:
                self.keep_in_text(
                    name,
                    text or self.describe(value),
                    "mapping_target_missing",
                    f"The configuration maps {name!r} to qTest field {label!r}, which the target's "
                    f"{self.object_type} do not have; the value is kept in text.",
                    target=label,
                )
            else:
                self.keep_in_text(
                    name,
                    text or self.describe(value),
                    "field_in_description",
                    f"No qTest {self.object_type} field is mapped to {name!r}; the value is kept in text.",
                )
            return
        kind = field_kind(target)
        text = text or self.describe(value, kind)
        if target.id in self.values:
            self.keep_in_text(
                name,
                text,
                "field_target_taken",
                f"qTest field {target.label!r} already holds another Zephyr value; {name!r} is kept in text.",
                target=target.label,
            )
            return
        try:
            self.put(target, convert_value(value, target, self.users.resolve))
        except UnconvertibleValue as exc:
            default_user = self.users.default_id() if kind is Kind.USER else None
            # The people no qTest user stands for, so the report lists each person once.
            people = {"account_ids": self.unmatched_accounts(value)} if kind is Kind.USER else {}
            if default_user is not None:
                self.put(target, f"[{default_user}]" if target.multiple else str(default_user))
                self.keep_in_text(
                    name,
                    text,
                    "unmapped_user",
                    f"{exc}; qTest field {target.label!r} got the default user and the original is "
                    "kept in text.",
                    severity="degraded",
                    **people,
                )
            else:
                self.keep_in_text(
                    name,
                    text,
                    "custom_field_unconvertible",
                    f"{exc}; the value is kept in text.",
                    severity="degraded",
                    target=target.label,
                    **people,
                )

    def unmatched_accounts(self, value: Any) -> list[str]:
        """The Jira accounts of a user value that no qTest user stands for."""
        items = value if isinstance(value, list | tuple) else [value]
        accounts = (display(item) for item in items)
        return list(dict.fromkeys(a for a in accounts if a and self.users.resolve(a) is None))

    def map_custom_fields(
        self, custom_fields: Mapping[str, Any] | None, configured: Mapping[str, str]
    ) -> None:
        """Every Zephyr custom field: to its configured qTest field, a same-label field, or text."""
        for name, value in (custom_fields or {}).items():
            self.map_value(name, value, lookup_label(configured, name))

    def map_choice(self, label: str, zephyr_name: str | None, mapping: Mapping[str, str], code: str) -> None:
        """Set a pick list such as "Priority" or "Status" from a Zephyr option name.

        Order: the label ``mapping`` gives (explicit configuration wins), else the same label,
        else the field's default (degraded, the original kept in text). ``code`` names the
        Problem when defaulted, e.g. "priority_defaulted".
        """
        target = self.field(label)
        if target is None:
            if zephyr_name:
                self.map_value(label, zephyr_name)
            return
        mapped = lookup_label(mapping, zephyr_name) if zephyr_name else None
        if mapped is not None:
            choice = target.choice(mapped)
            if choice is not None:
                self.put(target, str(choice.value))
                return
        elif zephyr_name:
            choice = target.choice(zephyr_name)
            if choice is not None:
                self.put(target, str(choice.value))
                return
        shown = zephyr_name or "(unknown)"
        default = target.default_field_value()
        if default is None and target.required:
            self.problem(
                "failed",
                "required_field_missing" if mapped is None else "mapping_target_missing",
                f"Required qTest field {target.label!r} has no value {mapped or shown!r} and no default; "
                "the entity cannot be created.",
                label,
            )
            return
        outcome = (
            f"its default {target.label_of(default)!r} is used"
            if default is not None
            else "the field stays empty"
        )
        if mapped is not None:
            self.problem(
                "degraded",
                "mapping_target_missing",
                f"The configuration maps {label.lower()} {shown!r} to {mapped!r}, which qTest field "
                f"{target.label!r} does not offer; {outcome} and the original is kept in text.",
                label,
                target=mapped,
            )
        else:
            self.problem(
                "degraded",
                code,
                f"qTest field {target.label!r} has no value {shown!r}; {outcome} and the original is "
                "kept in text.",
                label,
            )
        if default is not None:
            self.put(target, default)
        self.block.add(label, text_to_html(shown))

    def set_source_key(self, label: str, key: str) -> bool:
        """Write the Zephyr key into the field labelled ``label``; False when there is no such field."""
        target = self.field(label)
        if target is None or target.id in self.values:
            return False
        try:
            self.put(target, convert_value(key, target))
        except UnconvertibleValue:
            return False
        return True

    def finish(self) -> None:
        """Give every required field still empty its default; fail the entity where there is none."""
        for target in self.target.fields(self.object_type):
            if not target.required or target.id in self.values:
                continue
            if fold(target.label) in BODY_LABELS or fold(target.original_name or "") in BODY_LABELS:
                continue
            default = target.default_field_value()
            if default is not None:
                self.put(target, default)
            else:
                self.problem(
                    "failed",
                    "required_field_missing",
                    f"Required qTest field {target.label!r} has no Zephyr value and no default; "
                    "the entity cannot be created.",
                    target.label,
                )
