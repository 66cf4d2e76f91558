"""Request paths cleaned as Pebble's router cleans them: a path with an
empty segment (`//v1/x`), a `.` or a `..` is answered 301 with `Location`
set to the cleaned path (and the same query), empty, before any route or
access check. The cleaning is Go's `path.Clean` on the decoded path, keeping
a trailing slash, and the Location is escaped as Go escapes a URL path.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from aiohttp import web

# What Go leaves unescaped in a URL path besides letters, digits and "-_.~".
_PATH_SAFE = "/$&+,:;=@"


def clean_path(path: str) -> str:
    """Go's path.Clean of a rooted `path`, with its trailing slash kept (as
    gorilla/mux cleans a request's path)."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    cleaned = "/" + "/".join(segments)
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned


def clean_at_a_glance(raw_path: str) -> bool:
    """Whether a raw path is clean at a glance: rooted, nothing escaped, no
    empty segment and no segment starting with a dot (so no `.` or `..`)."""
    return raw_path[:1] == "/" and "%" not in raw_path and "//" not in raw_path and "/." not in raw_path


def unclean_path_redirect(request: web.Request) -> web.Response | None:
    """The 301 to `request`'s cleaned path, or None when its path is clean."""
    raw_path = request.rel_url.raw_path
    if clean_at_a_glance(raw_path):
        return None
    path = unquote(raw_path, errors="surrogateescape")
    cleaned = clean_path(path)
    if cleaned == path or request.method == "CONNECT":
        return None
    location = quote(cleaned, safe=_PATH_SAFE, errors="surrogateescape")
    query = request.rel_url.raw_query_string
    response = web.Response(status=301)
    response.headers["Location"] = location + ("?" + query if query else "")
    return response
