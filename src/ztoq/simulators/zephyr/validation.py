"""Reading write-request bodies the way the API validates them, and resolving what they name.

Error statuses follow one rule, since the spec documents only ``default: Error`` for most write
operations: a malformed body, a missing required field, a value of the wrong type or pattern,
or a body that names something that does not exist (a status name, a folder id, a test case
key) answers 400; a path that names something that does not exist answers 404. Messages follow
the spec's examples ("projectKey must not be null", "Cannot access projects 'ProjectKey'",
"Provided project does not match the current project.").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ztoq.simulators.zephyr.pagination import ZephyrApiError, format_datetime, parse_datetime
from ztoq.simulators.zephyr.state import Entity, ZephyrState

# Patterns of the spec (anchored here: a key must be a whole key, not contain one).
PROJECT_KEY_RE = re.compile(r"^[A-Z][A-Z_0-9]+$")
CASE_KEY_RE = re.compile(r"^.+-T[0-9]+$")
ACCOUNT_ID_RE = re.compile(r"^[-:a-zA-Z0-9]{1,128}$")


def bad(message: str) -> ZephyrApiError:
    """A 400 answer."""
    return ZephyrApiError(400, message)


class Body:
    """Typed access to a JSON request body; JSON null counts as absent for optional fields."""

    def __init__(self, data: Any) -> None:
        if not isinstance(data, Mapping):
            raise bad("The request body must be a JSON object.")
        self.data: Mapping[str, Any] = data

    def has(self, name: str) -> bool:
        """True when the field is present and not null."""
        return self.data.get(name) is not None

    def raw(self, name: str) -> Any:
        """The value as sent (None when absent or null)."""
        return self.data.get(name)

    def _missing(self, name: str) -> ZephyrApiError:
        return bad(f"{name} must not be null")

    def text(
        self, name: str, *, required: bool = False, max_len: int | None = None, min_len: int = 0
    ) -> str | None:
        """A string field."""
        value = self.data.get(name)
        if value is None:
            if required:
                raise self._missing(name)
            return None
        if not isinstance(value, str):
            raise bad(f"{name} must be a string.")
        if len(value) < min_len:
            raise bad(f"{name} must have at least {min_len} character(s).")
        if max_len is not None and len(value) > max_len:
            raise bad(f"{name} must have at most {max_len} characters.")
        return value

    def name(self, field: str = "name", *, max_len: int | None = None) -> str:
        """A required entity name: the spec's EntityName pattern refuses empty and blank names."""
        value = self.text(field, required=True, max_len=max_len)
        assert value is not None
        if not value.strip():
            raise bad(f"The {field} field cannot be null or empty")
        return value

    def choice(self, name: str, choices: tuple[str, ...], *, required: bool = False) -> str | None:
        """A string field limited to the spec's valid values."""
        value = self.text(name, required=required)
        if value is not None and value not in choices:
            raise bad(f"{name} must be one of {', '.join(choices)}; got '{value}'.")
        return value

    def integer(self, name: str, *, minimum: int, required: bool = False) -> int | None:
        """An integer field (JSON booleans are not integers)."""
        value = self.data.get(name)
        if value is None:
            if required:
                raise self._missing(name)
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad(f"{name} must be an integer.")
        if value < minimum:
            raise bad(f"{name} must be greater than or equal to {minimum}.")
        return value

    def date_time(self, name: str) -> str | None:
        """A date-time field, normalised to the served ``yyyy-MM-dd'T'HH:mm:ss'Z'``."""
        value = self.text(name)
        if value is None:
            return None
        moment = parse_datetime(value, name)
        assert moment is not None
        return format_datetime(moment)

    def account(self, name: str) -> str | None:
        """An Atlassian account id (the spec's JiraUserAccountId pattern)."""
        value = self.text(name)
        if value is not None and not ACCOUNT_ID_RE.match(value):
            raise bad(f"{name} must be an Atlassian account ID.")
        return value

    def labels(self, name: str = "labels") -> list[str] | None:
        """A list of strings."""
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad(f"{name} must be a list of strings.")
        return list(value)

    def obj(self, name: str) -> dict[str, Any] | None:
        """An object field (custom fields, links)."""
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise bad(f"{name} must be an object.")
        return dict(value)

    def link_id(self, name: str, *, required: bool = False) -> int | None:
        """The id of a link object ``{"id": N, ...}`` given in an entity body (PUT)."""
        value = self.data.get(name)
        if value is None:
            if required:
                raise self._missing(name)
            return None
        if not isinstance(value, Mapping):
            raise bad(f"{name} must be an object with an id.")
        return Body(value).integer("id", minimum=1, required=True)

    def url(self, name: str, *, required: bool = False) -> str | None:
        """An absolute URL."""
        value = self.text(name, required=required)
        if value is not None:
            parts = urlsplit(value)
            if not parts.scheme or not parts.netloc:
                raise bad(f"{name} must be an absolute URL.")
        return value


