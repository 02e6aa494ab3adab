"""Images embedded in rich text: a visible reference, degraded, unless the file was attached."""

from __future__ import annotations

from ztoq.mapping.base import PlannedEntity
from ztoq.mapping.inline_images import image_name, rewrite_images, rewrite_planned_images
from ztoq.sources.records import embedded_image_urls, inline_image_id

CDN = "https://cdn.zephyr.example/att/123/sc%20reen.png?token=x"


def test_an_unreachable_image_becomes_a_visible_reference_with_its_url() -> None:
    text, lost = rewrite_images(f'<p>Look <img src="{CDN}" width="10"> here</p>', {})
    assert "<img" not in text
    assert "[Image: sc reen.png]" in text
    assert 'href="https://cdn.zephyr.example/att/123/sc%20reen.png?token=x"' in text
    assert lost == [("sc reen.png", CDN)]


def test_the_alt_text_names_the_image_when_it_has_one() -> None:
    text, _ = rewrite_images(f"<img alt='Login page' src='{CDN}'/>", {})
    assert "[Image: Login page]" in text


def test_an_attached_image_names_the_attached_file_and_is_not_degraded() -> None:
    text, lost = rewrite_images(f'<img src="{CDN}">', {inline_image_id(CDN): "screen.png"})
    assert text == "[Image: screen.png (attached)]"
    assert lost == []


def test_a_planned_entity_gets_one_problem_per_lost_image_anywhere_in_its_body() -> None:
    planned = PlannedEntity(
        "test_case",
        "P-T1",
        {"description": f'<img src="{CDN}">', "test_steps": [{"description": f'<img src="{CDN}">'}]},
    )
    rewrite_planned_images(planned, {})
    assert "<img" not in str(planned.body)
    assert [p.code for p in planned.problems] == ["inline_image_unreachable"]
    assert planned.problems[0].detail == {"url": CDN}


def test_urls_and_names_are_read_from_html() -> None:
    assert embedded_image_urls("<IMG SRC=\"a&amp;b.png\"> <img src='c.gif'>") == ["a&b.png", "c.gif"]
    assert embedded_image_urls("no images") == []
    assert image_name("https://h/x/") == "x"
    assert image_name("https://h/") == "image"
