"""The API's errors: one exception answered as {"error": "..."}, and JSON for unknown paths and methods."""

from __future__ import annotations

from flask import current_app, jsonify, request
from werkzeug.exceptions import MethodNotAllowed, NotFound

from hotline.api import PREFIX, blueprint

OTHER_METHODS = ["POST", "PUT", "PATCH", "DELETE"]


class ApiError(Exception):
    """Refuse an API request with ``status`` (400, 401, 403, 404, 405) and a plain message."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@blueprint.errorhandler(ApiError)
def _api_error(error: ApiError):
    response = jsonify({"error": error.message})
    response.status_code = error.status
    response.headers.update(error.headers)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="hotline"'
    return response


# Every other path and method under the prefix lands here rather than outside the blueprint, so it is
# answered in JSON and is not taken for a console form by the CSRF check.
@blueprint.route("/", defaults={"rest": ""}, methods=["GET", *OTHER_METHODS])
@blueprint.route("/<path:rest>", methods=["GET", *OTHER_METHODS])
def fallback(rest: str):
    try:
        rule, _values = current_app.url_map.bind("").match(f"{PREFIX}/{rest}", method="GET", return_rule=True)
    except (NotFound, MethodNotAllowed):
        rule = None
    if rule is None or rule.endpoint == "api.fallback":
        raise ApiError(404, "no such path in this API: see /api/v1/openapi.json")
    raise ApiError(405, f"{request.method} is not allowed here: the API is read-only", {"Allow": "GET, HEAD"})
