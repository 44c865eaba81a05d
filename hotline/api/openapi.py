"""The OpenAPI 3.1 document of /api/v1, written from the declared operations and their pydantic models."""

from __future__ import annotations

from typing import Any

from flask import request
from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import models_json_schema

from hotline.api import PREFIX, schemas
from hotline.api.operations import OPERATIONS, Operation, operation

REF_TEMPLATE = "#/components/schemas/{model}"
ERRORS = {"400": "A query parameter does not fit its schema.", "401": "No token, or a bad or revoked one.",
          "403": "The token's role may not do this (recorded as access.denied).",
          "404": "No such record, or no such path."}


class OpenApiDocument(BaseModel):
    """The document itself (free-form JSON)."""

    model_config = ConfigDict(extra="allow")
    openapi: str


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent or a value, never JSON null: drop the null branch pydantic adds."""
    options = schema.get("anyOf")
    if options:
        rest = [option for option in options if option.get("type") != "null"]
        if len(rest) == 1:
            merged = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
            return {**rest[0], **merged}
    return {key: value for key, value in schema.items() if key != "default" or value is not None}


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(by_alias=True, mode="validation")
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = _without_null(dict(prop))
        description = prop.pop("description", None)
        prop.pop("title", None)
        parameter = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _operation_object(op: Operation) -> dict[str, Any]:
    parameters = [{"name": name, "in": "path", "required": True, "schema": {k: v for k, v in schema.items()
                                                                            if k != "description"},
                   "description": schema.get("description", "")}
                  for name, schema in op.path_params.items()]
    if op.query is not None:
        parameters.extend(query_parameters(op.query))
    error = {"description": "", "content": {"application/json": {"schema": {"$ref": REF_TEMPLATE.format(
        model="ErrorBody")}}}}
    responses: dict[str, Any] = {"200": {"description": "OK", "content": {"application/json": {"schema": {
        "$ref": REF_TEMPLATE.format(model=op.response.__name__)}}}}}
    codes = ("400", "401", "403", "404") if op.roles is not None else ()
    for code in codes:
        responses[code] = {**error, "description": ERRORS[code]}
    described = op.description
    if op.roles is not None:
        described += f"\n\nRoles: {', '.join(op.roles)}."
    found: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary, "description": described,
                             "parameters": parameters, "responses": responses}
    if op.tag:
        found["tags"] = [op.tag]
    if op.roles is not None:
        found["security"] = [{"bearerAuth": []}]
    else:
        found["security"] = []
    return found


def build_document(server_url: str = PREFIX) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document: every declared operation and every model it answers with."""
    models = (*schemas.RESPONSE_MODELS, OpenApiDocument)
    _, definitions = models_json_schema([(model, "serialization") for model in models],
                                        by_alias=True, ref_template=REF_TEMPLATE)
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})["get"] = _operation_object(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Hotline API", "version": "1",
                 "description": "Cases, referrals, providers and anonymous statistics of the anti-trafficking "
                                "hotline. Send `Authorization: Bearer <token>`; an admin issues tokens "
                                "(console page API tokens, or `hotline users token --email`). Every error is "
                                "`{\"error\": \"...\"}`."},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"schemas": definitions.get("$defs", {}),
                       "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearerAuth": []}],
    }


@operation("/openapi.json", response=OpenApiDocument, roles=None, summary="This document")
def openapi_document(_query):
    """The OpenAPI 3.1 document of this API (no token needed: it holds no data)."""
    return build_document(request.script_root + PREFIX)
