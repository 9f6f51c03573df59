"""OpenAPI document extras: request bodies of routes that parse their own JSON (ingest), and
the permission each route needs, taken from its declared activity."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from sophrosyne.api.deps import Permit, api_routes
from sophrosyne.domains.alerts.schemas import AlertmanagerPayload, GenericAlert

#: Models referenced by ``json_body`` but not by any FastAPI body parameter.
_EXTRA_MODELS: tuple[type[BaseModel], ...] = (AlertmanagerPayload, GenericAlert)
_REF = "#/components/schemas/{model}"


def ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def json_body(schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    """``openapi_extra`` documenting a JSON request body a route reads itself."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": schema}},
        }
    }


def _document_permissions(app: FastAPI, doc: dict[str, Any]) -> None:
    for route in api_routes(app):
        declared = route.declared
        if declared is None:
            continue
        if isinstance(declared, Permit):
            note = f"**Permission**: `{declared.permission.value}` (`{declared.activity}`)."
        else:
            note = "**Permission**: none (open to anyone)."
        for method in route.methods:
            operation = doc.get("paths", {}).get(route.path, {}).get(method.lower())
            if operation is not None:
                operation["description"] = f"{operation.get('description', '')}\n\n{note}"


def install(app: FastAPI) -> None:
    """Add the extra models to ``components.schemas`` of FastAPI's own (cached) document, and
    each route's permission to its description."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        doc = generate()
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        if _EXTRA_MODELS[0].__name__ not in schemas:
            _document_permissions(app, doc)
            for model in _EXTRA_MODELS:
                schema = model.model_json_schema(ref_template=_REF)
                for name, sub in schema.pop("$defs", {}).items():
                    schemas.setdefault(name, sub)
                schemas.setdefault(model.__name__, schema)
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
