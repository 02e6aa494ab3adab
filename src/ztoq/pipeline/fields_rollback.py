"""Rollback of ``ztoq fields apply``: remove the qTest fields and allowed values ztoq added, unless used.

``fields apply`` records each field it creates (source rows ``qtest_field_created``) and the
values it adds to existing pick lists (``qtest_field_choices_added``). A rollback of the load
phase, once it has deleted the entities ztoq created, removes those too, each only when no
data in qTest uses it:

* a field: ``DELETE .../settings/{objectType}/fields/{fieldId}`` (``deleteCustomField``);
* an allowed value: ``DELETE .../fields/{fieldId}/allowed-values/{value}``
  (``deleteProjectFieldValue``).

Neither call asks whether data holds the field or the value: qTest deletes a custom field with
the values entities keep in it. So ztoq asks first, with the cheapest check the API offers that
sees every entity of the project, not only ztoq's: one search (``POST .../search``, one item
per page) per object type that carries the field, ``'Label' is 'not empty'`` for a field and
``'Label' = 'value'`` for an allowed value. A test run field is also a field of the test logs,
so both are searched. Knowing that rollback deleted everything ztoq created is not enough:
people may have created entities since and filled the new fields, and a container rollback kept
still holds ztoq's own. Anything the search finds, or cannot answer, keeps the field or value,
and is reported with the reason; a field or value already gone is forgotten.

A field ztoq found in qTest instead of creating it is never recorded, so never removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ztoq.errors import FatalApiError, NotFound
from ztoq.mapping.lookups import fold
from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.extract import extract_target_settings
from ztoq.pipeline.fields_apply import ADDED_CHOICES, CREATED_FIELD
from ztoq.qtest.client import QTestClient
from ztoq.qtest.models import Field
from ztoq.store import Repository, SourceItem
from ztoq.values import int_or_none

#: The search object types whose entities carry the fields of a settings object type.
SEARCHED_TYPES: dict[str, tuple[str, ...]] = {"test-runs": ("test-runs", "test-logs")}


@dataclass(frozen=True)
class CreatedField:
    """A qTest field ``fields apply`` created (its store row's key, object type, id and label)."""

    key: str
    object_type: str
    field_id: int
    label: str


@dataclass(frozen=True)
class AddedValues:
    """Allowed values ``fields apply`` added to a pick list that existed before."""

    key: str
    object_type: str
    field_id: int
    label: str
    choices: tuple[str, ...]


@dataclass
class FieldsToRemove:
    """What a rollback would remove from qTest's field settings, if no data uses it."""

    fields: list[CreatedField] = field(default_factory=list)
    values: list[AddedValues] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Fields and allowed values."""
        return len(self.fields) + sum(len(v.choices) for v in self.values)


@dataclass
class FieldsRolledBack:
    """What the rollback removed, and what it kept with the reason (``(what, reason)``)."""

    fields: list[CreatedField] = field(default_factory=list)
    values: list[tuple[AddedValues, str]] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)


def _record(key: str, payload: Any) -> tuple[str, int, str] | None:
    """(object type, field id, label) of a stored row; None when it is not one ztoq wrote."""
    if not isinstance(payload, dict):
        return None
    field_id = int_or_none(payload.get("id"))
    object_type = payload.get("object_type")
    if field_id is None or not isinstance(object_type, str):
        return None
    return object_type, field_id, str(payload.get("label") or key)


def created_field(key: str, payload: Any) -> CreatedField | None:
    """The field a ``qtest_field_created`` row records (any id: system fields are negative)."""
    found = _record(key, payload)
    return None if found is None else CreatedField(key, *found)


def added_values(key: str, payload: Any) -> AddedValues | None:
    """The values a ``qtest_field_choices_added`` row records; None when it records none."""
    found = _record(key, payload)
    choices = payload.get("choices") if isinstance(payload, dict) else None
    if found is None or not isinstance(choices, list):
        return None
    labels = tuple(str(c) for c in choices if str(c).strip())
    return AddedValues(key, *found, labels) if labels else None


def read_fields_to_remove(repo: Repository, project_key: str) -> FieldsToRemove:
    """The fields and allowed values ``fields apply`` added to this project's qTest target."""
    todo = FieldsToRemove()
    for row in repo.iter_source(project_key, CREATED_FIELD):
        made = created_field(row.source_key, row.payload)
        if made is not None:
            todo.fields.append(made)
    for row in repo.iter_source(project_key, ADDED_CHOICES):
        added = added_values(row.source_key, row.payload)
        if added is not None:
            todo.values.append(added)
    return todo


def field_records(repo: Repository, project_key: str) -> list[SourceItem]:
    """The store rows of what ``fields apply`` did, to keep them when extract's rows are forgotten."""
    return [
        SourceItem(entity_type, row.source_key, row.payload)
        for entity_type in (CREATED_FIELD, ADDED_CHOICES)
        for row in repo.iter_source(project_key, entity_type)
    ]


def quoted(text: str) -> str | None:
    """``text`` as a query value or criteria name, in quotes it does not hold; None when it holds both."""
    for quote in ("'", '"'):
        if quote not in text:
            return f"{quote}{text}{quote}"
    return None


def field_query(label: str) -> str | None:
    """The query finding the entities with a value in field ``label`` (None: it cannot be written)."""
    name = quoted(label)
    return None if name is None else f"{name} is 'not empty'"


def value_query(label: str, value: str) -> str | None:
    """The query finding the entities whose field ``label`` holds ``value``."""
    name, text = quoted(label), quoted(value)
    return None if name is None or text is None else f"{name} = {text}"


def searched_types(object_type: str) -> tuple[str, ...]:
    """The search object types whose entities carry ``object_type``'s fields."""
    return SEARCHED_TYPES.get(object_type, (object_type,))


async def in_use(client: QTestClient, object_type: str, query: str | None) -> str | None:
    """Why the field or value ``query`` looks for must stay (None: no entity of qTest uses it)."""
    if query is None:
        return "its name holds both quote characters, so qTest cannot be asked whether data uses it"
    for searched in searched_types(object_type):
        try:
            found = await client.finds_any(searched, query)
        except FatalApiError as exc:
            return f"qTest could not say whether data uses it (search {query!r}: {exc})"
        if found:
            return f"qTest {searched} still hold data in it (search {query!r} finds some)"
    return None


class FieldRemover:
    """Removes, through one client, the unused fields and values ztoq added; records each at once."""

    def __init__(self, ctx: PhaseContext, client: QTestClient) -> None:
        self.ctx = ctx
        self.client = client
        self.live: dict[str, dict[int, Field]] = {}
        self.result = FieldsRolledBack()

    async def _field(self, object_type: str, field_id: int) -> Field | None:
        if object_type not in self.live:
            found = await self.client.fields(object_type, include_inactive=True)
            self.live[object_type] = {f.id: f for f in found if f.id is not None}
        return self.live[object_type].get(field_id)

    def _forget(self, entity_type: str, key: str) -> None:
        with self.ctx.session() as repo:
            repo.delete_source(self.ctx.project_key, entity_type, [key])

    async def remove_values(self, added: AddedValues) -> None:
        """Delete the values ztoq added to a pick list that no entity holds; keep the record of the rest."""
        live = await self._field(added.object_type, added.field_id)
        if live is None:
            self._forget(ADDED_CHOICES, added.key)
            return
        label = live.label or added.label
        by_label = {fold(v.label or ""): v for v in live.allowed_values or []}
        remaining: list[str] = []
        for choice in added.choices:
            value = by_label.get(fold(choice))
            if value is None or value.value is None:
                continue  # removed by someone already
            reason = await in_use(self.client, added.object_type, value_query(label, value.label or choice))
            if reason is None:
                try:
                    await self.client.delete_allowed_value(added.object_type, added.field_id, value.value)
                except NotFound:
                    pass
                except FatalApiError as exc:
                    reason = str(exc)
            if reason is not None:
                remaining.append(choice)
                self.result.kept.append((f"value {choice!r} of {added.object_type} field {label!r}", reason))
                continue
            self.result.values.append((added, choice))
        self._keep_only(added, remaining)

    def _keep_only(self, added: AddedValues, remaining: Sequence[str]) -> None:
        if not remaining:
            self._forget(ADDED_CHOICES, added.key)
            return
        payload = {
            "object_type": added.object_type,
            "id": added.field_id,
            "label": added.label,
            "choices": list(remaining),
        }
        with self.ctx.session() as repo:
            repo.upsert_source(
                self.ctx.project_key, [SourceItem(ADDED_CHOICES, added.key, payload)], run_id=self.ctx.run_id
            )

    async def remove_field(self, made: CreatedField) -> None:
        """Delete a field ztoq created when no entity holds a value in it."""
        live = await self._field(made.object_type, made.field_id)
        if live is None:
            self._forget(CREATED_FIELD, made.key)
            return
        label = live.label or made.label
        reason = await in_use(self.client, made.object_type, field_query(label))
        if reason is None:
            try:
                await self.client.delete_field(made.object_type, made.field_id)
            except NotFound:
                pass
            except FatalApiError as exc:
                reason = str(exc)
        if reason is not None:
            self.result.kept.append((f"{made.object_type} field {label!r} (id {made.field_id})", reason))
            return
        self._forget(CREATED_FIELD, made.key)
        self.result.fields.append(made)


async def remove_added_fields(ctx: PhaseContext, todo: FieldsToRemove) -> FieldsRolledBack:
    """Remove the values, then the fields, ztoq added and no data uses; store the settings left.

    Values come first: a value ztoq added to a field it also created goes with that field anyway.
    """
    remover = FieldRemover(ctx, ctx.qtest())
    for added in todo.values:
        ctx.check_cancelled()
        await remover.remove_values(added)
    for made in todo.fields:
        ctx.check_cancelled()
        await remover.remove_field(made)
    done = remover.result
    with ctx.session() as repo:
        stored = next(iter(repo.iter_source(ctx.project_key, "qtest_fields")), None) is not None
    if stored and (done.fields or done.values):
        # As extract stores them: the next ``fields plan`` and transform see the fields as they are
        # (unless extract's rows were forgotten already: then the next extract reads them).
        await extract_target_settings(ctx)
    return done
