"""Pure transform functions: a Zephyr record + lookup tables + mapping config -> a planned qTest payload.

Nothing here calls an API or the database. Planned payloads refer to other migrated entities by
their *source* keys (``ref("module", "123")``); the load phase resolves them to qTest ids through
the mapping table, so transform output never depends on what has been loaded yet.
"""

from ztoq.mapping.base import Planned, Problem, find_refs, ref, resolve_refs

__all__ = ["Planned", "Problem", "find_refs", "ref", "resolve_refs"]
