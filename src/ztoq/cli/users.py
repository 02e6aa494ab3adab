"""``ztoq users plan``: every Jira user Zephyr names, and the qTest user each one becomes."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ztoq.cli.console import ConfigOpt, InsecureOpt, load, out, show_plan
from ztoq.pipeline.users_map import write_users_map
from ztoq.pipeline.users_plan import UsersPlan, plan_users

app = typer.Typer(
    help="Match the Jira users Zephyr refers to with qTest users, and propose mappings.users.",
    no_args_is_help=True,
)


def plan_table(plan: UsersPlan) -> Table:
    """One row per person: references per kind, who they are, the qTest user they become."""
    table = Table(title=f"Jira users of {plan.project_key} -> qTest project {plan.qtest_project_id}")
    for column in ("Account", "Name", "E-mail", "References", "qTest user", "Matched by"):
        table.add_column(column)
    for person in plan.people:
        refs = ", ".join(f"{kind} {count}" for kind, count in person.references)
        user = person.qtest_user
        shown = "-" if user is None else f"{person.qtest_login} (id {user.id})"
        table.add_row(
            person.account,
            person.display_name,
            person.email,
            refs,
            shown,
            person.matched_by or (person.note or "unmatched"),
        )
    return table


def _summary(plan: UsersPlan) -> str:
    unmatched = len(plan.unmatched())
    head = f"{len(plan.people)} people, {unmatched} unmatched; names from {plan.names_from}."
    if unmatched:
        head += " Unmatched people get mappings.default_user and are named in text."
    return head


@app.command("plan")
def plan(
    config: Path | None = ConfigOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
    output_file: Path | None = typer.Option(
        None, "--output-file", help="Also write the plan there (JSON for a .json file, else the table)."
    ),
    write_map: Path | None = typer.Option(
        None, "--write-map", help="Write the proposed users map there (pass it back as mappings.users_file)."
    ),
    insecure: bool = InsecureOpt,
) -> None:
    """List every Jira user the project names (owners, executors, assignees, user pickers) with counts.

    Reads the store (run `ztoq workflow extract` first) and, when the config has a `jira:`
    section, Jira's user API for names and e-mails; nothing is sent to qTest.
    """
    cfg = load(config, insecure=insecure)
    found = plan_users(cfg)
    show_plan(found.to_json(), [plan_table(found), _summary(found)], as_json=as_json, output_file=output_file)
    if write_map is not None:
        written = write_users_map(found, write_map)
        if not as_json:
            out.print(f"Proposed users map: {written} (pass it back with mappings.users_file).")
