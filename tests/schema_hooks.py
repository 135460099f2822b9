"""Schemathesis hooks for tests/test_schema_fuzz.py (loaded with SCHEMATHESIS_HOOKS).

`valid_data_accepted` is schemathesis' positive_data_acceptance check, except for refusals about
content that no JSON schema can describe: a schema-valid request may still carry a blank drawing,
bytes that are not an image, or a model name that does not exist, and the server rightly refuses
those with the error codes below. Any other refusal of a schema-valid request (invalid_request,
invalid_input_kind, invalid_pixels, ...) means the schema promises what the server does not take:
fix the schema (app/schemas.py) or the handler. A new endpoint whose refusal is of that content
kind adds its code here.
"""

from typing import Any

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

CONTENT_REFUSALS = frozenset(
    {
        "empty_input",  # no ink: a blank PNG, empty strokes, zero pixels
        "invalid_image",  # a string or file that does not decode as an image
        "unsupported_image_format",  # an image in a format the server does not read
        "image_too_large",  # too many pixels, a decompression bomb
        "too_many_points",  # more than 10,000 points over all strokes
        "unknown_model",  # a model name that is not served
        "too_many_digits",  # /predict/number: strokes that split into more than 12 digits
    }
)


def error_code(response: Any) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def is_v2_tensor_refusal(response: Any, case: Any) -> bool:
    """A V2 infer refusal in the protocol's own shape ({"error": "..."}, no code): a tensor whose
    data does not fill its shape, or a shape the model does not take, is content no JSON schema
    can tie to its shape."""
    path = case.operation.path
    if not (path.startswith("/v2/") and path.endswith("/infer")) or response.status_code != 400:
        return False
    try:
        return isinstance(response.json()["error"], str)
    except (ValueError, KeyError, TypeError):
        return False


@schemathesis.check
def valid_data_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schema-valid data gets a 2xx, or a refusal about its content (CONTENT_REFUSALS)."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if error_code(response) in CONTENT_REFUSALS or is_v2_tensor_refusal(response, case):
            return None
        raise
