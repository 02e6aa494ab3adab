"""``ztoq fields apply``: create the qTest fields the plan calls missing, and add missing choices.

Under the store lock, as one recorded run ("fields apply"):

1. the plan is read from the store (:func:`~ztoq.pipeline.fields_plan.read_fields_plan`) and
   shown to ``confirm``; nothing is written unless it agrees;
2. for each object type, qTest's live field list is read first: a field whose label is already
   there (made by an earlier apply whose store was lost, or by a person) is taken as it is, so
   a rerun never creates a second field;
3. each missing field is created (``POST .../settings/{objectType}/fields``) and recorded in the
   store at once (source rows ``qtest_field_created``), so what ztoq made is known later;
4. when ``extend`` agrees, observed values an existing pick list lacks are added
   (``POST .../fields/{fieldId}/allowed-values``, as the Swagger says to add values);
5. the target's settings are read again and stored, as extract stores them, so the next
   ``fields plan`` and transform see the new fields.

Creating fields needs the project-admin permission: a 403 stops with :class:`FieldsRefused`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ztoq.config import ZtoqConfig
from ztoq.errors import ConfigError, PermissionDenied
from ztoq.mapping.lookups import fold
from ztoq.pipeline.context import PhaseContext, Transports
from ztoq.pipeline.extract import extract_target_settings
from ztoq.pipeline.fields_plan import ChoicesToAdd, FieldsPlan, FieldToCreate, read_fields_plan
from ztoq.qtest.client import QTestClient
from ztoq.qtest.models import Field
from ztoq.store import SourceItem, open_store
from ztoq.vendor import QTEST_CHECKBOX, QTEST_MULTI_SELECT, QTEST_USER_LIST

#: The source rows recording what ``fields apply`` did: one per created field, one per extended field.
CREATED_FIELD = "qtest_field_created"
ADDED_CHOICES = "qtest_field_choices_added"

#: qTest takes at most this many allowed values per request.
CHOICES_PER_REQUEST = 100


class FieldsRefused(ConfigError):
    """qTest refuses the token's user to manage the project's fields (403)."""

    def __init__(self, project_id: int, object_type: str) -> None:
        self.project_id = project_id
        self.object_type = object_type
        super().__init__(
            f"qTest refused to change the {object_type} fields of project {project_id} (403): creating "
            "fields needs the project-admin permission, so use the token of a project administrator or "
            "ask one to run `ztoq fields apply`."
        )


@dataclass(frozen=True)
class FieldDone:
    """A field ``fields apply`` created, or found already in qTest under the same label."""

    object_type: str
    label: str
    field_id: int
    data_type: int | None
    created: bool


@dataclass
class FieldsApplied:
    """What ``fields apply`` did."""

    fields: list[FieldDone] = field(default_factory=list)
    choices: list[ChoicesToAdd] = field(default_factory=list)

    @property
    def created(self) -> list[FieldDone]:
        """The fields it created."""
        return [f for f in self.fields if f.created]

    @property
    def found(self) -> list[FieldDone]:
        """The fields qTest already had under the planned label."""
        return [f for f in self.fields if not f.created]


def field_body(wanted: FieldToCreate) -> dict[str, Any]:
    """The ``FieldResource`` body creating ``wanted``.

    Check boxes and multi-selects are multiple pick lists (the Swagger: "data_type's value is 8 or
    17, you will need to specify multiple=true"); a user list takes its values from the project's
    users, so it is sent without allowed values.
    """
    body: dict[str, Any] = {
        "label": wanted.label,
        "data_type": wanted.data_type,
        "required": False,
        "searchable": True,
        "is_active": True,
    }
    if wanted.multiple or wanted.data_type in (QTEST_CHECKBOX, QTEST_MULTI_SELECT):
        body["multiple"] = True
    if wanted.choices and wanted.data_type != QTEST_USER_LIST:
        body["allowed_values"] = [
            {"label": label, "order": index + 1, "is_active": True}
            for index, label in enumerate(wanted.choices)
        ]
    return body


def _by_label(found: Sequence[Field]) -> dict[str, Field]:
    return {fold(f.label): f for f in found if f.label and f.id is not None}


class FieldWriter:
    """Creates fields and adds choices through one client, recording each in the store."""

    def __init__(self, ctx: PhaseContext, client: QTestClient) -> None:
        self.ctx = ctx
        self.client = client
        self.live: dict[str, dict[str, Field]] = {}
        self.result = FieldsApplied()

    async def _live(self, object_type: str) -> dict[str, Field]:
        if object_type not in self.live:
            try:
                found = await self.client.fields(object_type, include_inactive=True)
            except PermissionDenied as exc:
                raise FieldsRefused(self.client.project_id, object_type) from exc
            self.live[object_type] = _by_label(found)
        return self.live[object_type]

    def _record(self, entity_type: str, key: str, payload: dict[str, Any]) -> None:
        with self.ctx.session() as repo:
            repo.upsert_source(
                self.ctx.project_key, [SourceItem(entity_type, key, payload)], run_id=self.ctx.run_id
            )

    async def create(self, wanted: FieldToCreate) -> None:
        """Create ``wanted`` unless qTest has a field with its label already."""
        existing = (await self._live(wanted.object_type)).get(fold(wanted.label))
        if existing is not None and existing.id is not None:
            done = FieldDone(wanted.object_type, wanted.label, existing.id, existing.data_type, created=False)
            self.result.fields.append(done)
            return
        try:
            made = await self.client.create_field(wanted.object_type, field_body(wanted))
        except PermissionDenied as exc:
            raise FieldsRefused(self.client.project_id, wanted.object_type) from exc
        if made.id is None:
            raise ConfigError(f"qTest answered the creation of field {wanted.label!r} without an id.")
        self.live[wanted.object_type][fold(wanted.label)] = made
        self._record(
            CREATED_FIELD,
            f"{wanted.object_type}:{made.id}",
            {
                "object_type": wanted.object_type,
                "id": made.id,
                "label": wanted.label,
                "data_type": wanted.data_type,
                "multiple": wanted.multiple,
                "choices": list(wanted.choices),
                "run_id": self.ctx.run_id,
            },
        )
        self.result.fields.append(
            FieldDone(wanted.object_type, wanted.label, made.id, wanted.data_type, created=True)
        )

    async def extend(self, wanted: ChoicesToAdd) -> None:
        """Add the choices of ``wanted`` its field still lacks in qTest."""
        live = next(
            (f for f in (await self._live(wanted.object_type)).values() if f.id == wanted.field_id), None
        )
        have = {fold(v.label or "") for v in ((live.allowed_values if live else None) or [])}
        labels = [c for c in wanted.choices if fold(c) not in have]
        if not labels:
            return
        for start in range(0, len(labels), CHOICES_PER_REQUEST):
            try:
                await self.client.add_allowed_values(
                    wanted.object_type, wanted.field_id, labels[start : start + CHOICES_PER_REQUEST]
                )
            except PermissionDenied as exc:
                raise FieldsRefused(self.client.project_id, wanted.object_type) from exc
        key = f"{wanted.object_type}:{wanted.field_id}"
        with self.ctx.session() as repo:
            before = repo.get_source(self.ctx.project_key, ADDED_CHOICES, key)
        earlier = (
            before.payload.get("choices", [])
            if before is not None and isinstance(before.payload, dict)
            else []
        )
        payload = {
            "object_type": wanted.object_type,
            "id": wanted.field_id,
            "label": wanted.label,
            "choices": [*earlier, *labels],
        }
        self._record(ADDED_CHOICES, key, payload)
        self.result.choices.append(
            ChoicesToAdd(wanted.object_type, wanted.field_id, wanted.label, tuple(labels))
        )


async def _apply(ctx: PhaseContext, plan: FieldsPlan, extend: bool) -> FieldsApplied:
    writer = FieldWriter(ctx, ctx.qtest())
    try:
        for wanted in plan.to_create():
            await writer.create(wanted)
        if extend:
            for choices in plan.to_extend():
                await writer.extend(choices)
        # Store the settings as extract does: the next plan and transform see the new fields.
        await extract_target_settings(ctx)
    finally:
        await ctx.aclose()
    return writer.result


def apply_fields(
    config: ZtoqConfig,
    *,
    confirm: Callable[[FieldsPlan], bool],
    extend: Callable[[FieldsPlan], bool],
    transports: Transports | None = None,
) -> tuple[FieldsPlan, FieldsApplied | None]:
    """Create the fields the plan calls missing (and add missing choices), under the store lock.

    Args:
        config: The configuration (its project, store and qTest target).
        confirm: Asked with the plan when it has fields to create or choices to add; False
            cancels (nothing is written).
        extend: Asked when existing pick lists lack observed values; True adds them.
        transports: Test transports for the qTest client.

    Returns:
        The plan, and what was done (None when cancelled).

    Raises:
        FieldsRefused: qTest denies the token's user the project's field settings (403).
        ConfigError: qTest is not configured, or the store holds no qTest field settings.
    """
    config.require_target()
    project_key = config.zephyr.project_key
    with (
        open_store(config.database, create_if_empty=False) as store,
        store.acquire_lock(project=project_key),
    ):
        with store.session() as repo:
            plan = read_fields_plan(repo, config)
        if not plan.to_create() and not plan.to_extend():
            return plan, FieldsApplied()
        if not confirm(plan):
            return plan, None
        extend_choices = bool(plan.to_extend()) and extend(plan)
        with store.session() as repo:
            repo.interrupt_abandoned_runs(project_key)
            run_id = repo.start_run(project_key, "fields apply", [])
        ctx = PhaseContext(config, store, run_id, transports=transports or Transports())
        status, error = "succeeded", None
        try:
            return plan, asyncio.run(_apply(ctx, plan, extend_choices))
        except BaseException as exc:
            status, error = "failed", str(exc)
            raise
        finally:
            with store.session() as repo:
                repo.finish_run(run_id, status, error=error, stats={"api": ctx.api_stats()})