# -- resolving names and ids given in bodies --------------------------------------------------------


def project_of(state: ZephyrState, body: Body) -> Entity:
    """The project a body's ``projectKey`` names; 400 when malformed or inaccessible."""
    key = body.text("projectKey", required=True)
    assert key is not None
    if not PROJECT_KEY_RE.match(key):
        raise bad(f"projectKey must match the pattern ([A-Z][A-Z_0-9]+); got '{key}'.")
    project = state.project_by_key(key)
    if project is None:
        raise bad(f"Cannot access projects '{key}'")
    return project


def same_project(entity: Entity, project: Entity) -> None:
    """400 (the spec's ProjectKeyMismatchError) when an entity lives in another project."""
    if (entity.get("project") or {}).get("id") != project["id"]:
        raise bad("Provided project does not match the current project.")


def owning_project(state: ZephyrState, entity: Entity) -> Entity:
    """The project a stored entity belongs to."""
    return state.projects[int((entity.get("project") or {})["id"])]


def status_named(state: ZephyrState, project: Entity, status_type: str, name: str | None) -> Entity:
    """A status by name, or the project's default of that type when no name is given."""
    if name is None:
        status = state.default_status(int(project["id"]), status_type)
        if status is None:
            raise bad(f"Project '{project['key']}' has no {status_type} status.")
        return status
    status = state.find_status(int(project["id"]), status_type, name)
    if status is None:
        raise bad(f"Status '{name}' does not exist for {status_type} in project '{project['key']}'.")
    return status


def status_by_id(state: ZephyrState, project: Entity, status_type: str, status_id: int) -> Entity:
    """A status by id, which must belong to the project and have the type; 400 otherwise."""
    status = state.statuses.get(status_id)
    if (
        status is None
        or (status.get("project") or {}).get("id") != project["id"]
        or state.status_type(status) not in (status_type, None)
    ):
        raise bad(f"Status '{status_id}' does not exist for {status_type} in project '{project['key']}'.")
    return status


def folder_for(state: ZephyrState, project: Entity, folder_type: str, folder_id: int) -> Entity:
    """A folder by id, which must belong to the project and hold entities of the type; 400 otherwise."""
    folder = state.folders.get(folder_id)
    if folder is None:
        raise bad(f"Folder '{folder_id}' does not exist or you do not have access to it.")
    if (folder.get("project") or {}).get("id") != project["id"] or folder.get("folderType") != folder_type:
        raise bad(f"Folder '{folder_id}' is not a {folder_type} folder of project '{project['key']}'.")
    return folder


def jira_user(state: ZephyrState, account_id: str) -> Entity:
    """A ``JiraUserLink``: the account id and its Jira REST URL."""
    return {"self": f"{state.jira_base_url}/rest/api/2/user?accountId={account_id}", "accountId": account_id}


def jira_link(state: ZephyrState, kind: str, ident: int) -> Entity:
    """A Jira resource link (component, version): ``{id, self: https://<site>/rest/api/2/<kind>/<id>}``."""
    return {"id": ident, "self": f"{state.jira_base_url}/rest/api/2/{kind}/{ident}"}


def custom_fields(body: Body) -> dict[str, Any]:
    """The ``customFields`` object as sent (values are typed by field: string, list, number, bool)."""
    return body.obj("customFields") or {}
