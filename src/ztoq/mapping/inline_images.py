"""Images embedded in rich text (objective, precondition, step texts, comments, descriptions).

Zephyr Cloud's rich-text editor stores pasted images on SmartBear's CDN behind a browser session:
the API token cannot fetch them, and an ``<img>`` pointing there shows as a broken image in qTest.
Every such image is replaced by a visible reference, ``[Image: name] (URL)``, and reported as
degraded (``inline_image_unreachable``), like Qase's migrator does. An image extract could fetch
with the API credentials (served by the Zephyr API host itself) was downloaded as an attachment of
the same entity: its reference names the attached file instead, and nothing is degraded.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from ztoq.mapping.base import PlannedEntity, Problem
from ztoq.sources.records import inline_image_id

_IMG = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*(['\"])(.*?)\1[^>]*>", re.IGNORECASE | re.DOTALL)
_ALT = re.compile(r"\balt\s*=\s*(['\"])(.*?)\1", re.IGNORECASE | re.DOTALL)

#: Planned entity type -> the attachment owner kind whose inline images it carries.
OWNER_OF = {
    "test_case": "test_case",
    "release": "test_plan",
    "test_cycle": "test_cycle",
    "test_log": "test_execution",
}


def image_name(url: str) -> str:
    """A file name for an image URL: its last path segment, decoded (``image`` when it has none)."""
    segment = unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2])
    return segment or "image"


def rewrite_images(text: str, attached: Mapping[str, str]) -> tuple[str, list[tuple[str, str]]]:
    """``text`` with each ``<img>`` replaced by a visible reference, and the unreachable ones.

    Args:
        text: HTML.
        attached: inline image id (:func:`~ztoq.sources.records.inline_image_id`) -> the name of
            the file attached to the same entity for it.

    Returns:
        The new text, and ``(name, url)`` of every image that could not be migrated.
    """
    lost: list[tuple[str, str]] = []

    def replace(match: re.Match[str]) -> str:
        url = html.unescape(match.group(2))
        alt = _ALT.search(match.group(0))
        ident = inline_image_id(url)
        name = attached.get(ident) or (
            html.unescape(alt.group(2)) if alt and alt.group(2) else image_name(url)
        )
        if ident in attached:
            return f"[Image: {html.escape(name)} (attached)]"
        lost.append((name, url))
        safe = html.escape(url, quote=True)
        return f'[Image: {html.escape(name)}] (<a href="{safe}">{html.escape(url)}</a>)'

    return _IMG.sub(replace, text), lost


def _rewrite(value: Any, attached: Mapping[str, str], lost: list[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        if "<img" not in value.lower():
            return value
        text, found = rewrite_images(value, attached)
        lost.extend(found)
        return text
    if isinstance(value, dict):
        return {k: _rewrite(v, attached, lost) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, attached, lost) for v in value]
    return value


def rewrite_planned_images(planned: PlannedEntity, attached: Mapping[str, str]) -> None:
    """Replace the inline images of a planned entity's texts; report the ones that were not migrated."""
    if planned.body is None:
        return
    lost: list[tuple[str, str]] = []
    planned.body = _rewrite(planned.body, attached, lost)
    for name, url in dict.fromkeys(lost):
        planned.problems.append(
            Problem(
                "degraded",
                "inline_image_unreachable",
                f"The image {name!r} embedded in the text of {planned.source_key} is hosted where the "
                "API credentials cannot fetch it (SmartBear's CDN, behind a browser session); it is kept "
                "as a visible reference [Image: name] with its URL.",
                detail={"url": url},
            )
        )
