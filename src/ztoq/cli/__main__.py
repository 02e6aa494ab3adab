"""``python -m ztoq.cli``: the same as the ``ztoq`` console script."""

from ztoq.cli.main import run

run()
