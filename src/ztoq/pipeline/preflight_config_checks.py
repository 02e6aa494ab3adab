"""The preflight's checks of the token's permissions and of the configuration: pure functions.

* **permissions**: what the token's user must be allowed, from what a load would send
  (:func:`needed_permissions`), against its ``UserProfile`` (:func:`check_permissions`). A
  permission this load needs is blocking; one a whole migration needs (:func:`migration_permissions`,
  also what ``ztoq verify-tokens`` checks) but this run does not is a warning, and so is a user
  who is not project admin when ``ztoq fields apply`` has fields to create (:func:`check_fields_permission`).
* **mappings**: ``mappings.priority``/``status``/``execution_status`` name values qTest offers,
  ``mappings.users`` targets and ``default_user`` are project members, ``environment_field``,
  ``qtest.source_key_field``, ``mappings.test_case_fields`` and ``custom_fields.*`` name fields
  that exist (:func:`check_mappings`).

Which permission area, object type and noun belong to each entity type comes from the entity
registry (:mod:`ztoq.entities`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ztoq.config import CustomFieldMap, ZtoqConfig
from ztoq.entities import BY_NAME, ENTITY_TYPES, EntityType
from ztoq.mapping.lookups import TargetField, TargetFields
from ztoq.pipeline.preflight_checks import BLOCKING, WARNING, Finding, TypeCounts

#: The entity type ``qtest.approve_test_cases`` approves.
APPROVED_TYPE = "test_case"

#: Object types whose entities carry their Zephyr key in ``qtest.source_key_field`` when it exists.
SOURCE_KEY_OBJECT_TYPES = ("test-cases", "releases", "test-runs")

#: Object types whose ``Status`` field ``mappings.status`` serves.
STATUS_OBJECT_TYPES = ("test-cases", "releases", "test-cycles")

#: A configuration finding before it becomes a :class:`Finding`: (severity, code, message).
Found = tuple[str, str, str]


# -- permissions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Permission:
    """One qTest permission (``UserProfile.<area>.<action>``) and why ztoq needs it."""

    area: str
    action: str
    purpose: str

    @property
    def name(self) -> str:
        return f"{self.area}.{self.action}"


def _types_by_area() -> dict[str, list[EntityType]]:
    """Registered types per permission area, areas in load order."""
    areas: dict[str, list[EntityType]] = {}
    for registered in ENTITY_TYPES:
        areas.setdefault(registered.permission_area, []).append(registered)
    return areas


def _read_back(owner: EntityType, executed: Sequence[EntityType]) -> str:
    """ "test runs and logs": the area's plural, then its executed types' without the shared words."""
    shared = owner.plural.rpartition(" ")[0]
    prefix = f"{shared} " if shared else ""
    return " and ".join([owner.plural, *(t.plural.removeprefix(prefix) for t in executed)])


def migration_permissions(*, approve: bool = True) -> list[Permission]:
    """Every permission a whole migration (load and validate) needs in the qTest project."""
    perms: list[Permission] = []
    for area, types in _types_by_area().items():
        # The type named after its area names it: "test cycles" covers cycle folders too.
        owner = BY_NAME.get(area, types[0])
        executed = [t for t in types if t.needs_execute]
        perms += [
            Permission(area, "create", f"create {owner.plural}"),
            Permission(area, "edit", f"update {owner.plural}"),
            Permission(area, "view", f"read {_read_back(owner, executed)} back (recovery, validation)"),
        ]
        if approve and owner.name == APPROVED_TYPE:
            perms.append(
                Permission(area, "approve", f"approve {owner.plural}, as qtest.approve_test_cases is on")
            )
        if executed:
            perms.append(Permission(area, "execute", f"submit {' and '.join(t.plural for t in executed)}"))
    return perms


def needed_permissions(counts: Sequence[TypeCounts], *, approve: bool) -> dict[str, str]:
    """Permission name -> why this load needs it, from what it would send."""
    needed: dict[str, list[str]] = {}

    def need(name: str, why: str) -> None:
        needed.setdefault(name, []).append(why)

    for row in counts:
        registered = BY_NAME.get(row.entity_type)
        if registered is None:
            continue
        area = registered.permission_area
        if row.planned:
            need(f"{area}.view", f"{registered.noun(row.planned)} to validate")
        if registered.needs_execute:
            if row.send:
                need(f"{area}.execute", f"{registered.noun(row.send)} to submit")
            continue
        if row.create:
            need(f"{area}.create", f"{registered.noun(row.create)} to create")
        if row.update:
            need(f"{area}.edit", f"{registered.noun(row.update)} to update")
        if registered.name == APPROVED_TYPE and approve and row.send:
            need(
                f"{area}.approve",
                f"{registered.noun(row.send)} to approve, as qtest.approve_test_cases is on",
            )
    return {name: "; ".join(whys) for name, whys in needed.items()}


def denied(profile: Mapping[str, Any], name: str) -> bool:
    """True when the profile explicitly refuses ``area.action`` (an unlisted permission is not judged)."""
    area, _, action = name.partition(".")
    section = profile.get(area)
    return isinstance(section, Mapping) and section.get(action) is False


def lists_permissions(profile: Mapping[str, Any]) -> bool:
    """True when the profile has at least one permission area (qTest may answer with none)."""
    return any(isinstance(v, Mapping) for v in profile.values())


def check_permissions(
    profile: Mapping[str, Any] | None,
    needed: Mapping[str, str],
    *,
    profile_error: str | None = None,
    approve: bool = True,
) -> list[Finding]:
    """Missing permissions: blocking when this load needs them, warnings for the rest of a migration's."""
    if profile is None or not lists_permissions(profile):
        why = (
            "qTest reported no permissions for the token's user"
            if profile is not None
            else f"The token user's permissions could not be read ({profile_error or 'no answer'})"
        )
        return [Finding("permissions", WARNING, "permissions_unreadable", f"{why}; they were not checked.")]
    findings = [
        Finding(
            "permissions",
            BLOCKING,
            "permission_missing",
            f"The token's user lacks qTest permission {name}, needed for {why}; "
            "qTest would refuse those requests (403).",
        )
        for name, why in needed.items()
        if denied(profile, name)
    ]
    for perm in migration_permissions(approve=approve):
        if perm.name not in needed and denied(profile, perm.name):
            findings.append(
                Finding(
                    "permissions",
                    WARNING,
                    "permission_missing",
                    f"The token's user lacks qTest permission {perm.name}, needed to {perm.purpose}; "
                    "this run does not need it, a later one may.",
                )
            )
    return findings


