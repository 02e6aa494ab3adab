"""The process lock: exclusive, heartbeated, taken over when stale or when its owner died."""

from __future__ import annotations

import multiprocessing
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Event

import pytest
from sqlalchemy import select, update

from ztoq.errors import StoreLocked
from ztoq.store import Store, open_store
from ztoq.store.tables import locks

LOCKED = re.compile(
    r"Another ztoq process \(host (?P<host>\S+), pid (?P<pid>\d+)\) is running on this migration database "
    r"since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; "
    r"wait for it or, if it died, run again in (?P<wait>\d+) seconds\."
)


@pytest.fixture
def second(db_url: str, store: Store) -> Iterator[Store]:
    """Another Store on the same database, as a second ztoq process would open it."""
    other = open_store(db_url)
    yield other
    other.close()


def _row(store: Store) -> tuple[str, datetime, datetime] | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(locks.c.owner, locks.c.acquired_at, locks.c.heartbeat_at)).first()
    return None if row is None else (row[0], row[1], row[2])


def _age_heartbeat(store: Store, seconds: float) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(locks).values(heartbeat_at=datetime.now(UTC) - timedelta(seconds=seconds)))


def test_second_store_is_refused_until_released(store: Store, second: Store) -> None:
    with store.acquire_lock(heartbeat_interval=None) as held:
        assert held.held
        with pytest.raises(StoreLocked) as refused, second.acquire_lock():
            pass
        match = LOCKED.fullmatch(str(refused.value))
        assert match, str(refused.value)
        assert match["host"] == socket.gethostname()
        assert int(match["pid"]) > 0
        assert 55 <= int(match["wait"]) <= 60
        assert refused.value.exit_code == 2
    assert _row(store) is None
    with second.acquire_lock(heartbeat_interval=None):
        row = _row(store)
        assert row is not None
        assert row[0].startswith(f"{socket.gethostname()}:")


def test_locks_are_by_name(store: Store, second: Store) -> None:
    with store.acquire_lock("A", heartbeat_interval=None), second.acquire_lock("B", heartbeat_interval=None):
        pass


def test_same_owner_may_acquire_again(store: Store) -> None:
    lock = store.lock()
    lock.acquire()
    lock.acquire()
    lock.release()
    assert _row(store) is None


def test_stale_lock_is_taken_over(store: Store, second: Store) -> None:
    first = store.lock(stale_after=60)
    first.acquire()
    _age_heartbeat(store, 61)
    with second.acquire_lock(stale_after=60, heartbeat_interval=None) as taken:
        row = _row(store)
        assert row is not None
        assert row[0] == taken.owner
        # The first holder finds out at its next heartbeat, and must not release the new owner's lock.
        with pytest.raises(StoreLocked, match="was taken over by another process"):
            first.heartbeat()
        assert first.lost
        with pytest.raises(StoreLocked):
            first.ensure_held()
        first.release()
        assert _row(store) is not None


def test_recent_heartbeat_on_another_host_is_respected(store: Store, second: Store) -> None:
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        conn.execute(
            locks.insert().values(
                name="migration",
                owner="ci-runner-7.example.com:4242:abcd",
                acquired_at=now - timedelta(hours=1),
                heartbeat_at=now - timedelta(seconds=20),
            )
        )
    with pytest.raises(StoreLocked) as refused:
        second.lock(stale_after=60).acquire()
    match = LOCKED.fullmatch(str(refused.value))
    assert match, str(refused.value)
    assert (match["host"], match["pid"]) == ("ci-runner-7.example.com", "4242")
    assert 38 <= int(match["wait"]) <= 41
    _age_heartbeat(store, 61)
    second.lock(stale_after=60).acquire()


def test_dead_pid_on_this_host_is_taken_over(store: Store, second: Store) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    dead_pid = int(done.stdout)
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        conn.execute(
            locks.insert().values(
                name="migration",
                owner=f"{socket.gethostname()}:{dead_pid}:dead",
                acquired_at=now,
                heartbeat_at=now,
            )
        )
    with second.acquire_lock(stale_after=3600, heartbeat_interval=None) as taken:
        row = _row(store)
        assert row is not None
        assert row[0] == taken.owner


def test_heartbeat_thread_keeps_the_lock_fresh(store: Store) -> None:
    with store.acquire_lock(heartbeat_interval=0.05) as held:
        before = _row(store)
        time.sleep(0.3)
        after = _row(store)
        assert before is not None
        assert after is not None
        assert after[2] > before[2]
        assert after[1] == before[1]
        held.ensure_held()
    assert _row(store) is None


def _hold_lock(url: str, locked: Event, release: Event) -> None:
    store = open_store(url)
    with store.acquire_lock(heartbeat_interval=0.2):
        locked.set()
        release.wait(30)
    store.close()


def test_lock_across_processes(store: Store, db_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    locked, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(db_url, locked, release))
    holder.start()
    try:
        assert locked.wait(30), "the child process did not take the lock"
        with pytest.raises(StoreLocked) as refused:
            store.lock().acquire()
        match = LOCKED.fullmatch(str(refused.value))
        assert match
        assert int(match["pid"]) == holder.pid
        release.set()
        holder.join(30)
        assert holder.exitcode == 0
        with store.acquire_lock(heartbeat_interval=None):
            pass
    finally:
        release.set()
        holder.join(5)


def test_killed_process_lock_is_taken_over_at_once(store: Store, db_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    locked, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(db_url, locked, release))
    holder.start()
    assert locked.wait(30), "the child process did not take the lock"
    holder.kill()  # SIGKILL: no release, no cleanup
    holder.join(30)
    row = _row(store)
    assert row is not None
    assert f":{holder.pid}:" in row[0]
    with store.acquire_lock(stale_after=3600, heartbeat_interval=None) as taken:
        row = _row(store)
        assert row is not None
        assert row[0] == taken.owner
