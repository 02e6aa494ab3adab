"""The files that run ztoq elsewhere, checked statically: no Docker daemon or CI runner is needed.

* ``Dockerfile`` and ``.dockerignore``: a slim Python >= 3.11 base, the package built from the
  source tree, a non-root user, the runner's folders, ``ztoq`` as entry point, no secret, no Chromium.
* ``docker-compose.yml``: PostgreSQL in a named volume with a health check, ztoq waiting for it,
  the store from ``ZTOQ_DATABASE_*`` variables, secrets only passed through.
* The scheduled-sync templates (GitHub Actions and GitLab CI): current action versions, Python >=
  3.11, the secret names ztoq reads, the report kept, the store kept in a PostgreSQL service, and
  every ``ztoq`` command they run exists with the options they give it.
* ``config/run-migration.sh`` and ``scripts/*.sh`` are shellcheck-clean (when shellcheck is here).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from command_lines import command_problems, ztoq_argv, ztoq_lines
from ztoq.config import load_config

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "config" / "run-migration.sh"
GITHUB = ROOT / "examples" / "github-actions" / "scheduled-migration.yml"
GITLAB = ROOT / "examples" / "gitlab-ci" / "scheduled-migration.gitlab-ci.yml"

SECRET_NAME = re.compile(r"token|password|secret|passwd|api_?key", re.IGNORECASE)


# -- Dockerfile ----------------------------------------------------------------------------------


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, continuation lines joined, comments left out."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            instruction, _, args = line.strip().partition(" ")
            out.append((instruction.upper(), " ".join(args.split())))
    return out


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [i for i, (ins, _) in enumerate(instructions) if ins == "FROM"]
    return instructions[starts[-1] :]


def build_args(instructions: list[tuple[str, str]]) -> dict[str, str]:
    """The ARG defaults declared before the first FROM (the ones FROM lines may use)."""
    args = {}
    for ins, rest in instructions:
        if ins == "FROM":
            break
        if ins == "ARG" and "=" in rest:
            name, _, value = rest.partition("=")
            args[name] = value
    return args


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return dockerfile_instructions((ROOT / "Dockerfile").read_text(encoding="utf-8"))


def test_the_image_is_a_slim_python_of_at_least_3_11(dockerfile: list[tuple[str, str]]) -> None:
    args = build_args(dockerfile)
    bases = [rest.split()[0] for ins, rest in dockerfile if ins == "FROM"]
    assert bases
    for base in bases:
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], base)
        match = re.fullmatch(r"python:(\d+)\.(\d+)(?:\.\d+)?-slim(?:-\w+)?", image)
        assert match, f"{base} is not a slim Python image"
        assert (int(match.group(1)), int(match.group(2))) >= (3, 11), image


def test_the_package_is_installed_from_the_source_tree(dockerfile: list[tuple[str, str]]) -> None:
    copied = [rest for ins, rest in dockerfile if ins == "COPY" and "--from" not in rest]
    assert any(rest.split()[0] == "src" for rest in copied)
    assert any("pyproject.toml" in rest for rest in copied)
    runs = " ".join(rest for ins, rest in dockerfile if ins == "RUN")
    assert "pip wheel" in runs
    assert "pip install" in runs
    assert "chromium" not in runs.lower()


def test_the_image_runs_ztoq_as_a_non_root_user(dockerfile: list[tuple[str, str]]) -> None:
    stage = final_stage(dockerfile)
    users = [rest for ins, rest in stage if ins == "USER"]
    assert users, "the final stage sets no USER: it would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    # The runner hands the store and reports folders to this uid when it is called by root.
    runner_uid = re.search(r"^IMAGE_UID=(\d+)$", RUNNER.read_text(encoding="utf-8"), re.MULTILINE)
    assert runner_uid is not None
    assert user == runner_uid.group(1)
    runs = " ".join(rest for ins, rest in stage if ins == "RUN")
    assert f"--uid {user}" in runs

    assert [json.loads(rest) for ins, rest in stage if ins == "ENTRYPOINT"] == [["ztoq"]]
    assert ("WORKDIR", "/ztoq/data") in stage
    volumes = [json.loads(rest) for ins, rest in stage if ins == "VOLUME"]
    assert ["/ztoq/data", "/ztoq/reports"] in volumes
    for folder in ("/ztoq/config", "/ztoq/data", "/ztoq/reports"):
        assert folder in runs


def test_no_secret_is_baked_into_the_image(dockerfile: list[tuple[str, str]]) -> None:
    for ins, rest in dockerfile:
        if ins in ("ENV", "ARG", "LABEL"):
            assert not SECRET_NAME.search(rest), f"{ins} {rest}"
        if ins in ("COPY", "ADD"):
            assert "config" not in rest.split()[0], f"{ins} {rest}"


def test_the_build_context_holds_only_what_the_build_copies(dockerfile: list[tuple[str, str]]) -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "the context must start from nothing (configs and stores hold secrets)"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    sources = {
        word.rstrip("/")
        for ins, rest in dockerfile
        if ins == "COPY" and "--from" not in rest
        for word in rest.split()[:-1]
    }
    assert sources == allowed


# -- docker-compose.yml --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    return data


def test_compose_keeps_postgresql_in_a_named_volume_with_a_health_check(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["image"].startswith("postgres:")
    volume = next(v for v in postgres["volumes"] if v.endswith(":/var/lib/postgresql/data"))
    name = volume.split(":")[0]
    assert not name.startswith((".", "/")), "a bind mount, not a named volume"
    assert name in compose["volumes"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert "5432" not in json.dumps(postgres.get("ports", [])), "PostgreSQL is published on the host"


def test_compose_runs_ztoq_once_postgresql_is_healthy(compose: dict[str, Any]) -> None:
    ztoq = compose["services"]["ztoq"]
    assert ztoq["build"] == "."
    assert ztoq["depends_on"]["postgres"]["condition"] == "service_healthy"
    mounts = {v.split(":")[1]: v for v in ztoq["volumes"]}
    assert set(mounts) == {"/ztoq/config", "/ztoq/data", "/ztoq/reports"}
    assert mounts["/ztoq/config"].endswith(":ro")
    assert all(port.startswith("127.0.0.1:") for port in ztoq["ports"])


def test_compose_gives_ztoq_the_store_and_passes_secrets_through(compose: dict[str, Any]) -> None:
    environment: dict[str, Any] = compose["services"]["ztoq"]["environment"]
    for name, value in environment.items():
        if SECRET_NAME.search(name):
            assert value is None, f"{name} has a value in the compose file"
    for service in compose["services"].values():
        for name, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(name) and value is not None:
                assert re.fullmatch(r"\$\{\w+(:?[?-][^}]*)?\}", value), f"{name}: {value}"
    # The plain values are real ztoq settings: they make the store the compose PostgreSQL.
    plain = {k: str(v) for k, v in environment.items() if v is not None and k.startswith("ZTOQ_")}
    db = load_config(None, environ={**plain, "ZTOQ_DATABASE_PASSWORD": "pw"}).database
    assert (db.type, db.host, db.port) == ("postgresql", "postgres", 5432)
    postgres_env = compose["services"]["postgres"]["environment"]
    assert (db.username, db.database) == (postgres_env["POSTGRES_USER"], postgres_env["POSTGRES_DB"])
    assert db.sqlalchemy_url().startswith("postgresql+psycopg://ztoq:pw@postgres:5432/")


# -- Scheduled-sync templates --------------------------------------------------------------------


@pytest.fixture(scope="module")
def github() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def gitlab() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    return data


def github_steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def template_scripts() -> list[tuple[str, str]]:
    """``(template, shell script)`` for every script the two templates run."""
    workflow = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    scripts = [(GITHUB.name, step["run"]) for step in github_steps(workflow) if "run" in step]
    for job in yaml.safe_load(GITLAB.read_text(encoding="utf-8")).values():
        for key in ("before_script", "script", "after_script"):
            scripts += [(GITLAB.name, line) for line in job.get(key, [])]
    return scripts


def template_commands() -> list[tuple[str, str]]:
    return [(name, line) for name, script in template_scripts() for line in ztoq_lines(script)]


def test_the_templates_run_the_migration_and_the_report() -> None:
    for template in (GITHUB.name, GITLAB.name):
        commands = [line for name, line in template_commands() if name == template]
        assert any(line.startswith("ztoq migrate run --config config.yaml") for line in commands)
        assert any("--format html --output-file reports/" in line for line in commands), template
        assert any(line.startswith("ztoq db init") for line in commands), template


@pytest.mark.parametrize(("template", "line"), template_commands(), ids=lambda v: v)
def test_every_ztoq_command_of_the_templates_exists(template: str, line: str) -> None:
    assert command_problems(ztoq_argv(line)) == [], f"{template}: {line}"


def test_github_workflow_uses_current_actions_and_python(github: dict[str, Any]) -> None:
    triggers = github.get("on", github.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["schedule"][0]["cron"] == "0 2 * * *"
    assert "workflow_dispatch" in triggers
    uses = {
        step["uses"].split("@")[0]: step["uses"].split("@")[1]
        for step in github_steps(github)
        if "uses" in step
    }
    assert uses["actions/checkout"] == "v4"
    assert uses["actions/setup-python"] == "v5"
    assert uses["actions/upload-artifact"] == "v4"
    assert all(version not in ("v1", "v2", "v3") for version in uses.values()), uses
    python = next(s for s in github_steps(github) if s.get("uses", "").startswith("actions/setup-python"))
    major, minor = (int(part) for part in str(python["with"]["python-version"]).split(".")[:2])
    assert (major, minor) >= (3, 11)


def test_github_workflow_passes_the_seed_guides_secrets_ztoq_reads(github: dict[str, Any]) -> None:
    migrate = next(s for s in github_steps(github) if "ztoq migrate run" in s.get("run", ""))
    assert migrate["env"] == {
        "zephyr_access_token": "${{ secrets.ZEPHYR_API_TOKEN }}",
        "qtest_bearer_token": "${{ secrets.QTEST_API_TOKEN }}",
    }
    cfg = load_config(None, environ={"zephyr_access_token": "zt", "qtest_bearer_token": "qt"})
    assert cfg.zephyr.api_token is not None
    assert cfg.qtest.bearer_token is not None
    assert cfg.zephyr.api_token.get_secret_value() == "zt"
    assert cfg.qtest.bearer_token.get_secret_value() == "qt"
    for step in github_steps(github):
        for name, value in (step.get("env") or {}).items():
            if SECRET_NAME.search(name):
                assert re.fullmatch(r"\$\{\{ secrets\.\w+ \}\}", value), f"{name}: {value}"


def test_github_workflow_keeps_the_store_in_postgresql_and_uploads_the_report(github: dict[str, Any]) -> None:
    (job,) = github["jobs"].values()
    postgres = job["services"]["postgres"]
    assert postgres["image"].startswith("postgres:")
    assert "--health-cmd" in postgres["options"]
    db = load_config(None, environ={k: str(v) for k, v in job["env"].items()}).database
    assert (db.type, db.host, db.port) == ("postgresql", "localhost", 5432)
    assert (db.username, db.database) == (postgres["env"]["POSTGRES_USER"], postgres["env"]["POSTGRES_DB"])
    steps = github_steps(github)
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()"
    assert upload["with"]["path"] == "reports/"
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert "actions/cache/restore" in uses
    assert "actions/cache/save" in uses
    runs = " ".join(s.get("run", "") for s in steps)
    assert "pg_restore" in runs
    assert "pg_dump" in runs
    # The template says why losing that state is safe.
    assert "Zephyr key" in GITHUB.read_text(encoding="utf-8")


def test_gitlab_job_matches_the_github_workflow(gitlab: dict[str, Any]) -> None:
    (job,) = gitlab.values()
    image = re.fullmatch(r"python:(\d+)\.(\d+)-slim(?:-(\w+))?", job["image"])
    assert image
    assert (int(image.group(1)), int(image.group(2))) >= (3, 11)
    # bookworm's postgresql-client is 15: pg_dump and pg_restore must match the server.
    assert image.group(3) == "bookworm"
    (service,) = job["services"]
    assert service["name"] == "postgres:15-alpine"
    assert [rule["if"] for rule in job["rules"]] == [
        '$CI_PIPELINE_SOURCE == "schedule"',
        '$CI_PIPELINE_SOURCE == "web"',
    ]
    db = load_config(None, environ={k: str(v) for k, v in job["variables"].items()}).database
    assert (db.type, db.host) == ("postgresql", service["alias"])
    assert (db.username, db.database) == (
        service["variables"]["POSTGRES_USER"],
        service["variables"]["POSTGRES_DB"],
    )
    assert job["cache"]["when"] == "always"
    assert job["cache"]["paths"] == ["ztoq-store/"]
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["paths"] == ["reports/"]
    for name in job["variables"]:
        assert not SECRET_NAME.search(name), f"{name} belongs in the project's CI/CD variables"
    text = GITLAB.read_text(encoding="utf-8")
    assert "zephyr_access_token and qtest_bearer_token" in text
    assert "Zephyr key" in text


# -- Shell scripts --------------------------------------------------------------------------------


def test_the_shell_scripts_are_shellcheck_clean() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (make test installs it: scripts/ensure-shellcheck.sh)")
    scripts = [RUNNER, *sorted((ROOT / "scripts").glob("*.sh"))]
    result = subprocess.run([shellcheck, *map(str, scripts)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
