"""Hostile and malformed input, table-driven: each case's expected outcome, nothing crashes.

Two kinds of outcome:
- **refused**: one sentence on stderr, exit code 2, no traceback (bad config, bad credentials,
  wrong URLs, unusable databases, a project that does not exist);
- **recorded**: the bad entity is in the problems table with its reason, and every valid
  neighbour still arrives in qTest (hostile Zephyr records, a qTest project lacking a value).
"""

from __future__ import annotations

import copy
import socket
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_support import qtest_snapshot, serve

from ztoq.cli.main import run
from ztoq.config import load_config
from ztoq.simulators.zephyr import generate_dataset
from ztoq.store import open_store

pytestmark = pytest.mark.e2e

# -- refused inputs: exit 2 and one sentence ----------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    """A bad input and the sentence it must produce."""

    name: str
    needle: str
    change: Callable[[dict[str, Any], Path], None]
    args: tuple[str, ...] = ()
    raw: str | None = None  # the config file's text, instead of the YAML of the dict


def _set(section: str, key: str, value: Any) -> Callable[[dict[str, Any], Path], None]:
    def change(data: dict[str, Any], _: Path) -> None:
        data.setdefault(section, {})[key] = value

    return change


def _drop(section: str, key: str) -> Callable[[dict[str, Any], Path], None]:
    def change(data: dict[str, Any], _: Path) -> None:
        data.get(section, {}).pop(key, None)

    return change


def _nothing(data: dict[str, Any], _: Path) -> None:
    return None


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _garbage_db(data: dict[str, Any], tmp: Path) -> None:
    path = tmp / "garbage.db"
    path.write_bytes(b"\x00\x01 not a database " * 200)
    data["database"] = {"type": "sqlite", "path": str(path)}


def _foreign_db(data: dict[str, Any], tmp: Path) -> None:
    path = tmp / "foreign.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL)")
    data["database"] = {"type": "sqlite", "path": str(path)}


def _newer_db(data: dict[str, Any], tmp: Path) -> None:
    path = tmp / "newer.db"
    open_store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    data["database"] = {"type": "sqlite", "path": str(path)}


def _html_instead_of_api(data: dict[str, Any], tmp: Path) -> None:
    # A web server that answers HTML (a login page, a proxy error page) instead of the API.
    data["zephyr"]["base_url"] = data["qtest"]["base_url"] + "/not-the-api"


def _custom_map(text: str) -> Callable[[dict[str, Any], Path], None]:
    def change(data: dict[str, Any], tmp: Path) -> None:
        (tmp / "map.yaml").write_text(text)

    return change


REFUSED = [
    Refused("malformed YAML", "is not valid YAML at line", _nothing, raw="zephyr:\n  base_url: [unclosed\n"),
    Refused("YAML that is a list", "must hold a mapping", _nothing, raw="- zephyr\n- qtest\n"),
    Refused("config not UTF-8", "cannot be read", _nothing, raw="\udcff"),
    Refused("unknown section", "Unknown config key 'zephr'", _set("zephr", "project_key", "X")),
    Refused("mistyped key", "Unknown config key 'zephyr.project_kee'", _set("zephyr", "project_kee", "DEMO")),
    Refused("wrong type", "'performance.max_workers'", _set("performance", "max_workers", "many")),
    Refused("out of range", "'performance.batch_size'", _set("performance", "batch_size", 0)),
    Refused("unknown phase", "unknown phase(s) lod", _set("migration", "phases", "extract,lod")),
    Refused("database type", "'database.type'", _set("database", "type", "oracle")),
    Refused(
        "non-HTTP Zephyr URL",
        "zephyr.base_url must be an http(s) URL",
        _set("zephyr", "base_url", "ftp://x/v2"),
    ),
    Refused(
        "qTest URL without scheme",
        "qtest.base_url must be an http(s) URL",
        _set("qtest", "base_url", "x.qtestnet.com"),
    ),
    Refused("no Zephyr token", "No Zephyr API token", _drop("zephyr", "api_token")),
    Refused("no qTest credentials", "No qTest credentials", _drop("qtest", "bearer_token")),
    Refused("no project key", "zephyr.project_key is not set", _set("zephyr", "project_key", "")),
    Refused("no qTest project id", "qtest.project_id is not set", _set("qtest", "project_id", 0)),
    Refused("wrong Zephyr token", "Zephyr answered 401", _set("zephyr", "api_token", "not-the-token")),
    Refused("wrong qTest token", "qTest", _set("qtest", "bearer_token", "not-the-token")),
    Refused(
        "Zephyr project that does not exist",
        "Zephyr project NOPE was not found",
        _set("zephyr", "project_key", "NOPE"),
    ),
    Refused("qTest project that does not exist", "qTest answered 404", _set("qtest", "project_id", 4242)),
    Refused(
        "unreachable Zephyr",
        "could not be reached",
        lambda d, _: d["zephyr"].update(base_url=f"http://127.0.0.1:{_closed_port()}/v2"),
    ),
    Refused("HTML instead of the API", "zephyr.base_url", _html_instead_of_api),
    Refused("corrupted database file", "is not a SQLite database", _garbage_db),
    Refused("another application's database", "is not a ztoq migration database", _foreign_db),
    Refused("database from a newer ztoq", "made by a newer ztoq", _newer_db),
    Refused(
        "missing custom field map",
        "does not exist",
        _nothing,
        args=("--custom-field-map", "{tmp}/absent.yaml"),
    ),
    Refused(
        "malformed custom field map",
        "Unknown config key 'test_kase'",
        _custom_map("test_kase:\n  A: B\n"),
        args=("--custom-field-map", "{tmp}/map.yaml"),
    ),
    Refused(
        "bad --incremental value",
        "--incremental takes true or false",
        _nothing,
        args=("--incremental", "perhaps"),
    ),
    Refused("bad --phases value", "unknown phase(s) everything", _nothing, args=("--phases", "everything")),
]


