"""OpenAPI post-processing: every operation documents the one error format and its status codes."""

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
                "required": ["path", "message"],
            },
        }
    },
    "required": ["errors"],
}
ERROR_CODES = {
    "400": "Invalid input: every problem with its path",
    "401": "Not authenticated, or an invalid or revoked token",
    "403": "The user's role (or the token's scope) does not allow this",
    "404": "No such object (or page)",
    "405": "Method not allowed",
    "406": "Not acceptable",
    "409": "Conflict (object in use, run in progress)",
    "415": "Unsupported media type",
    "429": "Too many requests for this token",
    "503": "Unavailable for now (the task broker is unreachable, or the request took too long): nothing was done",
}


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Errors"] = ERROR_SCHEMA
    for path in result.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            for code, description in ERROR_CODES.items():
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}},
                    },
                )
    return result
