"""Inline SVG charts for the HTML report: no scripts, no external resources, every label escaped.

Charts are plain ``<svg>`` elements meant to be inlined into HTML (no XML prolog, no ``xmlns``,
no ``href``, no ``url(...)``): a horizontal bar chart of source versus target per entity type, and
a donut of problem severities. Both carry a ``<title>`` and ``role="img"`` for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from ztoq.report.formatting import fmt_int, shorten

#: Colours per severity (and for the bars); readable in colour and in greyscale print.
SEVERITY_COLOURS: dict[str, str] = {
    "failed": "#a61e1e",
    "missing": "#e03131",
    "mismatch": "#d9480f",
    "degraded": "#f59f00",
    "skipped": "#868e96",
}
UNKNOWN_COLOUR = "#7048e8"
SOURCE_COLOUR = "#3b5bdb"
TARGET_COLOUR = "#2b8a3e"
SHORT_COLOUR = "#e03131"


def _num(value: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def bar_chart(rows: Sequence[tuple[str, int, int | None, int]], *, width: int = 720) -> Markup:
    """Horizontal bars of Zephyr (source) versus qTest (target) counts per entity type.

    A target bar shorter than expected is drawn in red; an unknown target is drawn as "not counted".

    Args:
        rows: (entity_type, source, target or None, expected) per entity type.
        width: Total width in pixels.

    Returns:
        The ``<svg>`` markup, safe to inline.
    """
    label_w, value_w, bar_h, gap, top = 130, 80, 12, 14, 28
    plot_w = max(width - label_w - value_w, 50)
    height = top + len(rows) * (2 * bar_h + gap) + 4
    peak = max([1, *(max(src, tgt or 0) for _, src, tgt, _ in rows)])
    parts = [
        f'<svg class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="bar-title">',
        '<title id="bar-title">Zephyr source versus qTest target per entity type</title>',
        f'<rect x="{label_w}" y="6" width="10" height="10" fill="{SOURCE_COLOUR}"/>',
        f'<text x="{label_w + 14}" y="15" class="legend">Zephyr (source)</text>',
        f'<rect x="{label_w + 130}" y="6" width="10" height="10" fill="{TARGET_COLOUR}"/>',
        f'<text x="{label_w + 144}" y="15" class="legend">qTest (target)</text>',
        f'<rect x="{label_w + 250}" y="6" width="10" height="10" fill="{SHORT_COLOUR}"/>',
        f'<text x="{label_w + 264}" y="15" class="legend">qTest, fewer than expected</text>',
    ]
    for i, (label, source, target, expected) in enumerate(rows):
        y = top + i * (2 * bar_h + gap)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + bar_h + 4}" text-anchor="end" class="label">'
            f"<title>{escape(label)}</title>{escape(shorten(label, 18))}</text>"
        )
        for j, (value, colour) in enumerate(
            (
                (source, SOURCE_COLOUR),
                (target, SHORT_COLOUR if target is not None and target < expected else TARGET_COLOUR),
            )
        ):
            by = y + j * bar_h
            if value is None:
                parts.append(f'<text x="{label_w + 4}" y="{by + bar_h - 2}" class="value">not counted</text>')
                continue
            w = plot_w * value / peak
            parts.append(
                f'<rect x="{label_w}" y="{by}" width="{_num(max(w, 1 if value else 0))}" '
                f'height="{bar_h - 1}" fill="{colour}"/>'
            )
            parts.append(
                f'<text x="{_num(label_w + w + 4)}" y="{by + bar_h - 2}" class="value">'
                f"{fmt_int(value)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def donut(slices: Sequence[tuple[str, int]], *, size: int = 200, caption: str = "problems") -> Markup:
    """A donut of counts per severity, with the total in the middle and a legend on the right.

    Args:
        slices: (severity, count) pairs, in the order to draw.
        size: Diameter in pixels.
        caption: The word under the total.

    Returns:
        The ``<svg>`` markup, safe to inline.
    """
    total = sum(n for _, n in slices if n > 0)
    radius, stroke = size / 2 - 16, 28
    centre = size / 2
    circumference = 2 * math.pi * radius
    legend_x = size + 16
    height = max(size, 24 + 22 * len(slices))
    parts = [
        f'<svg class="chart" role="img" width="{size + 240}" height="{height}" '
        f'viewBox="0 0 {size + 240} {height}" aria-labelledby="donut-title">',
        f'<title id="donut-title">{escape(caption.capitalize())} by severity</title>',
        f'<circle cx="{_num(centre)}" cy="{_num(centre)}" r="{_num(radius)}" fill="none" '
        f'stroke="#dee2e6" stroke-width="{stroke}"/>',
    ]
    offset = 0.0
    for i, (severity, count) in enumerate(slices):
        colour = SEVERITY_COLOURS.get(severity, UNKNOWN_COLOUR)
        if total and count > 0:
            length = circumference * count / total
            parts.append(
                f'<circle cx="{_num(centre)}" cy="{_num(centre)}" r="{_num(radius)}" fill="none" '
                f'stroke="{colour}" stroke-width="{stroke}" '
                f'stroke-dasharray="{_num(length)} {_num(circumference - length)}" '
                f'stroke-dashoffset="{_num(-offset)}" transform="rotate(-90 {_num(centre)} {_num(centre)})"/>'
            )
            offset += length
        ly = 20 + i * 22
        parts.append(f'<rect x="{legend_x}" y="{ly - 10}" width="12" height="12" fill="{colour}"/>')
        parts.append(
            f'<text x="{legend_x + 18}" y="{ly}" class="legend">{escape(severity)}: {fmt_int(count)}</text>'
        )
    parts.append(
        f'<text x="{_num(centre)}" y="{_num(centre)}" text-anchor="middle" class="total">'
        f"{fmt_int(total)}</text>"
    )
    parts.append(
        f'<text x="{_num(centre)}" y="{_num(centre + 18)}" text-anchor="middle" class="label">'
        f"{escape(caption)}</text>"
    )
    parts.append("</svg>")
    return Markup("".join(parts))
