"""``ztoq fields plan|apply``: where Zephyr fields land in qTest, and creating the missing qTest fields."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ztoq.cli.console import ConfigOpt, CustomFieldMapOpt, InsecureOpt, load, out, show_plan
from ztoq.pipeline.fields_apply import FieldsApplied, apply_fields
from ztoq.pipeline.fields_decide import DATA_TYPE_NAMES, EXISTING, MISSING, FieldPlan
from ztoq.pipeline.fields_plan import KINDS, FieldsPlan, plan_fields

app = typer.Typer(
    help="Plan and create the qTest fields that Zephyr values land in (instead of the description).",
    no_args_is_help=True,
)

_TITLES = {kind: f"{title} -> {noun}" for kind, title, _, noun in KINDS}


def _lands(row: FieldPlan) -> str:
    if row.status == EXISTING:
        shown = f"{row.label} (id {row.field_id}, {row.type_name})"
        if row.missing_choices:
            shown += f"; lacks {', '.join(row.missing_choices)}"
        return shown
    if row.status == MISSING:
        chosen = "" if row.type_via == "proposed" else f", from {row.type_via}"
        return f"missing: {row.label} ({row.type_name}{chosen}) would be created"
    return f"no qTest field ({row.object_type} have none): kept in text"


def plan_table(plan: FieldsPlan) -> Table:
    """One row per Zephyr field with values: how many entities carry it, samples, where it lands."""
    table = Table(title=f"Zephyr fields of {plan.project_key} in qTest project {plan.qtest_project_id}")
    for column in ("Entity", "Zephyr field", "Entities", "Samples", "Lands in", "Via"):
        table.add_column(column, justify="right" if column == "Entities" else "left")
    for row in plan.rows:
        table.add_row(
            _TITLES[row.kind],
            row.name,
            str(row.count),
            ", ".join(row.samples),
            _lands(row),
            row.via,
        )
    return table


def _summary(plan: FieldsPlan) -> str:
    create, extend = plan.to_create(), plan.to_extend()
    if not create and not extend:
        return "Every Zephyr field with values has its qTest field (or qTest offers none for it)."
    parts = [f"{len(create)} qTest field(s) to create"] if create else []
    if extend:
        parts.append(f"{sum(len(c.choices) for c in extend)} value(s) to add to {len(extend)} pick list(s)")
    return "; ".join(parts) + ": run `ztoq fields apply`."


@app.command("plan")
def plan(
    config: Path | None = ConfigOpt,
    custom_field_map: Path | None = CustomFieldMapOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
    output_file: Path | None = typer.Option(
        None, "--output-file", help="Also write the plan there (JSON for a .json file, else the table)."
    ),
) -> None:
    """List every Zephyr field that carries values and the qTest field it lands in (or "missing").

    Reads the store only (run `ztoq workflow extract` first): nothing is sent to qTest.
    """
    cfg = load(config, custom_field_map)
    found = plan_fields(cfg)
    show_plan(found.to_json(), [plan_table(found), _summary(found)], as_json=as_json, output_file=output_file)


def print_apply_preview(plan: FieldsPlan, *, quiet: bool = False) -> None:
    """The dry run's part on fields: what `ztoq fields apply` would create and extend (nothing is sent)."""
    create, extend = plan.to_create(), plan.to_extend()
    if not create and not extend:
        out.print("qTest fields: every Zephyr field with values has its qTest field (or qTest offers none).")
        return
    if create and not quiet:
        out.print(_create_table(plan, "qTest fields `ztoq fields apply` would create"))
    for choices in extend if not quiet else ():
        out.print(f"  {choices.object_type} field {choices.label!r} would get: {', '.join(choices.choices)}")
    out.print(
        f"Fields: {_summary(plan).removesuffix(': run `ztoq fields apply`.')}; until `ztoq fields "
        "apply` makes them, those values stay in text."
    )


def _create_table(plan: FieldsPlan, title: str = "qTest fields to create") -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("qTest object", "Label", "Type", "Allowed values"):
        table.add_column(column)
    for wanted in plan.to_create():
        table.add_row(
            wanted.object_type,
            wanted.label,
            DATA_TYPE_NAMES.get(wanted.data_type, str(wanted.data_type)),
            ", ".join(wanted.choices),
        )
    return table


def _applied(done: FieldsApplied) -> None:
    for made in done.created:
        out.print(f"created {made.object_type} field {made.label!r} (id {made.field_id})")
    for found in done.found:
        out.print(
            f"kept {found.object_type} field {found.label!r} (id {found.field_id}): qTest already has it"
        )
    for added in done.choices:
        out.print(f"added to {added.object_type} field {added.label!r}: {', '.join(added.choices)}")
    out.print(
        f"Created {len(done.created)} field(s), kept {len(done.found)}, added values to {len(done.choices)} "
        "pick list(s). The next `ztoq migrate run` (or extract and transform) maps values into them."
    )


@app.command("apply")
def apply(
    config: Path | None = ConfigOpt,
    custom_field_map: Path | None = CustomFieldMapOpt,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask: create the fields and add the values."),
    insecure: bool = InsecureOpt,
) -> None:
    """Create the qTest fields `ztoq fields plan` calls missing, and add missing pick-list values.

    Shows the plan and asks first. Needs the project-admin permission in qTest. A field qTest
    already has under the same label is kept, so running it again creates nothing.
    """
    cfg = load(config, custom_field_map, insecure=insecure)

    def confirm(found: FieldsPlan) -> bool:
        if not found.to_create():
            return True
        out.print(_create_table(found))
        return yes or typer.confirm(
            f"Create these {len(found.to_create())} field(s) in qTest?", default=False
        )

    def extend(found: FieldsPlan) -> bool:
        lists = found.to_extend()
        for choices in lists:
            out.print(f"{choices.object_type} field {choices.label!r} lacks: {', '.join(choices.choices)}")
        return yes or typer.confirm(f"Add these values to {len(lists)} existing pick list(s)?", default=False)

    found, done = apply_fields(cfg, confirm=confirm, extend=extend)
    if done is None:
        out.print("Nothing was changed in qTest.")
        return
    if not done.fields and not done.choices and not found.to_create():
        out.print(_summary(found))
        return
    _applied(done)
