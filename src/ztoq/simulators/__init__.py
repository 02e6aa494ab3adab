"""In-package simulators of the Zephyr Scale Cloud v2 and qTest Manager v3 APIs.

They follow the vendors' published contracts (see ``docs/simulators-zephyr.md`` and
``docs/simulators-qtest.md``) and serve both
in-process (as ASGI apps) and on a loopback socket (``ztoq simulate zephyr|qtest``).
"""
