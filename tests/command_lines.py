"""Check that a ``ztoq ...`` command line written outside Python (CI templates, the runner script) exists.

Used by the deploy-file tests (the CI templates' ``run:`` scripts) and the runner-script tests (the
argument lists the script hands to ztoq).
"""

from __future__ import annotations

import re
import shlex
from typing import Any

import typer

from ztoq.cli.main import app

#: Where a shell command line stops being ztoq's arguments.
SHELL_OPERATORS = {">", ">>", "<", "|", "||", "&&", ";", "2>", "2>&1", "&"}


def ztoq_lines(script: str) -> list[str]:
    """The ``ztoq ...`` command lines of a shell script (continuation lines joined)."""
    joined = re.sub(r"\\\n\s*", " ", script)
    return [line.strip() for line in joined.splitlines() if line.strip().startswith("ztoq ")]


def ztoq_argv(line: str) -> list[str]:
    """The arguments ztoq receives from one shell command line starting with ``ztoq``."""
    words = shlex.split(line, comments=True)
    assert words[0] == "ztoq", line
    argv: list[str] = []
    for word in words[1:]:
        if word in SHELL_OPERATORS:
            break
        argv.append(word)
    return argv


def command_problems(argv: list[str]) -> list[str]:
    """What is wrong with ``ztoq <argv>``: an unknown command or an option the command lacks."""
    command: Any = typer.main.get_command(app)
    path: list[str] = []
    rest = list(argv)
    while getattr(command, "commands", None) and rest and not rest[0].startswith("-"):
        name = rest.pop(0)
        if name not in command.commands:
            return [f"ztoq {' '.join(path)} has no command {name!r}"]
        command = command.commands[name]
        path.append(name)
    if getattr(command, "commands", None):
        return [f"ztoq {' '.join(path)} needs a subcommand"]
    options = {opt: param for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    problems: list[str] = []
    i = 0
    while i < len(rest):
        word = rest[i]
        if word.startswith("-"):
            name = word.split("=", 1)[0]
            param = options.get(name)
            if param is None:
                problems.append(f"ztoq {' '.join(path)} has no option {name}")
            elif "=" not in word and not getattr(param, "is_flag", False):
                i += 1  # the option's value
        else:
            problems.append(f"ztoq {' '.join(path)} takes no argument {word!r}")
        i += 1
    return problems
