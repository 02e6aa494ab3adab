"""Every exception ztoq raises on purpose, and the one place HTTP statuses become exceptions.

The tree::

    ZtoqError                      exit 1 unless said otherwise
    ├── ConfigError                exit 2: a bad config file, option or environment value
    ├── InputError                 exit 2: bad input given on the command line (file, key, URL)
    ├── StoreError                 the local database
    │   ├── StoreOutdated          exit 2: the database is at an older (or newer) schema revision
    │   ├── StoreUnusable          exit 2: not a database, another application's, or a bad URL
    │   └── StoreLocked            exit 2: another ztoq process holds the store
    ├── PhaseFailed                a pipeline phase failed; names the phase and how to recover
    ├── RunInterrupted             exit 130: SIGINT/SIGTERM, state saved
    └── ApiError                   an HTTP API answered with an error, or could not be reached
        │                          (exit 2 when the API never answered this run: bad URL or token)
        ├── RetriableApiError      worth retrying: 429, 5xx, network faults
        │   ├── RateLimited        429, carries Retry-After
        │   ├── ServerError        5xx
        │   └── NetworkError       connect/read failures, timeouts, dropped connections
        └── FatalApiError          retrying would not help: 4xx other than 429
            ├── BadRequest         400 and 422
            ├── AuthenticationFailed  401
            ├── PermissionDenied   403
            ├── NotFound           404
            ├── Conflict           409
            └── PayloadTooLarge    413: the body (an attachment) is over the server's limit

Messages never carry a token: URLs are reduced to method and path (no query, no userinfo).
"""

from __future__ import annotations

from urllib.parse import urlsplit


class ZtoqError(Exception):
    """Root of every error ztoq raises on purpose."""

    exit_code: int = 1


class ConfigError(ZtoqError):
    """The configuration (file, options or environment) is invalid."""

    exit_code = 2


class InputError(ZtoqError):
    """Input given to a command is invalid (a file, a key, a URL)."""

    exit_code = 2


class StoreError(ZtoqError):
    """The local migration database cannot be used."""


class StoreOutdated(StoreError):
    """The migration database is at another schema revision than this ztoq expects."""

    exit_code = 2


class StoreUnusable(StoreError):
    """The configured database is not one ztoq can use (not a database, another application's, bad URL)."""

    exit_code = 2


class StoreLocked(StoreError):
    """Another ztoq process is working on the same migration database."""

    exit_code = 2


class PhaseFailed(ZtoqError):
    """A pipeline phase failed; the message says which and how to resume."""

    def __init__(self, phase: str, cause: BaseException) -> None:
        self.phase = phase
        self.cause = cause
        # Bad input or configuration found inside a phase is still bad input (exit 2).
        self.exit_code = cause.exit_code if isinstance(cause, ZtoqError) else 1
        super().__init__(
            f"The {phase} phase failed: {cause} "
            f"Fix the cause, then run the same command again to resume where it stopped."
        )


class RunInterrupted(ZtoqError):
    """The run was interrupted by a signal; its state is saved."""

    exit_code = 130


class ApiError(ZtoqError):
    """An HTTP API answered with an error or could not be reached."""

    retriable: bool = False

    def __init__(
        self,
        message: str,
        *,
        api: str = "",
        status: int | None = None,
        method: str = "",
        url: str = "",
    ) -> None:
        self.api = api
        self.status = status
        self.method = method
        self.path = safe_path(url)
        super().__init__(message)


class RetriableApiError(ApiError):
    """A failure that may go away if the request is sent again later."""

    retriable = True


class RateLimited(RetriableApiError):
    """The API answered 429 Too Many Requests."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)  # type: ignore[arg-type]


class ServerError(RetriableApiError):
    """The API answered with a 5xx status."""


class NetworkError(RetriableApiError):
    """The API could not be reached, timed out, or dropped the connection."""


class FatalApiError(ApiError):
    """A 4xx answer (other than 429) that retrying will not change."""


class BadRequest(FatalApiError):
    """The API rejected the request content (400 or 422)."""


class AuthenticationFailed(FatalApiError):
    """The API rejected the credentials (401)."""

    exit_code = 2


class PermissionDenied(FatalApiError):
    """The credentials are valid but lack a permission (403)."""

    exit_code = 2


class NotFound(FatalApiError):
    """The API has no such resource (404)."""


class Conflict(FatalApiError):
    """The API refused the request because of a conflicting resource (409)."""


class PayloadTooLarge(FatalApiError):
    """The API refused a body larger than it accepts (413), e.g. an attachment over its size limit."""


_FATAL_BY_STATUS: dict[int, type[FatalApiError]] = {
    400: BadRequest,
    401: AuthenticationFailed,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: BadRequest,
}

_HINTS: dict[type[ApiError], str] = {
    AuthenticationFailed: "check the token (and that it belongs to this base URL)",
    PermissionDenied: "the token's user needs access to this project",
    NotFound: "check the base URL, project key/id and that the item still exists",
    PayloadTooLarge: "the body is larger than the server accepts",
    RateLimited: "the API quota is exhausted; ztoq waits and retries",
}


def safe_path(url: str) -> str:
    """Reduce a URL to scheme, host and path: no query string, no user info, so no token leaks."""
    if not url:
        return ""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}" if parts.scheme else parts.path


def is_retriable_status(status: int) -> bool:
    """True for statuses worth retrying: 429 and every 5xx."""
    return status == 429 or status >= 500


def error_for_status(
    api: str,
    status: int,
    method: str,
    url: str,
    detail: str = "",
    retry_after: float | None = None,
) -> ApiError:
    """Build the exception for an HTTP error answer. The only place statuses are classified."""
    where = f"{method} {safe_path(url)}"
    detail = " ".join(detail.split())[:300]
    text = f"{api} answered {status} to {where}" + (f": {detail}" if detail else "")
    kw: dict[str, object] = {"api": api, "status": status, "method": method, "url": url}
    if status == 429:
        return RateLimited(text + ".", retry_after=retry_after, **kw)
    if status >= 500:
        return ServerError(text + ".", **kw)  # type: ignore[arg-type]
    cls = _FATAL_BY_STATUS.get(status, FatalApiError)
    hint = _HINTS.get(cls)
    return cls(text + (f"; {hint}." if hint else "."), **kw)  # type: ignore[arg-type]


def network_error(api: str, method: str, url: str, exc: BaseException) -> NetworkError:
    """Wrap a transport failure (connect, read, timeout, dropped connection)."""
    kind = type(exc).__name__
    return NetworkError(
        f"{api} could not be reached for {method} {safe_path(url)} ({kind}); "
        f"check the base URL and the network.",
        api=api,
        method=method,
        url=url,
    )
