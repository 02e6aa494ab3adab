"""``config/run-migration.sh``, the seed guide's runner, as a user runs it.

Local mode end to end: ``setup --local`` then ``run --local`` migrate the demo project between the
simulators (tokens only in the environment), then ``status``, ``report`` and ``dashboard`` work.
Docker mode without a daemon: a stand-in ``docker`` command records what the runner asks of
Docker (mounts, environment names, user, published port, the ztoq command) and answers with an
exit code the runner must return.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from e2e_support import Served

from command_lines import command_problems
from ztoq.config import load_config
from ztoq.rehearsal import write_config
from ztoq.simulators.qtest import DEFAULT_QTEST_TOKEN
from ztoq.simulators.zephyr import DEFAULT_ZEPHYR_TOKEN, generate_dataset

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "config" / "run-migration.sh"
#: The virtual environment running these tests (the repository's .venv under `make test`).
VENV = Path(sys.prefix)
IMAGE_UID = 10001
#: The user and group ids as the script sees them (``id``: in some sandboxes they differ from
#: ``os.getuid()``).
CALLER_UID = int(subprocess.run(["id", "-u"], capture_output=True, text=True, check=True).stdout)
CALLER_GID = int(subprocess.run(["id", "-g"], capture_output=True, text=True, check=True).stdout)


@pytest.fixture
def dataset() -> dict[str, Any]:
    """The demo project, smaller: 30 generated test cases with their execution history."""
    return generate_dataset(30, seed=5)


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any ztoq setting or secret, plus ``extra``."""
    ztoq_names = {"zephyr_access_token", "ZEPHYR_ACCESS_TOKEN", "qtest_bearer_token", "QTEST_BEARER_TOKEN"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZTOQ_") and k not in ztoq_names}
    return {**env, **extra}


def runner(*args: str | Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(RUNNER), *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def shown(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- Local mode ---------------------------------------------------------------------------------


def test_setup_run_status_report_and_dashboard_in_local_mode(served: Served, tmp_path: Path) -> None:
    if not (VENV / "bin" / "ztoq").exists():
        pytest.skip(f"ztoq is not installed in {VENV}")
    # The config a team keeps: no secret in it, paths relative to the store folder.
    data = yaml.safe_load(
        served.config(
            database={"type": "sqlite", "path": "migration.db"},
            logging={"level": "INFO", "file": "ztoq-migration.log"},
        ).read_text(encoding="utf-8")
    )
    del data["zephyr"]["api_token"], data["qtest"]["bearer_token"]
    config = write_config(data, tmp_path / "config" / "config.yaml")
    store, reports = tmp_path / "data", tmp_path / "reports"
    env = clean_env(zephyr_access_token=DEFAULT_ZEPHYR_TOKEN, ZTOQ_QTEST_BEARER_TOKEN=DEFAULT_QTEST_TOKEN)
    common = ["--local", "--config", config, "--data-dir", store, "--reports-dir", reports, "--venv", VENV]

    setup = runner("setup", *common, env=env)
    assert setup.returncode == 0, shown(setup)
    assert "Migration database ready" in setup.stdout
    assert (store / "migration.db").exists()

    run = runner("run", "--batch-size", "50", "--workers", "4", *common, "--", "--json", env=env, timeout=180)
    assert run.returncode == 0, shown(run)
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["status"] == "succeeded"
    assert summary["validation"] == {"missing": 0, "mismatched": 0}
    cases = next(row for row in summary["types"] if row["entity_type"] == "test_case")
    assert cases["loaded"] == cases["source"] == len(served.dataset["testcases"])
    assert (store / "ztoq-migration.log").stat().st_size > 0
    assert not (tmp_path / "config" / "migration.db").exists()

    status = runner("status", *common, env=env)
    assert status.returncode == 0, shown(status)
    assert "test case" in status.stdout

    report = runner("report", *common, env=env)
    assert report.returncode == 0, shown(report)
    html = (reports / "migration-report.html").read_text(encoding="utf-8")
    assert "passed" in html
    assert DEFAULT_QTEST_TOKEN not in html

    port = free_port()
    dashboard = subprocess.Popen(
        ["bash", str(RUNNER), "dashboard", *map(str, common), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        page = None
        deadline = time.monotonic() + 30
        while page is None and time.monotonic() < deadline and dashboard.poll() is None:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
            except httpx.TransportError:
                time.sleep(0.2)
        assert page is not None, f"the dashboard never answered (exit {dashboard.poll()})"
        assert page.status_code == 200
        assert "DEMO" in page.text or "dashboard" in page.text.lower()
    finally:
        dashboard.send_signal(signal.SIGINT)  # Ctrl+C: the runner exec'd ztoq, which gets it
        output, _ = dashboard.communicate(timeout=20)
    assert dashboard.returncode == 0, output
    assert f"dashboard on http://127.0.0.1:{port}" in output


def test_the_exit_code_and_message_are_ztoqs(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("zephyr:\n  project_kee: DEMO\n", encoding="utf-8")
    folders = ["--data-dir", tmp_path / "data", "--reports-dir", tmp_path / "reports"]
    result = runner("status", "--local", "--config", config, *folders, "--venv", VENV, env=clean_env())
    assert result.returncode == 2, shown(result)
    assert "Unknown config key 'zephyr.project_kee'" in result.stderr


def test_bad_runner_options_are_refused_before_ztoq_runs(tmp_path: Path) -> None:
    for args, message in [
        (["run", "--workers", "many"], "--workers must be a positive whole number"),
        (["status", "--batch-size", "10"], "belong to 'run'"),
        (["migrate"], "unknown command 'migrate'"),
        (["run", "--local", "--config", tmp_path / "none.yaml"], "run 'config/run-migration.sh setup' first"),
    ]:
        result = runner(*args, env=clean_env())
        assert result.returncode == 2, shown(result)
        assert message in result.stderr


# -- Docker mode, against a stand-in docker command ---------------------------------------------------


class FakeDocker:
    """A ``docker`` first on PATH whose daemon answers; it records each call and exits as told."""

    def __init__(self, tmp_path: Path) -> None:
        self.log = tmp_path / "docker-calls.jsonl"
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        script = bin_dir / "docker"
        script.write_text(
            f"#!{sys.executable}\n"
            "import json, os, sys\n"
            "if sys.argv[1:2] == ['info']:\n"
            "    sys.exit(0)\n"
            "with open(os.environ['FAKE_DOCKER_LOG'], 'a', encoding='utf-8') as log:\n"
            "    log.write(json.dumps({'argv': sys.argv[1:], 'env': dict(os.environ)}) + '\\n')\n"
            "sys.exit(int(os.environ.get('FAKE_DOCKER_EXIT', '0')))\n",
            encoding="utf-8",
        )
        script.chmod(0o755)
        self.path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"

    def calls(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()]

    def run_call(self) -> tuple[list[str], list[str], dict[str, str]]:
        """The last ``docker run``: its Docker options, the ztoq arguments, and docker's environment."""
        call = self.calls()[-1]
        argv: list[str] = call["argv"]
        image = argv.index("ztoq:latest")
        return argv[:image], argv[image + 1 :], call["env"]


def option_values(options: list[str], name: str) -> list[str]:
    return [options[i + 1] for i, word in enumerate(options) if word == name]


@pytest.fixture
def docker_setup(tmp_path: Path) -> tuple[FakeDocker, dict[str, str], dict[str, Path]]:
    docker = FakeDocker(tmp_path)
    paths = {
        "config": tmp_path / "conf" / "config.yaml",
        "data": tmp_path / "data",
        "reports": tmp_path / "reports",
    }
    env = clean_env(
        PATH=docker.path,
        FAKE_DOCKER_LOG=str(docker.log),
        ZTOQ_CONFIG=str(paths["config"]),
        ZTOQ_DATA_DIR=str(paths["data"]),
        ZTOQ_REPORTS_DIR=str(paths["reports"]),
        ZTOQ_ZEPHYR_API_TOKEN="zephyr-secret-1234",
        qtest_bearer_token="qtest-secret-5678",
    )
    return docker, env, paths


def test_docker_setup_builds_the_image_writes_the_template_and_initialises_the_store(
    docker_setup: tuple[FakeDocker, dict[str, str], dict[str, Path]],
) -> None:
    docker, env, paths = docker_setup
    result = runner("setup", env=env)
    assert result.returncode == 0, shown(result)
    build, _ = docker.calls()
    assert build["argv"] == ["build", "--tag", "ztoq:latest", str(ROOT)]
    _, ztoq_args, _ = docker.run_call()
    assert ztoq_args == ["db", "init", "--config", "/ztoq/config/config.yaml"]
    assert command_problems(ztoq_args) == []
    # The commented template is a valid config with no secret in it.
    template = paths["config"].read_text(encoding="utf-8")
    assert "ZTOQ_ZEPHYR_API_TOKEN" in template
    cfg = load_config(paths["config"], environ={})
    assert cfg.zephyr.api_token is None
    assert cfg.qtest.bearer_token is None
    assert (cfg.database.type, cfg.database.path) == ("sqlite", "migration.db")
    assert (paths["data"] / ".gitignore").read_text(encoding="utf-8") == "*\n"


def test_docker_run_mounts_the_folders_and_passes_secrets_by_name_only(
    docker_setup: tuple[FakeDocker, dict[str, str], dict[str, Path]],
) -> None:
    docker, env, paths = docker_setup
    write_config({"zephyr": {"project_key": "DEMO"}}, paths["config"]).chmod(0o644)
    result = runner("run", "--batch-size", "50", "--workers", "4", "--phase", "extract,transform", env=env)
    assert result.returncode == 0, shown(result)

    options, ztoq_args, docker_env = docker.run_call()
    assert options[:3] == ["run", "--rm", "--init"]
    assert ztoq_args == [
        "migrate",
        "run",
        "--config",
        "/ztoq/config/config.yaml",
        "--phases",
        "extract,transform",
    ]
    assert command_problems(ztoq_args) == []
    assert set(option_values(options, "--volume")) == {
        f"{paths['config'].parent}:/ztoq/config:ro",
        f"{paths['data']}:/ztoq/data",
        f"{paths['reports']}:/ztoq/reports",
    }
    assert option_values(options, "--workdir") == ["/ztoq/data"]
    # Names only (passed from the environment); HOME=/tmp is set for a non-root caller's uid.
    names = [n for n in option_values(options, "--env") if n != "HOME=/tmp"]
    assert {"ZTOQ_ZEPHYR_API_TOKEN", "qtest_bearer_token", "ZTOQ_PERFORMANCE_BATCH_SIZE"} <= set(names)
    assert "ZTOQ_PERFORMANCE_MAX_WORKERS" in names
    assert "ZTOQ_CONFIG" not in names  # the runner's own settings stay outside
    assert not [w for w in options + ztoq_args if "secret" in w], "a secret on the command line"
    # --batch-size and --workers reach ztoq as the settings it reads.
    performance = load_config(None, environ={name: docker_env[name] for name in names}).performance
    assert (performance.batch_size, performance.max_workers) == (50, 4)
    if CALLER_UID == 0:
        assert not any(word.startswith("--user") for word in options)  # the image's user, 10001
        assert paths["data"].stat().st_uid == IMAGE_UID
    else:
        assert f"--user={CALLER_UID}:{CALLER_GID}" in options


def test_docker_report_dashboard_status_and_exit_codes(
    docker_setup: tuple[FakeDocker, dict[str, str], dict[str, Path]],
) -> None:
    docker, env, paths = docker_setup
    write_config({"zephyr": {"project_key": "DEMO"}}, paths["config"]).chmod(0o644)

    assert runner("report", env=env).returncode == 0
    _, ztoq_args, _ = docker.run_call()
    assert ztoq_args[-4:] == ["--format", "html", "--output-file", "/ztoq/reports/migration-report.html"]
    assert command_problems(ztoq_args) == []

    assert runner("dashboard", "--port", "8411", env=env).returncode == 0
    options, ztoq_args, _ = docker.run_call()
    assert option_values(options, "--publish") == ["127.0.0.1:8411:8300"]
    assert ztoq_args[-4:] == ["--host", "0.0.0.0", "--port", "8300"]
    assert command_problems(ztoq_args) == []

    for code in (1, 2, 130):
        result = runner("status", env={**env, "FAKE_DOCKER_EXIT": str(code)})
        assert result.returncode == code, shown(result)
    assert docker.run_call()[1] == ["migrate", "status", "--config", "/ztoq/config/config.yaml"]

    calls = len(docker.calls())
    local = runner("status", "--local", "--venv", VENV, env=env)
    assert "ztoq db init" in local.stderr, shown(local)  # the local ztoq's answer: no store yet
    assert len(docker.calls()) == calls, "--local still ran Docker"


def test_docker_as_root_refuses_a_config_the_image_user_cannot_read(
    docker_setup: tuple[FakeDocker, dict[str, str], dict[str, Path]],
) -> None:
    if CALLER_UID != 0:
        pytest.skip("only root keeps the image's own user")
    docker, env, paths = docker_setup
    write_config({"zephyr": {"project_key": "DEMO"}}, paths["config"])  # 0600, owned by root
    result = runner("status", env=env)
    assert result.returncode == 2, shown(result)
    assert f"(uid {IMAGE_UID}) cannot read" in result.stderr
    assert docker.calls() == []
