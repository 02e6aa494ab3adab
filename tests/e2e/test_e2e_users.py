"""``ztoq users plan`` end to end: Jira names the people, the proposed map is passed back, 0 unmatched.

The Zephyr Cloud simulator also serves its Jira site's user API (``/rest/api/3/user/bulk``); the
qTest simulator knows everyone the generated project names: four by the e-mail Jira shows, the
former contractor (whose e-mail Jira hides) only by display name. The run starts with an empty
``mappings.users`` and no default user, so every person must come from the proposed map.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_support import Served, serve

from ztoq.cli.main import run
from ztoq.config import load_config
from ztoq.simulators import catalog
from ztoq.simulators.zephyr import DEFAULT_JIRA_API_TOKEN, DEFAULT_JIRA_EMAIL, generate_dataset
from ztoq.store import open_store

CONTRACTOR = next(u for u in catalog.USERS if u.qtest_login is None)


@pytest.fixture
def small(tmp_path: Path) -> Any:
    yield from serve(tmp_path, generate_dataset(30, seed=5))


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = run(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.e2e
def test_users_plan_map_passed_back_leaves_no_unmatched_user(
    small: Served, database: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    jira = {"base_url": small.zephyr_url, "email": DEFAULT_JIRA_EMAIL, "api_token": DEFAULT_JIRA_API_TOKEN}
    mappings = {"users": {}, "default_user": None, "test_case_fields": {"owner": "Assigned To"}}
    cfg = small.config(database, jira=jira, mappings=mappings, migration={"phases": ["extract"]})
    code, text = _cli(capsys, "migrate", "run", "--config", str(cfg), "--quiet")
    assert code == 0, text

    users_map = small.workdir / "users-map.yaml"
    code, text = _cli(capsys, "users", "plan", "--config", str(cfg), "--json", "--write-map", str(users_map))
    assert code == 0, text
    plan = json.loads(text[text.index("{") :])
    people = {p["account"]: p for p in plan["people"]}
    assert plan["unmatched"] == 0, plan
    assert people[CONTRACTOR.account_id]["matched_by"] == "display name"
    assert people[CONTRACTOR.account_id]["email"] == ""  # Jira hides it
    ada = people[catalog.USERS[0].account_id]
    assert (ada["display_name"], ada["matched_by"]) == ("Ada Lovelace", "e-mail")
    assert {"owner", "executedBy"} <= {kind for p in people.values() for kind in p["references"]}
    written = yaml.safe_load(users_map.read_text(encoding="utf-8"))["users"]
    assert written == plan["proposed_users"]
    assert written[CONTRACTOR.account_id] == CONTRACTOR.qtest_other_login

    migration = {"phases": ["transform", "load"]}
    mappings["users_file"] = users_map.name
    cfg = small.config(database, jira=jira, mappings=mappings, migration=migration)
    code, text = _cli(capsys, "migrate", "run", "--config", str(cfg), "--quiet")
    assert code == 0, text
    config = load_config(cfg)
    assert config.mappings.users == written
    with open_store(config.database) as store, store.session() as repo:
        unmatched = list(repo.iter_problems("DEMO", code="unmapped_user"))
        logs = list(repo.iter_mappings("DEMO", "test_log"))
    assert unmatched == []
    assert logs, "the executions were migrated"
