"""In-package simulators of the Zephyr Scale Cloud v2, Server/Data Center v1 and qTest Manager v3 APIs.

They follow the vendors' published contracts (see ``docs/simulators-zephyr.md``,
``docs/simulators-zephyr-server.md`` and ``docs/simulators-qtest.md``) and serve both
in-process (as ASGI apps) and on a loopback socket (``ztoq simulate zephyr|zephyr-server|qtest``).
"""
