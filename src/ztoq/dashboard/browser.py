"""Headless Chromium for pictures of a page: ``screenshot(url, path)``.

Used by ``ztoq demo`` to save ``dashboard.png`` and ``report.png`` next to the run's files, and by
the end-to-end tests. Chromium is looked up as ``$ZTOQ_CHROMIUM``, then ``/usr/bin/chromium``,
then ``chromium``/``chromium-browser``/``google-chrome`` on the ``PATH``; without it
:func:`screenshot` returns False and the caller goes on without the picture.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

#: Flags for every headless run: no sandbox (containers), no GPU, and nothing phoning home.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
DEFAULT_CHROMIUM = "/usr/bin/chromium"
_ON_PATH = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The Chromium executable to use, or None when there is none."""
    configured = os.environ.get("ZTOQ_CHROMIUM")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    if os.access(DEFAULT_CHROMIUM, os.X_OK):
        return DEFAULT_CHROMIUM
    for name in _ON_PATH:
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(
    url: str,
    path: Path,
    *,
    wait_ms: int = 2500,
    size: tuple[int, int] = (1280, 1400),
    timeout: float = 60.0,
) -> bool:
    """Save a PNG of ``url`` (an ``http(s)://`` or ``file://`` URL) as ``path``.

    Chromium runs headless with a fresh, throw-away profile. ``--virtual-time-budget`` lets the
    page's timers and fetches run for ``wait_ms`` (virtual) milliseconds before the picture is
    taken, so a page that fills itself from an API (the dashboard polls every second) has
    rendered its data.

    Args:
        url: The page.
        path: Where the PNG goes (its folder is created).
        wait_ms: Virtual milliseconds the page runs before the picture.
        size: Window width and height in pixels.
        timeout: Seconds before Chromium is given up on.

    Returns:
        True when the PNG was written; False when Chromium is absent or failed (logged).
    """
    chromium = find_chromium()
    if chromium is None:
        log.info("No Chromium found (set ZTOQ_CHROMIUM); no screenshot of %s", url)
        return False
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="ztoq-chromium-") as profile:
        argv = [
            chromium,
            *FLAGS,
            f"--user-data-dir={profile}",
            "--hide-scrollbars",
            f"--window-size={size[0]},{size[1]}",
            f"--virtual-time-budget={max(0, int(wait_ms))}",
            f"--screenshot={path.resolve()}",
            url,
        ]
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("Chromium could not take a screenshot of %s: %s", url, exc)
            return False
    if done.returncode != 0 or not path.is_file() or path.stat().st_size == 0:
        log.warning(
            "Chromium could not take a screenshot of %s (exit %s): %s",
            url,
            done.returncode,
            done.stderr.strip()[-500:],
        )
        return False
    return True
