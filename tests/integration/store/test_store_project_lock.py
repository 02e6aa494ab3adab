"""The lock is per project: processes on different projects share a store, a second one on the same
project is refused (message naming the project), and the store lists the last run of every project."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from ztoq.errors import StoreLocked
from ztoq.pipeline.status import project_statuses
from ztoq.store import Store, open_store
from ztoq.store.lock import MAX_LOCK_NAME, project_lock_name


@pytest.fixture
def second(db_url: str, store: Store) -> Iterator[Store]:
    """Another Store on the same database, as a second ztoq process would open it."""
    other = open_store(db_url)
    yield other
    other.close()


def test_two_projects_hold_their_locks_at_once(store: Store, second: Store) -> None:
    with (
        store.acquire_lock(project="ALPHA", heartbeat_interval=None) as alpha,
        second.acquire_lock(project="BETA", heartbeat_interval=None) as beta,
    ):
        assert (alpha.name, beta.name) == ("project:ALPHA", "project:BETA")
        assert alpha.held
        assert beta.held


def test_a_second_process_on_the_same_project_is_refused(store: Store, second: Store) -> None:
    with store.acquire_lock(project="ALPHA", heartbeat_interval=None):
        with pytest.raises(StoreLocked) as refused, second.acquire_lock(project="ALPHA"):
            pass
        assert re.fullmatch(
            r"Another ztoq process \(host \S+, pid \d+\) is running on project ALPHA of this migration "
            r"database since .+ UTC; wait for it or, if it died, run again in \d+ seconds\.",
            str(refused.value),
        ), str(refused.value)
    with second.acquire_lock(project="ALPHA", heartbeat_interval=None):
        pass


def test_lock_names_fit_the_column() -> None:
    assert project_lock_name("PROJ") == "project:PROJ"
    long_key = "K" * 80
    name = project_lock_name(long_key)
    assert len(name) == MAX_LOCK_NAME
    assert name.startswith("project:sha256:")
    assert name == project_lock_name(long_key)
    assert name != project_lock_name("K" * 81)


def test_every_project_of_the_store_is_listed(store: Store) -> None:
    with store.session() as repo:
        first_alpha = repo.start_run("ALPHA", "migrate run", ["extract"])
        beta = repo.start_run("BETA", "migrate run", ["extract"])
        last_alpha = repo.start_run("ALPHA", "migrate run", ["extract"])
        repo.finish_run(first_alpha, "failed", error="boom")
        repo.finish_run(last_alpha, "succeeded")
    with store.session() as repo:
        listed = [(p.project_key, p.last_run.id, p.last_run.status) for p in project_statuses(repo)]
    assert listed == [("ALPHA", last_alpha, "succeeded"), ("BETA", beta, "running")]
