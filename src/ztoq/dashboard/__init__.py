"""``ztoq dashboard``: live progress of a migration in a local web page, read from the store.

``create_dashboard_app(config)`` is a Starlette app: a page that polls ``GET /api/status`` every
second and renders the current (or last) run of the config's project: its phases with live
counts, the API counters, problems, and the per-type status table. ``screenshot(url, path)``
saves a PNG of any page with headless Chromium. See ``docs/dashboard.md``.
"""

from ztoq.dashboard.app import LOOPBACK_HOSTS, create_dashboard_app, is_loopback
from ztoq.dashboard.browser import FLAGS, find_chromium, screenshot
from ztoq.dashboard.data import StatusSource, problem_summary, read_status, type_table

__all__ = [
    "FLAGS",
    "LOOPBACK_HOSTS",
    "StatusSource",
    "create_dashboard_app",
    "find_chromium",
    "is_loopback",
    "problem_summary",
    "read_status",
    "screenshot",
    "type_table",
]
