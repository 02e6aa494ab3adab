"""The comparison of attachments (pure): each uploaded file is on its object, with its name and size.

Every planned attachment must be on the qTest object it was uploaded to, under the name ztoq
sent, with the size of the file in the cache; after a deep read (``--deep``) also with the same
SHA-256. What differs is listed side by side in the report, like a missing entity.
"""

from __future__ import annotations

from ztoq.pipeline.validate_types import ExpectedProject, QTestSnapshot, ValidationResult, Validator


def validate_attachments(
    expected: ExpectedProject, snapshot: QTestSnapshot, result: ValidationResult
) -> None:
    """Every planned attachment (of a batch: counts add up) is in qTest on its object, with its name,
    size (and content)."""
    counts = result.count("attachment")
    counts.source = expected.source_count("attachment")
    planned = expected.planned_of("attachment")
    counts.planned += len(planned)
    for entity in planned:
        key, body = entity.source_key, entity.body or {}
        name = body.get("name")
        target = expected.target_id("attachment", key)
        place = expected.attachment_places.get(key)
        held = snapshot.attachments.get(place or "", ())
        found = next((a for a in held if a.id == target), None)
        if found is None:
            where = f" on {place}" if place else ""
            result.not_in_qtest("attachment", key, f"The attachment {name!r} ({key}) is not in qTest{where}.")
            continue
        counts.target += 1
        checks = (
            ("name", "attachment_name_differs", name, found.name),
            ("size", "attachment_size_differs", body.get("size"), found.size),
            ("sha256", "attachment_content_differs", body.get("sha256"), found.sha256),
        )
        for field_name, code, wanted, actual in checks:
            if actual is None or wanted == actual:
                continue
            result.mismatch(
                "attachment",
                key,
                code,
                f"The attachment {name!r} ({key}) has another {field_name} in qTest.",
                field=field_name,
                expected=wanted,
                actual=actual,
            )
            counts.mismatched += 1
            break


#: The attachment validator.
ATTACHMENT_VALIDATORS: dict[str, Validator] = {"attachment": validate_attachments}
