"""The documented routes, grouped: one entry per (path, HTTP method) with
the RPCs that share it, literal paths before templated ones so that
/users/list wins over /users/{email}."""

from __future__ import annotations

from shoal.descriptors import Method, all_methods


def grouped_routes(family: str = "") -> list[tuple[str, str, list[Method]]]:
    """(path, HTTP method, methods) for every routed RPC (of `family`, if given)."""
    routes: dict[tuple[str, str], list[Method]] = {}
    for method in all_methods():
        if method.http_method and (not family or method.family == family):
            routes.setdefault((method.http_path, method.http_method), []).append(method)
    ordered = sorted(routes.items(), key=lambda item: item[0][0].count("{"))
    return [(path, http_method, methods) for (path, http_method), methods in ordered]
