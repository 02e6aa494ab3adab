"""Rules every entity mapping shares: names, options, owners, Jira and web links, descriptions."""

from __future__ import annotations

from collections.abc import Mapping

from ztoq.config import ZtoqConfig
from ztoq.mapping.fields import Kind, field_kind
from ztoq.mapping.lookups import SourceLookups, TargetFields, UserResolver
from ztoq.mapping.properties import PropertySet
from ztoq.mapping.source_index import OptionKey
from ztoq.mapping.text import join_html, link_html, source_key_marker, text_to_html, truncate_name
from ztoq.sources.records import IssueLink, Links, Option, Ref


def new_properties(
    object_type: str, lookups: SourceLookups, fields: TargetFields, config: ZtoqConfig
) -> PropertySet:
    """An empty :class:`PropertySet` for one entity of ``object_type``."""
    return PropertySet(object_type, fields, UserResolver.from_config(config, fields), lookups)


def entity_name(name: str | None, key: str, what: str, props: PropertySet) -> str:
    """The qTest name of an entity: never blank, never longer than qTest takes.

    A blank name becomes "(unnamed <key>)"; a long one is truncated. Both are degraded (the name
    changed), and a truncated name is kept whole in the "Zephyr fields" block.
    """
    name = name or ""
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
            severity="degraded",
        )
    return short


def option_name(table: Mapping[OptionKey, Option], ref: Ref | None, what: str) -> str | None:
    """The name of a status/priority reference; "<what> <id>" when the id is unknown; None without one.

    A source that names its options (Zephyr Scale Server: ``Ref(name="Approved")``) gives the name
    itself, whether or not the lookup table lists it.
    """
    if ref is None:
        return None
    if ref.name:
        return ref.name
    if ref.id is None:
        return None
    record = table.get(ref.id)
    name = None if record is None else record.name
    return name if name else f"{what} {ref.id}"


def reference_name(reference: Ref, names: Mapping[int, str], what: str) -> str:
    """The name of a Jira component or version reference: its own, else the known name of its id,
    else "<what> <id>"."""
    if reference.name or reference.id is None:
        return reference.name or ""
    return names.get(reference.id, f"{what} {reference.id}")


def map_owner(props: PropertySet, account: str | None, label: str) -> None:
    """A Jira user (its account id) into the user or text field ``label``, else the block."""
    if not account:
        return
    target = props.field(label)
    shown = props.source.user_label(account)
    if target is not None and field_kind(target) is Kind.USER:
        props.map_value(label, account, shown=shown)
    else:
        props.map_value(label, shown)


def issue_key(issue: IssueLink, lookups: SourceLookups) -> str | None:
    """The Jira key of an issue link, from the link itself or the extractor's lookup."""
    if issue.key:
        return issue.key
    return None if issue.issue_id is None else lookups.issue_keys.get(issue.issue_id)


def map_links(links: Links, lookups: SourceLookups, props: PropertySet, *, requirements: bool) -> list[str]:
    """Record an entity's Jira issue and web links; return the keys to link as qTest requirements.

    With ``requirements`` (test cases), COVERAGE links to issues with a known key become
    requirement links for the load phase; every other issue link and every web link is kept in
    the "Zephyr fields" block.
    """
    requirement_keys: list[str] = []
    issue_lines: list[str] = []
    for issue in links.issues:
        key = issue_key(issue, lookups)
        if requirements and key and issue.covers:
            if key not in requirement_keys:
                requirement_keys.append(key)
            continue
        label = key or f"issue {issue.issue_id}"
        line = f"{label} ({issue.type})" if issue.type else label
        issue_lines.append(link_html(issue.target, line) if issue.target else line)
    if issue_lines:
        props.keep_in_text(
            "Jira issue links",
            join_html(*issue_lines),
            "field_in_description",
            "Jira issue links other than coverage of a known issue have no qTest equivalent; "
            "they are kept in text.",
        )
    web_lines = [
        link_html(link.url, text_to_html(link.description or "") or None) for link in links.web_links
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