@pytest.fixture(scope="module")
def simulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from serve(tmp_path_factory.mktemp("sims"), generate_dataset(5, seed=4))


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.name)
def test_refused_with_one_sentence_and_exit_2(
    case: Refused, simulators: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    simulators.workdir = tmp_path
    path = simulators.config({"type": "sqlite", "path": str(tmp_path / "m.db")}, network={"retry_count": 0})
    data = yaml.safe_load(path.read_text())
    case.change(data, tmp_path)
    if case.raw is not None:
        path.write_bytes(case.raw.encode("utf-8", "surrogateescape"))
    else:
        path.write_text(yaml.safe_dump(data))
    args = [a.replace("{tmp}", str(tmp_path)) for a in case.args]
    code = run(["migrate", "run", "--config", str(path), "--quiet", *args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert case.needle in err, err
    assert "Traceback" not in err
    first = err.strip().splitlines()[0]
    assert first.startswith(("Error:", "Usage:")), err


def test_there_are_at_least_30_hostile_inputs() -> None:
    assert len(REFUSED) + len(RECORDED) >= 30


# -- recorded inputs: the entity is a problem with its reason; the rest arrives -----------------------


@dataclass(frozen=True)
class Recorded:
    """A hostile Zephyr record and the problem it must leave (or the way it must arrive)."""

    name: str
    change: Callable[[dict[str, Any]], str]  # mutates the dataset, returns the entity's key
    entity_type: str
    code: str | None  # the problem code; None: it must arrive unchanged, with no problem


def _case(data: dict[str, Any], index: int) -> dict[str, Any]:
    return data["testcases"][index]


def _null_name(data: dict[str, Any]) -> str:
    _case(data, 0)["name"] = None
    return _case(data, 0)["key"]


def _long_name(data: dict[str, Any]) -> str:
    _case(data, 1)["name"] = "Very long name " * 60
    return _case(data, 1)["key"]


def _bad_html(data: dict[str, Any]) -> str:
    _case(data, 2)["objective"] = "<p><b>Unclosed <i>tags <table><tr><td>cell"
    return _case(data, 2)["key"]


def _emoji_rtl(data: dict[str, Any]) -> str:
    _case(data, 3)["name"] = "Checkout ✅🛒 — الدفع بالبطاقة — עברית"
    return _case(data, 3)["key"]


def _missing_priority_and_status(data: dict[str, Any]) -> str:
    _case(data, 4).pop("priority", None)
    _case(data, 4).pop("status", None)
    return _case(data, 4)["key"]


def _unknown_folder(data: dict[str, Any]) -> str:
    _case(data, 5)["folder"] = {"id": 99999999}
    return _case(data, 5)["key"]


def _hundreds_of_steps(data: dict[str, Any]) -> str:
    key = _case(data, 6)["key"]
    data["teststeps"][key] = [
        {"inline": {"description": f"Step {i}", "expectedResult": f"Result {i}"}} for i in range(1, 301)
    ]
    data["testscripts"].pop(key, None)
    return key


def _empty_steps(data: dict[str, Any]) -> str:
    key = _case(data, 7)["key"]
    data["teststeps"][key] = [{"inline": {}}, {"inline": {"description": "", "expectedResult": ""}}]
    data["testscripts"].pop(key, None)
    return key


def _call_cycle(data: dict[str, Any]) -> str:
    a, b = _case(data, 8)["key"], _case(data, 9)["key"]
    for caller, called in ((a, b), (b, a)):
        data["teststeps"][caller] = [{"testCase": {"testCaseKey": called}}]
        data["testscripts"].pop(caller, None)
    return a


def _sibling_folders_same_name(data: dict[str, Any]) -> str:
    parent = next(f for f in data["folders"] if f["folderType"] == "TEST_CASE")
    twins = []
    for n in (1, 2):
        folder = copy.deepcopy(parent)
        folder["id"] = 88888880 + n
        folder["parentId"] = parent["id"]
        folder["name"] = "Same name"
        data["folders"].append(folder)
        twins.append(folder)
    _case(data, 10)["folder"] = {"id": twins[1]["id"]}
    return str(twins[1]["id"])


def _custom_field_of_odd_type(data: dict[str, Any]) -> str:
    _case(data, 11).setdefault("customFields", {})["Story Points"] = {"unexpected": ["object"]}
    return _case(data, 11)["key"]


def _execution_of_deleted_case(data: dict[str, Any]) -> str:
    execution = copy.deepcopy(next(e for e in data["testexecutions"] if e.get("testCycle")))
    execution["id"] = 77777777
    execution["key"] = "DEMO-E77777777"
    execution["testCase"] = {"id": 66666666}  # a version no test case has any more
    data["testexecutions"].append(execution)
    return "DEMO-E77777777"


def _execution_with_unknown_status(data: dict[str, Any]) -> str:
    execution = next(e for e in data["testexecutions"] if e.get("actualEndDate"))
    execution["testExecutionStatus"] = {"id": 55555555}
    return str(execution["key"])


RECORDED = [
    Recorded("null name", _null_name, "test_case", "unnamed"),
    Recorded("name longer than qTest accepts", _long_name, "test_case", "name_truncated"),
    Recorded("invalid HTML", _bad_html, "test_case", None),
    Recorded("emoji and right-to-left text", _emoji_rtl, "test_case", None),
    Recorded("missing priority and status", _missing_priority_and_status, "test_case", "priority_defaulted"),
    Recorded("unknown folder", _unknown_folder, "test_case", "missing_folder"),
    Recorded("hundreds of steps", _hundreds_of_steps, "test_case", None),
    Recorded("empty steps", _empty_steps, "test_case", None),
    Recorded("circular call-to-test", _call_cycle, "test_case", "call_cycle"),
    Recorded("sibling folders with the same name", _sibling_folders_same_name, "module", None),
    Recorded(
        "custom field value of an odd type",
        _custom_field_of_odd_type,
        "test_case",
        "custom_field_unconvertible",
    ),
    Recorded("execution of a deleted test case", _execution_of_deleted_case, "test_log", "run_not_created"),
    Recorded(
        "execution with an unknown status",
        _execution_with_unknown_status,
        "test_log",
        "execution_status_defaulted",
    ),
]


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("hostile")
    data = generate_dataset(16, seed=8)
    keys = {case.name: case.change(data) for case in RECORDED}
    for served in serve(tmp, data):
        config = served.config({"type": "sqlite", "path": str(tmp / "m.db")})
        code = run(["migrate", "run", "--config", str(config), "--quiet"])
        cfg = load_config(config)
        with open_store(cfg.database) as store, store.session() as repo:
            problems = {(p.entity_type, p.source_key, p.code) for p in repo.iter_problems("DEMO")}
        with served.qtest_api() as api:
            snapshot = qtest_snapshot(api)
        yield {"code": code, "keys": keys, "problems": problems, "snapshot": snapshot, "data": data}


def test_the_hostile_project_migrates(hostile_run: dict[str, Any]) -> None:
    # Validation still passes: everything that can exist in qTest does.
    assert hostile_run["code"] == 0


@pytest.mark.parametrize("case", RECORDED, ids=lambda c: c.name)
def test_recorded_with_its_reason_and_neighbours_arrive(case: Recorded, hostile_run: dict[str, Any]) -> None:
    key = hostile_run["keys"][case.name]
    problems = hostile_run["problems"]
    if case.code is not None:
        assert (case.entity_type, key, case.code) in problems, sorted(p for p in problems if p[1] == key)
    cases = hostile_run["snapshot"]["test_cases"]
    if case.entity_type == "test_case":
        assert key in cases, f"{key} must still arrive"
    valid = {tc["key"] for tc in hostile_run["data"]["testcases"]}
    assert valid <= set(cases), "no valid test case is lost because of a bad neighbour"


def test_hostile_texts_arrive_exactly(hostile_run: dict[str, Any]) -> None:
    cases = hostile_run["snapshot"]["test_cases"]
    keys = hostile_run["keys"]
    assert cases[keys["emoji and right-to-left text"]]["name"] == "Checkout ✅🛒 — الدفع بالبطاقة — עברית"
    assert len(cases[keys["hundreds of steps"]]["steps"]) == 300
    assert len(cases[keys["empty steps"]]["steps"]) == 2
    assert len(cases[keys["name longer than qTest accepts"]]["name"]) <= 500
