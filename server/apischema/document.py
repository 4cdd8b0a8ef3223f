"""``app.openapi()``: FastAPI's draft, refined with the registries and the settings."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from server.apischema import rules
from server.apischema.responses import (
    BAD_BODY,
    ERROR,
    JSON_BODIES,
    UNPROCESSABLE,
    JsonSchema,
)
from server.optim.registry import OPTIMIZERS
from server.problems.surfaces import SURFACES
from server.settings import Settings

SETTINGS_MAXIMUM = "x-settings-maximum"
"""Put ``{"x-settings-maximum": "max_grid"}`` in a field's schema extra to bound it by a setting."""

SURFACE_GRID = "/api/surfaces/{name}/grid"
_METHODS = ("get", "put", "post", "delete", "patch", "options", "head")


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` (and so ``/openapi.json`` and ``/docs``) serve the refined document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            draft = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = refine(draft, app.state.settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def refine(doc: dict[str, Any], settings: Settings) -> dict[str, Any]:
    components = doc.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    for schema in components.values():
        refine_body(schema)
    components["Error"] = ERROR
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            if method in _METHODS:
                refine_operation(method, path, operation)
    if SURFACE_GRID in doc.get("paths", {}):
        split_surface_grid(doc["paths"])
    split_by_optimizer(doc["paths"], components)
    fill_limits(doc, settings)
    return doc


def refine_body(schema: JsonSchema) -> None:
    """Registry-backed fields of a request model, recognised by their project-wide names."""
    props: dict[str, JsonSchema] = schema.get("properties", {})
    checks: list[JsonSchema] = []
    if "surface" in props and "expression" in props:
        props["surface"] = {
            "anyOf": [{"enum": list(SURFACES)}, {"type": "null"}],
            "default": None,
            "description": "A surface of `GET /api/surfaces` (or give `expression`).",
        }
        props["expression"] = {
            "anyOf": [rules.formula(), {"type": "null"}],
            "default": None,
            "description": "A formula in x and y (or give `surface`).",
        }
        params_key = next((k for k in ("surface_params", "params") if k in props), "params")
        checks.append(rules.problem_variants(params_key))
    elif props.get("expression", {}).get("type") == "string":
        props["expression"] = rules.formula()
    names = None
    if "network" in props and "surface" not in props:
        if props["network"].get("x-gradscape-network") != "race":  # the backprop view's MLP
            props["network"] = {
                **rules.backprop_network(),
                "default": props["network"].get("default"),
            }
        names = rules.first_order()
    if "optimizer" in props:
        default = props["optimizer"].get("default")
        props["optimizer"] = {
            "enum": names or list(OPTIMIZERS),
            "description": "An optimizer of `GET /api/optimizers`.",
            **({"default": default} if default is not None else {}),
        }
        if "hyper" in props:
            checks.append(rules.optimizer_variants(default, names))
    if "optimizers" in props:
        props["optimizers"] = {**props["optimizers"], **rules.optimizer_list()}
        if "hyper" in props:
            props["hyper"] = {**props["hyper"], **rules.hyper_per_optimizer()}
    if "schedule" in props:
        props["schedule"] = rules.schedule()
    if "regression" in props:
        props["regression"] = {**rules.regression(), "default": {}}
    if checks:
        schema.setdefault("allOf", []).extend(checks)


PATH_NAMES: dict[str, list[str]] = {
    "/api/optimizers/{name}": list(OPTIMIZERS),
    "/api/surfaces/{name}": list(SURFACES),
}
"""A ``{name}`` under these prefixes is a name of that registry."""


def refine_operation(method: str, path: str, operation: dict[str, Any]) -> None:
    for prefix, names in PATH_NAMES.items():
        if path.startswith(prefix):
            for param in operation.get("parameters", []):
                if param["in"] == "path" and param["name"] == "name":
                    param["schema"] = {"type": "string", "enum": names}
    responses: dict[str, Any] = operation.setdefault("responses", {})
    takes_input = bool(operation.get("parameters")) or "requestBody" in operation
    if takes_input or "422" in responses:
        responses["422"] = UNPROCESSABLE
    if "requestBody" in operation:
        responses["400"] = BAD_BODY
    body = JSON_BODIES.get((method, path))
    if body is not None:
        responses["200"]["content"] = {"application/json": {"schema": body}}


def split_surface_grid(paths: dict[str, Any]) -> None:
    """One operation per surface with parameters (each with its own query parameters), and the
    templated path for the others: OpenAPI cannot tie query parameters to a path value."""
    operation = paths[SURFACE_GRID]["get"]
    template = copy.deepcopy(operation)
    for param in operation["parameters"]:
        if param["name"] == "name":
            param["schema"] = {"type": "string", "enum": rules.plain_surfaces()}
            param["description"] = (
                "A surface without parameters (the others have paths of their own)."
            )
    for name, spec in SURFACES.items():
        if not spec.params:
            continue
        own = copy.deepcopy(template)
        own["operationId"] = f"{template['operationId']}_{name}"
        own["summary"] = f"Surface grid: {spec.title}"
        own["parameters"] = [p for p in own["parameters"] if p["name"] != "name"] + [
            {
                "name": p.name,
                "in": "query",
                "required": False,
                "schema": rules.surface_param(p),
                "description": p.doc,
            }
            for p in spec.params
        ]
        paths[f"/api/surfaces/{name}/grid"] = {"get": own}


def split_by_optimizer(paths: dict[str, Any], components: dict[str, JsonSchema]) -> None:
    """An operation under ``/api/optimizers/{name}/`` whose body has ``hyper`` but no
    ``optimizer`` becomes one operation per optimizer, each body with that one's ``hyper``."""
    prefix = "/api/optimizers/{name}/"
    for path in [p for p in paths if p.startswith(prefix)]:
        item = paths[path]
        for method, operation in list(item.items()):
            ref = (
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
                .get("$ref", "")
            )
            body = components.get(ref.rsplit("/", 1)[-1]) if ref else None
            props = body.get("properties", {}) if body else {}
            if "hyper" not in props or "optimizer" in props:
                continue
            assert body is not None
            del item[method]
            for name, opt in OPTIMIZERS.items():
                own = copy.deepcopy(operation)
                own["operationId"] = f"{operation['operationId']}_{name}"
                own["parameters"] = [p for p in own.get("parameters", []) if p["name"] != "name"]
                schema = copy.deepcopy(body)
                schema["properties"]["hyper"] = rules.hyper_object(opt.spec)
                schema["title"] = f"{body.get('title', 'Body')} ({opt.spec.title})"
                own["requestBody"]["content"]["application/json"]["schema"] = schema
                paths.setdefault(path.replace("{name}", name), {})[method] = own
        if not item:
            del paths[path]


def _dicts(node: object) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _dicts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _dicts(value)


def fill_limits(doc: dict[str, Any], settings: Settings) -> None:
    """``maximum`` from the settings wherever a schema names one with ``x-settings-maximum``."""
    for node in _dicts(doc):
        name = node.get(SETTINGS_MAXIMUM)
        if isinstance(name, str):
            node["maximum"] = getattr(settings, name)