#: The ``UserProfile`` permission that manages a project's field settings (``ProjectAdminPermission``).
PROJECT_ADMIN = "project.admin"


def check_fields_permission(
    profile: Mapping[str, Any] | None, project_id: int, *, to_create: int, to_extend: int
) -> list[Finding]:
    """One warning when ``ztoq fields apply`` has work but the token's user is not a project admin.

    qTest lets only project administrators manage field settings; the Swagger's ``UserProfile``
    says so in ``project.admin`` ("Is project admin or not"). The site-level ``AdminProfile``
    (``/admin-profiles/current``) has no such flag: its ``site_level_field`` is about site fields.
    """
    if not (to_create or to_extend) or profile is None or not denied(profile, PROJECT_ADMIN):
        return []
    work = [f"create the {to_create} missing qTest field(s)"] if to_create else []
    if to_extend:
        work.append(f"add the missing values to {to_extend} pick list(s)")
    return [
        Finding(
            "permissions",
            WARNING,
            "fields_permission_missing",
            f"The token's user is not a project admin of qTest project {project_id}, so `ztoq fields "
            f"apply` cannot {' or '.join(work)}: run it with a project administrator's token (until "
            "then those Zephyr values stay in text).",
        )
    ]


# -- the configuration --------------------------------------------------------------------------------


def custom_field_object_type(section: str) -> str | None:
    """The qTest object type a ``custom_fields`` section's labels name (as transform maps them).

    That of the first registered type planned from the section's Zephyr records:
    ``test_execution`` -> test runs -> "test-runs".
    """
    return next((t.object_type for t in ENTITY_TYPES if section in t.sources), None)


def _choices(found: TargetField) -> str:
    return ", ".join(v.label for v in found.allowed_values) or "none"


def _fallback(found: TargetField) -> tuple[str, str]:
    """(severity, what happens) when a mapped label is not a choice of ``found``."""
    default = found.default_field_value()
    if default is None and found.required:
        return BLOCKING, "the field is required and has no default, so those entities fail"
    if default is None:
        return WARNING, "the field stays empty and the Zephyr value is kept in text"
    return WARNING, f"its default {found.label_of(default)!r} is used and the Zephyr value is kept in text"


def check_mappings(config: ZtoqConfig, target: TargetFields) -> list[Finding]:
    """Every qTest value, user and field label the configuration names, against today's qTest."""
    findings = [
        *_value_mappings(config, target),
        *_user_mappings(config, target),
        *_field_mappings(config, target),
    ]
    return [Finding("mappings", severity, code, message) for severity, code, message in findings]


