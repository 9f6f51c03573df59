"""OpenAPI document extras: request bodies of routes that parse their own JSON (ingest)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

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


def install(app: FastAPI) -> None:
    """Add the extra models to ``components.schemas`` of FastAPI's own (cached) document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        doc = generate()
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        if _EXTRA_MODELS[0].__name__ not in schemas:
            for model in _EXTRA_MODELS:
                schema = model.model_json_schema(ref_template=_REF)
                for name, sub in schema.pop("$defs", {}).items():
                    schemas.setdefault(name, sub)
                schemas.setdefault(model.__name__, schema)
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
