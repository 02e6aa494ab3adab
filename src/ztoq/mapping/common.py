"""Rules every entity mapping shares: names, Jira and web links, descriptions with the source key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ztoq.config import ZtoqConfig
from ztoq.mapping.fields import Kind, display, field_kind
from ztoq.mapping.lookups import SourceLookups, TargetFields, UserResolver, link_id
from ztoq.mapping.properties import PropertySet
from ztoq.mapping.text import join_html, link_html, source_key_marker, text_to_html, truncate_name


def new_properties(
    object_type: str, lookups: SourceLookups, fields: TargetFields, config: ZtoqConfig
) -> PropertySet:
    """An empty :class:`PropertySet` for one entity of ``object_type``."""
    return PropertySet(object_type, fields, UserResolver.from_config(config, fields), lookups)


def entity_name(raw: Any, key: str, what: str, props: PropertySet) -> str:
    """The qTest name of an entity: never blank, never longer than qTest takes.

    A blank name becomes "(unnamed <key>)"; a long one is truncated. Both are degraded, and a
    truncated name is kept whole in the "Zephyr fields" block.
    """
    name = raw if isinstance(raw, str) else ""
    if not name.strip():
        props.problem(
            "degraded", "unnamed", f"Zephyr {what} {key} has no name; it is named '(unnamed {key})'.", "name"
        )
        return f"(unnamed {key})"
    short, cut = truncate_name(name)
    if cut:
        props.keep_in_text(
            "Name",
            name,
            "name_truncated",
            f"The name of Zephyr {what} {key} is longer than qTest accepts; it is truncated and "
            "the full name kept in text.",
        )
    return short


def option_name(table: Mapping[int, Mapping[str, Any]], link: Any, what: str) -> str | None:
    """The Zephyr name of a status/priority link; "<what> <id>" when the id is unknown; None without link."""
    record_id = link_id(link)
    if record_id is None:
        return None
    record = table.get(record_id)
    name = None if record is None else record.get("name")
    return name if isinstance(name, str) and name else f"{what} {record_id}"


def map_owner(props: PropertySet, owner: Any, label: str) -> None:
    """A Jira user (``{"accountId": ...}``) into the user or text field ``label``, else the block."""
    account = display(owner)
    if not account:
        return
    target = props.field(label)
    shown = props.source.user_label(account)
    if target is not None and field_kind(target) is Kind.USER:
        props.map_value(label, account, shown=shown)
    else:
        props.map_value(label, shown)


def issue_key(issue: Mapping[str, Any], lookups: SourceLookups) -> str | None:
    """The Jira key of a Zephyr issue link, from the link itself or the extractor's lookup."""
    for member in ("key", "issueKey"):
        value = issue.get(member)
        if isinstance(value, str) and value:
            return value
    issue_id = issue.get("issueId")
    return lookups.issue_keys.get(issue_id) if isinstance(issue_id, int) else None


def map_links(
    links: Mapping[str, Any] | None, lookups: SourceLookups, props: PropertySet, *, requirements: bool
) -> list[str]:
    """Record an entity's Jira issue and web links; return the keys to link as qTest requirements.

    With ``requirements`` (test cases), COVERAGE links to issues with a known key become
    requirement links for the load phase; every other issue link and every web link is kept in
    the "Zephyr fields" block.
    """
    links = links or {}
    requirement_keys: list[str] = []
    issue_lines: list[str] = []
    for issue in links.get("issues") or ():
        if not isinstance(issue, Mapping):
            continue
        key = issue_key(issue, lookups)
        kind = str(issue.get("type") or "")
        if requirements and key and kind.upper() == "COVERAGE":
            if key not in requirement_keys:
                requirement_keys.append(key)
            continue
        label = key or f"issue {issue.get('issueId')}"
        target = issue.get("target")
        line = f"{label} ({kind})" if kind else label
        issue_lines.append(link_html(target, line) if isinstance(target, str) and target else line)
    if issue_lines:
        props.keep_in_text(
            "Jira issue links",
            join_html(*issue_lines),
            "field_in_description",
            "Jira issue links other than coverage of a known issue have no qTest equivalent; "
            "they are kept in text.",
        )
    web_lines = [
        link_html(link["url"], text_to_html(str(link.get("description") or "")) or None)
        for link in links.get("webLinks") or ()
        if isinstance(link, Mapping) and isinstance(link.get("url"), str)
    ]
    if web_lines:
        props.keep_in_text(
            "Web links",
            join_html(*web_lines),
            "field_in_description",
            "Web links have no qTest equivalent; they are kept in text.",
        )
    return requirement_keys


def describe(body_html: str, props: PropertySet, source_key: str, config: ZtoqConfig) -> str:
    """A description: the Zephyr text, the "Zephyr fields" block, then the source key.

    The key goes into the ``qtest.source_key_field`` field when the target has one; otherwise it
    is the last line, exactly ``Zephyr key: <key>`` (see :func:`ztoq.mapping.text.find_source_key`).
    """
    in_field = props.set_source_key(config.qtest.source_key_field, source_key)
    return join_html(body_html, props.block.render(), "" if in_field else source_key_marker(source_key))
