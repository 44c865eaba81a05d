"""Declaring an API operation once: its route, roles, query and response models, for Flask and OpenAPI alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import current_app, g, request
from pydantic import BaseModel, ValidationError

from hotline.api import blueprint
from hotline.api.errors import ApiError
from hotline.api.tokens import user_for_token
from hotline.audit import record_event
from hotline.db import get_session
from hotline.models import User


@dataclass(frozen=True)
class Operation:
    """One GET endpoint as the OpenAPI document describes it."""

    path: str  # OpenAPI form, e.g. /cases/{reference}
    operation_id: str
    summary: str
    description: str
    roles: tuple[str, ...] | None  # None: no token needed
    response: type[BaseModel]
    query: type[BaseModel] | None = None
    path_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    tag: str = ""


OPERATIONS: list[Operation] = []


def api_user() -> User:
    return g.api_user


def authenticate() -> User:
    """The user of the request's bearer token; 401 when it is missing, malformed, unknown or deactivated."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise ApiError(401, "missing bearer token: send Authorization: Bearer <token>")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "the Authorization header must be: Bearer <token>")
    user = user_for_token(get_session(), token.strip())
    if user is None:
        raise ApiError(401, "invalid or revoked token")
    g.api_user = user
    return user


def deny(reason: str = "role") -> None:
    """Refuse with a 403 and an access.denied audit event (path and role only, like the console)."""
    user = g.get("api_user")
    db = get_session()
    db.rollback()
    record_event(db, "access.denied", actor="user" if user else "anonymous", user_id=user.id if user else None,
                 details={"path": request.path, "method": request.method, "role": user.role if user else None,
                          "reason": reason, "via": "api"})
    db.commit()
    raise ApiError(403, "your role does not allow this" if reason == "role" else f"not allowed: {reason}")


def parse_query(model: type[BaseModel]) -> BaseModel:
    """The query string read into ``model``; a 400 naming the parameter when a value does not fit."""
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "query"
        raise ApiError(400, f"{where}: {first['msg']}") from None


def operation(rule: str, *, response: type[BaseModel], roles: tuple[str, ...] | None, summary: str,
              description: str = "", query: type[BaseModel] | None = None,
              path_params: dict[str, dict[str, Any]] | None = None, tag: str = "") -> Callable:
    """Register a GET endpoint at ``rule`` (Flask syntax) and describe it for the OpenAPI document.

    The view is called as ``view(query, **path_values)`` after the token and role checks and returns a
    ``response`` model (or a plain dict for the document itself); the answer is its JSON.
    """
    openapi_path = rule
    for name in path_params or {}:
        openapi_path = openapi_path.replace(f"<int:{name}>", f"{{{name}}}").replace(f"<{name}>", f"{{{name}}}")

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def endpoint(**values: Any):
            if roles is not None:
                user = authenticate()
                if user.role not in roles:
                    deny("role")
            parsed = parse_query(query) if query is not None else None
            result = view(parsed, **values)
            body = result.model_dump(mode="json", by_alias=True) if isinstance(result, BaseModel) else result
            return current_app.json.response(body)

        blueprint.add_url_rule(rule, endpoint=view.__name__, view_func=endpoint, methods=["GET"])
        OPERATIONS.append(Operation(path=openapi_path, operation_id=view.__name__, summary=summary,
                                    description=description or (view.__doc__ or "").strip(), roles=roles,
                                    response=response, query=query, path_params=dict(path_params or {}),
                                    tag=tag))
        return endpoint

    return decorate
