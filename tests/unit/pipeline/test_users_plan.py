"""The pure parts of ``ztoq users plan``: counting references, matching people, the proposed map."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from ztoq.config import load_config
from ztoq.mapping.lookups import TargetFields, TargetUser
from ztoq.pipeline.users_map import render_users_map, write_users_map
from ztoq.pipeline.users_plan import (
    BY_CONFIG,
    BY_EMAIL,
    BY_LOGIN,
    BY_NAME,
    CUSTOM,
    OWNER,
    UserReferences,
    UsersPlan,
    looks_like_account,
    match_people,
    match_person,
)
from ztoq.sources.jira_users import JiraUser

ADA = "5b10a2844c20165700ede21g"
GONE = "557058:aa11bb22-cc33-dd44-ee55-ff6677889900"
TARGET = TargetFields(
    users=(
        TargetUser(7, "ada.l", "Ada@Example.com", "Ada", "Lovelace"),
        TargetUser(8, "grace@example.com", "grace@example.com", "Grace", "Hopper"),
        TargetUser(9, "f.c@partner.example.org", "f.c@partner.example.org", "Former", "Contractor"),
        TargetUser(10, "alan1", "a1@example.com", "Alan", "Turing"),
        TargetUser(11, "alan2", "a2@example.com", "Alan", "Turing"),
        TargetUser(12, "jdoe", "", "", ""),
    )
)


def test_references_count_members_and_only_custom_values_that_are_people() -> None:
    refs = UserReferences()
    refs.add(ADA, OWNER)
    refs.add(ADA, OWNER)
    refs.add(None, OWNER)
    refs.add_custom({"Reviewer": ADA, "Pair": [GONE, {"accountId": "bob", "displayName": "Bob B"}]})
    refs.add_custom({"Build": "1.2.3", "Notes": "free text here", "Reviewer": ADA})
    counts = refs.finish()
    assert counts[ADA] == Counter({OWNER: 2, CUSTOM + "Reviewer": 2})
    assert counts[GONE] == Counter({CUSTOM + "Pair": 1})  # looks like an account id
    assert "1.2.3" not in counts
    assert "bob" not in counts  # not a known account, not shaped like one
    assert refs.names["bob"] == "Bob B"  # ... but its name is kept should it be one


def test_account_id_shapes() -> None:
    assert looks_like_account(ADA)
    assert looks_like_account(GONE)
    assert not looks_like_account("JIRAUSER10100")
    assert not looks_like_account("ada@example.com")


def test_matching_order_config_email_name_login() -> None:
    ada = JiraUser(ADA, "Ada Lovelace", "ada@example.com")
    assert match_person(ADA, ada, TARGET, {ADA: "grace@example.com"})[:2] == (TARGET.users[1], BY_CONFIG)
    # A configured user qTest does not have falls through to the e-mail (case-insensitive).
    assert match_person(ADA, ada, TARGET, {ADA: "nobody"})[:2] == (TARGET.users[0], BY_EMAIL)
    hidden = JiraUser(GONE, "former contractor", "")  # names compare case-insensitively
    assert match_person(GONE, hidden, TARGET, {})[:2] == (TARGET.users[2], BY_NAME)
    assert match_person("jdoe", None, TARGET, {})[:2] == (TARGET.users[5], BY_LOGIN)
    assert match_person("12", None, TARGET, {}) == (None, "", "")  # never a qTest id by accident


def test_two_qtest_users_with_the_name_match_nobody_and_say_so() -> None:
    user, how, note = match_person("x", JiraUser("x", "Alan Turing"), TARGET, {})
    assert (user, how) == (None, "")
    assert "2 qTest users are named 'Alan Turing'" in note


def _plan() -> UsersPlan:
    references = {
        GONE: Counter({"executedBy": 3}),
        ADA: Counter({OWNER: 5, "assignedTo": 1}),
        "x": Counter({OWNER: 1}),
    }
    jira = {ADA: JiraUser(ADA, "Ada Lovelace", "ada@example.com"), GONE: JiraUser(GONE, "Former Contractor")}
    return UsersPlan("DEMO", 42, "Jira (https://x.atlassian.net)", match_people(references, jira, TARGET, {}))


def test_people_most_referenced_first_and_the_proposed_map() -> None:
    plan = _plan()
    assert [p.account for p in plan.people] == [ADA, GONE, "x"]
    assert plan.people[0].references == (("assignedTo", 1), (OWNER, 5))
    assert [p.account for p in plan.unmatched()] == ["x"]
    assert plan.proposed_map() == {ADA: "ada.l", GONE: "f.c@partner.example.org"}
    assert plan.to_json()["unmatched"] == 1


def test_the_written_map_reads_back_through_the_config(tmp_path: Path) -> None:
    plan = _plan()
    text = render_users_map(plan)
    assert text == render_users_map(plan)
    assert '# "x": ""  # name unknown: no qTest user matched; 1 reference' in text
    assert "Former Contractor, matched by display name: check it; 3 references" in text
    assert yaml.safe_load(text)["users"] == plan.proposed_map()
    write_users_map(plan, tmp_path / "maps" / "users-map.yaml")
    config = tmp_path / "config.yaml"
    config.write_text(
        "mappings:\n  users_file: maps/users-map.yaml\n  users:\n    " + ADA + ": 99\n", encoding="utf-8"
    )
    loaded = load_config(config, environ={})
    assert loaded.mappings.users == {ADA: 99, GONE: "f.c@partner.example.org"}  # the config's entry wins


def test_an_empty_plan_writes_an_empty_map() -> None:
    text = render_users_map(UsersPlan("DEMO", 1, "nowhere", ()))
    assert yaml.safe_load(text)["users"] == {}