def _value_mappings(config: ZtoqConfig, target: TargetFields) -> list[Found]:
    """``mappings.priority``, ``status`` and ``execution_status`` against the values qTest offers."""
    found: list[Found] = []
    mappings = config.mappings
    priority = target.field("test-cases", "Priority")
    if mappings.priority and priority is None:
        found.append(
            (
                WARNING,
                "mapping_field_missing",
                "mappings.priority is set, but qTest test-cases have no 'Priority' field.",
            )
        )
    for zephyr, label in mappings.priority.items():
        if priority is not None and priority.choice(label) is None:
            severity, outcome = _fallback(priority)
            found.append(
                (
                    severity,
                    "mapping_target_missing",
                    f"mappings.priority maps {zephyr!r} to {label!r}, which qTest test-cases field "
                    f"'Priority' does not offer (choices: {_choices(priority)}); {outcome}.",
                )
            )
    status_fields = {
        object_type: status
        for object_type in STATUS_OBJECT_TYPES
        if (status := target.field(object_type, "Status")) is not None
    }
    if mappings.status and not status_fields:
        found.append(
            (
                WARNING,
                "mapping_field_missing",
                "mappings.status is set, but no qTest object type has a 'Status' field.",
            )
        )
    for zephyr, label in mappings.status.items() if status_fields else ():
        if any(status.choice(label) is not None for status in status_fields.values()):
            continue
        offered = "; ".join(f"{t}: {_choices(f)}" for t, f in status_fields.items())
        severity = BLOCKING if any(_fallback(f)[0] == BLOCKING for f in status_fields.values()) else WARNING
        found.append(
            (
                severity,
                "mapping_target_missing",
                f"mappings.status maps {zephyr!r} to {label!r}, which no qTest 'Status' field offers "
                f"({offered}); "
                + (
                    "a required Status field without default makes those entities fail."
                    if severity == BLOCKING
                    else "the default status is used and the Zephyr value is kept in text."
                ),
            )
        )
    for zephyr, label in mappings.execution_status.items():
        if target.execution_status(label) is None:
            default = target.default_execution_status()
            offered = ", ".join(s.name for s in target.execution_statuses) or "none"
            found.append(
                (
                    BLOCKING if default is None else WARNING,
                    "mapping_target_missing",
                    f"mappings.execution_status maps {zephyr!r} to {label!r}, which qTest does not offer "
                    f"(statuses: {offered}); "
                    + (
                        "there is no default status, so those test logs fail."
                        if default is None
                        else f"{default.name!r} is used and the Zephyr status is kept in the note."
                    ),
                )
            )
    return found


def _user_mappings(config: ZtoqConfig, target: TargetFields) -> list[Found]:
    """``mappings.users`` targets and ``mappings.default_user`` against the project's members."""
    if not target.users:
        return []
    project = config.qtest.project_id
    found: list[Found] = [
        (
            WARNING,
            "user_missing",
            f"mappings.users maps Jira account {account} to qTest user {user!r}, who is not an active "
            f"member of qTest project {project}; that person is named in text instead.",
        )
        for account, user in config.mappings.users.items()
        if target.user(user) is None
    ]
    default_user = config.mappings.default_user
    if default_user not in (None, "") and target.user(default_user) is None:
        found.append(
            (
                WARNING,
                "user_missing",
                f"mappings.default_user {default_user!r} is not an active member of qTest project "
                f"{project}; unmapped users are only named in text.",
            )
        )
    return found


def _field_mappings(config: ZtoqConfig, target: TargetFields) -> list[Found]:
    """Every field label the configuration names, against the fields of its object type."""
    found: list[Found] = []
    mappings = config.mappings
    if mappings.environment_field and target.field("test-runs", mappings.environment_field) is None:
        found.append(
            (
                WARNING,
                "field_missing",
                f"mappings.environment_field {mappings.environment_field!r} is not a field of qTest "
                "test-runs; environments are written into the test log notes instead.",
            )
        )
    key_field = config.qtest.source_key_field
    lacking = [t for t in SOURCE_KEY_OBJECT_TYPES if key_field and target.field(t, key_field) is None]
    if lacking:
        found.append(
            (
                WARNING,
                "field_missing",
                f"qtest.source_key_field {key_field!r} is not a field of qTest {', '.join(lacking)}; their "
                "Zephyr keys are written as the last line of the description or note instead.",
            )
        )
    for member, label in mappings.test_case_fields.items():
        if target.field("test-cases", label) is None:
            found.append(
                (
                    WARNING,
                    "field_missing",
                    f"mappings.test_case_fields maps {member!r} to qTest field {label!r}, which qTest "
                    "test-cases do not have; the value is kept in text.",
                )
            )
    for section in CustomFieldMap.model_fields:
        object_type = custom_field_object_type(section)
        if object_type is None:
            continue
        for zephyr, label in getattr(config.custom_fields, section).items():
            if target.field(object_type, label) is None:
                known = ", ".join(f.label for f in target.fields(object_type)) or "none"
                found.append(
                    (
                        WARNING,
                        "field_missing",
                        f"custom_fields.{section} maps Zephyr field {zephyr!r} to qTest field {label!r}, "
                        f"which qTest {object_type} do not have (fields: {known}); the value is kept in "
                        "text.",
                    )
                )
    return found
