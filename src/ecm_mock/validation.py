"""The one place where requests and responses meet the contract (openapi-core).

:class:`ContractValidator` is built once per spec. Per request it checks parameters, content
type and body, and returns what the handlers read; per response it checks status, content
type and body. Errors come back as :class:`~ecm_mock.errors.ErrorItem` lists with JSON pointers.
"""

from __future__ import annotations

import ast
import copy
import functools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs
from flask import Request, Response
from jsonschema.exceptions import ValidationError
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.deserializing.media_types.util import json_loads, plain_loads
from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
from openapi_core.validation.request.exceptions import (
    MissingRequiredParameter,
    MissingRequiredRequestBody,
    ParameterValidationError,
    RequestBodyValidationError,
    SecurityValidationError,
)
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue
from openapi_schema_validator import OAS31Validator
from werkzeug.datastructures import ImmutableMultiDict

from .compiled import CompiledSpec
from .errors import JSON, ErrorItem
from .spec import Operation, Spec


def _as_is(value: Any) -> Any:
    return value


@dataclass
class ValidatedRequest:
    """What a handler reads: the checked body and the cast query parameters."""

    body: Any = None
    query: dict[str, Any] = field(default_factory=dict)
    path: dict[str, Any] = field(default_factory=dict)
    form: dict[str, Any] = field(default_factory=dict)  # multipart fields other than files
    files: dict[str, bytes] = field(default_factory=dict)  # multipart files, raw bytes
    media_type: str | None = None


@dataclass
class RequestCheck:
    request: ValidatedRequest
    errors: list[ErrorItem]
    status: int  # what to answer when errors is not empty (400 or 415)


class _Request(WerkzeugOpenAPIRequest):
    """The werkzeug adapter, seen as the operation's ``method`` (Flask routes a HEAD to the
    GET's view), empty query values dropped.

    ``?status=`` means "no filter", as in the vendor's URLs, not an empty enum value.
    """

    def __init__(self, request: Request, method: str) -> None:
        super().__init__(request)
        self._method = method.lower()
        self.parameters.query = ImmutableMultiDict(
            [(k, v) for k, v in request.args.items(multi=True) if v != ""]
        )

    @property
    def method(self) -> str:
        return self._method


class ContractValidator:
    """openapi-core, configured once for a spec."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._openapi = OpenAPI.from_dict(
            _without_allow_empty_value(spec.document),
            config=Config(
                spec_validator_cls=None,  # load_spec has validated the document already
                extra_media_type_deserializers={
                    "application/problem+json": json_loads,
                    # a CSV file part (encoded as text/csv): UTF-8 text, read as a string so
                    # that its schema's pattern applies, as to any text (see spec._text_files)
                    "text/csv": plain_loads,
                },
                extra_format_unmarshallers={"date-time": _as_is, "date": _as_is, "email": _as_is},
            ),
        )
        self._schemas = spec.document["components"]["schemas"]
        self._compiled = CompiledSpec(spec).operations
        self._has_body = {
            op_id: "requestBody" in spec.operation_document(op_id) for op_id in spec.operations
        }
        # openapi-core reads only the declared parts of a multipart body; undeclared ones are
        # checked here, against the same schema, when it forbids additional properties.
        self._multipart_parts = {}
        for op_id in spec.operations:
            body = spec.resolve(
                spec.operation_document(op_id).get("requestBody", {}), "requestBodies"
            )
            content = body.get("content", {})
            schema = content.get("multipart/form-data", {}).get("schema", {})
            schema = spec.resolve(schema)
            if schema.get("additionalProperties") is False:
                self._multipart_parts[op_id] = set(schema.get("properties", {}))

    # ------------------------------------------------------------------ requests
    def check_request(self, operation: Operation, request: Request) -> RequestCheck:
        has_body = self._has_body[operation.operation_id]
        if has_body and not _readable_content_type(request.content_type):
            message = f"the Content-Type header {request.content_type!r} cannot be read"
            item = ErrorItem("header", "/header/Content-Type", message)
            return RequestCheck(ValidatedRequest(media_type=request.mimetype or None), [item], 400)
        parsed = self._compiled[operation.operation_id].parse_request(
            request.mimetype,
            request.get_data(cache=True) if has_body and request.mimetype == JSON else b"",
            request.args,
            request.view_args or {},
            request.headers,
        )
        if parsed is not None:  # the compiled schemas are sure it is valid
            return RequestCheck(
                ValidatedRequest(
                    body=parsed.body,
                    query={} if has_body else parsed.query,
                    path={} if has_body else parsed.path,
                    media_type=request.mimetype or None,
                ),
                [],
                400,
            )
        return self._check_request_in_full(operation, request, has_body)

    def _check_request_in_full(
        self, operation: Operation, request: Request, has_body: bool
    ) -> RequestCheck:
        """openapi-core's check, which words the errors (and decides what the fast one can't)."""
        oreq = _Request(request, operation.method)
        validated = ValidatedRequest(media_type=request.mimetype or None)
        if (
            has_body
            and request.mimetype.startswith("multipart/")
            and not request.mimetype_params.get("boundary")
        ):
            message = f"{request.mimetype} needs a boundary parameter"
            return RequestCheck(
                validated, [ErrorItem("content-type", "/header/Content-Type", message)], 400
            )
        if has_body:
            # Validate without unmarshalling (unmarshalling a large body is slow); the body
            # handlers read is the parsed JSON itself.
            try:
                errors = list(self._openapi.iter_request_errors(oreq))
            except AssertionError:  # openapi-core asserts on some malformed multipart bodies
                message = f"the body cannot be parsed as {request.mimetype}"
                return RequestCheck(validated, [ErrorItem("body", "/body", message)], 400)
            if not errors:
                _read_body(request, validated)
                declared = self._multipart_parts.get(operation.operation_id)
                if declared is not None and validated.media_type == "multipart/form-data":
                    extra = sorted((set(validated.form) | set(validated.files)) - declared)
                    if extra:
                        return RequestCheck(
                            validated,
                            [
                                ErrorItem(
                                    "body",
                                    _pointer(["body", name]),
                                    f"unexpected property {name!r}",
                                )
                                for name in extra
                            ],
                            400,
                        )
        else:
            result = self._openapi.unmarshal_request(oreq)
            errors = list(result.errors)
            if not errors:
                validated.query = dict(result.parameters.query)
                validated.path = dict(result.parameters.path)
        items = list(request_error_items(errors, self._schemas))
        if request.mimetype == "multipart/form-data" and any(i.pointer == "/body" for i in items):
            items = self._json_parts_named(operation, request) or items
        status = 415 if any(i.location == "content-type" for i in items) else 400
        return RequestCheck(validated, items, status)

    def _json_parts_named(self, operation: Operation, request: Request) -> list[ErrorItem]:
        """The multipart parts the spec encodes as JSON that are not JSON.

        openapi-core reports such a part as an error of the whole body; this names it.
        """
        document = self.spec.operation_document(operation.operation_id)
        content = self.spec.resolve(document["requestBody"], "requestBodies")["content"]
        encoding = content.get("multipart/form-data", {}).get("encoding", {})
        items = []
        for name, how in encoding.items():
            if how.get("contentType") != JSON or name not in request.form:
                continue
            try:
                json.loads(request.form[name])
            except ValueError:
                items.append(
                    ErrorItem(
                        "body",
                        _pointer(["body", name]),
                        f"{request.form[name]!r} is not a JSON value",
                    )
                )
        return items

    # ----------------------------------------------------------------- responses
    def check_response(
        self, operation: Operation, request: Request, response: Response, body: Any = None
    ) -> list[ErrorItem]:
        """The response's errors; ``body`` is its JSON value, when the caller has it at hand."""
        compiled = self._compiled[operation.operation_id]
        if body is not None or not response.content_length:
            empty = body is None and not response.content_length
            if compiled.response_is_valid(response.status_code, response.mimetype, body, empty):
                return []
        oreq = _Request(request, operation.method)
        errors = self._openapi.iter_response_errors(oreq, WerkzeugOpenAPIResponse(response))
        return list(response_error_items(errors, self._schemas))

    # ------------------------------------------------------------------- schemas
    def schema_errors(self, schema_name: str, instance: Any, base: str = "") -> list[ErrorItem]:
        """Errors of ``instance`` against a component schema, pointers prefixed by ``base``.

        A compiled validator (jsonschema-rs) answers "valid" fast, which most rows of a bulk
        upload are; the errors of an invalid instance come from jsonschema, as everywhere else.
        """
        if self._fast_validator(schema_name).is_valid(instance):
            return []
        validator = self._component_validator(schema_name)
        parts = [p for p in base.split("/") if p]
        return [
            ErrorItem("body", _pointer(p), m)
            for p, m in _schema_error_paths(parts, validator.iter_errors(instance), self._schemas)
        ]

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one validator per spec, schemas are few
    def _fast_validator(self, schema_name: str) -> jsonschema_rs.Draft202012Validator:
        root = {
            "$ref": f"#/components/schemas/{schema_name}",
            "components": self.spec.document["components"],
        }
        return jsonschema_rs.Draft202012Validator(root, validate_formats=True)

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one validator per spec, schemas are few
    def _component_validator(self, schema_name: str) -> OAS31Validator:
        root = {
            "$ref": f"#/components/schemas/{schema_name}",
            "components": self.spec.document["components"],
        }
        return OAS31Validator(root, format_checker=OAS31Validator.FORMAT_CHECKER)


def _without_allow_empty_value(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of the document without the query parameters' ``allowEmptyValue``, for openapi-core.

    The empty values it allows never reach openapi-core (:class:`_Request` drops them, as the
    contract says), and openapi-core warns of the keyword at each request it reads it in.
    """
    copied = copy.deepcopy(document)
    _drop_allow_empty_value(copied)
    return copied


def _drop_allow_empty_value(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("in") == "query":
            node.pop("allowEmptyValue", None)
        for value in node.values():
            _drop_allow_empty_value(value)
    elif isinstance(node, list):
        for item in node:
            _drop_allow_empty_value(item)


def _readable_content_type(value: str | None) -> bool:
    """Does each parameter of the header have a value (``a/b; x=y``, not ``a/b;``)?"""
    _, *parameters = (value or "").split(";")
    return all("=" in parameter for parameter in parameters)


def _read_body(request: Request, validated: ValidatedRequest) -> None:
    if request.mimetype == "multipart/form-data":
        validated.form = dict(request.form.items())
        validated.files = {k: f.read() for k, f in request.files.items()}
    else:
        validated.body = request.get_json(silent=False)


# ---------------------------------------------------------------------- errors
def request_error_items(
    errors: Iterable[Exception], components: dict[str, Any]
) -> Iterator[ErrorItem]:
    for error in errors:
        cause = error.__cause__
        if isinstance(error, SecurityValidationError):
            yield ErrorItem("security", "/header/Authorization", "credentials are missing")
        elif isinstance(error, MissingRequiredParameter):
            where = [error.location, error.name]
            yield ErrorItem(error.location, _pointer(where), str(error))
        elif isinstance(error, ParameterValidationError):
            where = [error.location, error.name]
            if isinstance(cause, InvalidSchemaValue):
                for p, m in _schema_error_paths(where, cause.schema_errors, components):
                    yield ErrorItem(error.location, _pointer(p), m)
            else:
                yield ErrorItem(error.location, _pointer(where), str(cause or error))
        elif isinstance(error, MissingRequiredRequestBody):
            yield ErrorItem("body", "/body", "a request body is required")
        elif isinstance(error, RequestBodyValidationError):
            if isinstance(cause, InvalidSchemaValue):
                for p, m in _schema_error_paths(["body"], cause.schema_errors, components):
                    yield ErrorItem("body", _pointer(p), m)
            elif isinstance(cause, MediaTypeNotFound):
                yield ErrorItem("content-type", "/header/Content-Type", str(cause))
            else:
                yield ErrorItem("body", "/body", _describe(cause or error))
        else:
            yield ErrorItem("body", "", f"{type(error).__name__}: {error}")


def response_error_items(
    errors: Iterable[Exception], components: dict[str, Any]
) -> Iterator[ErrorItem]:
    for error in errors:
        cause = error.__cause__
        if isinstance(cause, InvalidSchemaValue):
            for p, m in _schema_error_paths(["response"], cause.schema_errors, components):
                yield ErrorItem("response", _pointer(p), m)
        else:
            yield ErrorItem(
                "response", "/response", _short(f"{error}: {cause}" if cause else str(error))
            )


_UNEXPECTED = re.compile(r"\((.*) (?:was|were) unexpected\)")


def _schema_error_paths(
    base: list[Any], errors: Iterable[ValidationError], components: dict[str, Any]
) -> Iterator[tuple[list[Any], str]]:
    """(path, message) per error. A property that failed its own schema is also reported as
    "unevaluated" by ``unevaluatedProperties``; that echo is dropped."""
    found = list(_raw_error_paths(base, errors, components))
    failed = {tuple(p) for p, m in found if not m.startswith("unexpected property")}
    for path, message in found:
        if message.startswith("unexpected property") and tuple(path) in failed:
            continue
        yield path, message


def _declared(schema: Any, components: dict[str, Any], depth: int = 0) -> set[str]:
    """The property names a schema declares, through ``$ref`` and ``allOf``/``anyOf``/``oneOf``.

    When a subschema of ``allOf`` fails, ``unevaluatedProperties`` reports every property
    of it as unexpected; names the schema declares are not unexpected and are left out.
    """
    if not isinstance(schema, dict) or depth > 10:
        return set()
    names = set(schema.get("properties", {}))
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        names |= _declared(components.get(ref.rsplit("/", 1)[1]), components, depth + 1)
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key, ()):
            names |= _declared(sub, components, depth + 1)
    return names


def _raw_error_paths(
    base: list[Any], errors: Iterable[ValidationError], components: dict[str, Any]
) -> Iterator[tuple[list[Any], str]]:
    for error in errors:
        path = base + list(error.absolute_path)
        if error.validator == "required":
            name = _literal(error.message.rsplit(" is a required property", 1)[0])
            yield [*path, name], error.message
        elif error.validator in ("additionalProperties", "unevaluatedProperties"):
            names = _unexpected_names(error)
            if names is None:
                yield path, error.message
                continue
            declared = _declared(error.schema, components)
            for name in names:
                if name not in declared:
                    yield [*path, name], f"unexpected property {name!r}"
        elif error.validator in ("oneOf", "anyOf") and _required_only(error.validator_value):
            names = [n for branch in error.validator_value for n in branch["required"]]
            how_many = "exactly" if error.validator == "oneOf" else "at least"
            message = f"give {how_many} one of {', '.join(names)}"
            for name in names:
                yield [*path, name], message
        elif error.validator in ("oneOf", "anyOf") and error.context:
            # Branches told apart by type (a string or an integer form of one value): the
            # errors of the branch whose type the value has say what is wrong with it.
            fitting, types = _branches_by_type(error)
            if fitting is not None:
                yield from _raw_error_paths(base, fitting, components)
            elif types:
                names = " or ".join(dict.fromkeys(repr(t) for t in types))
                yield path, f"{_short(repr(error.instance), 60)} is not of type {names}"
            else:
                yield path, _short(error.message)
        elif (
            error.validator == "pattern"
            and isinstance(error.schema, dict)
            and (error.schema.get("description"))
        ):
            shown = _short(repr(error.instance), 60)
            yield path, f"{shown} does not match: {error.schema['description']}"
        else:
            yield path, _short(error.message)


def _branches_by_type(error: ValidationError) -> tuple[list[ValidationError] | None, list[Any]]:
    """(errors of the one branch the value's type fits, or None; the types of the others)."""
    by_branch: dict[Any, list[ValidationError]] = {}
    for sub in error.context or ():
        by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
    misfits = {
        branch: [e.validator_value for e in subs if e.validator == "type" and not e.relative_path]
        for branch, subs in by_branch.items()
    }
    fitting = [b for b, types in misfits.items() if not types]
    every_branch = len(by_branch) == len(error.validator_value)
    if every_branch and len(fitting) == 1:
        return by_branch[fitting[0]], []
    types = [t for ts in misfits.values() for t in ts] if every_branch and not fitting else []
    return None, types


def _required_only(branches: Any) -> bool:
    return isinstance(branches, list) and all(
        isinstance(b, dict) and set(b) == {"required"} for b in branches
    )


def _unexpected_names(error: ValidationError) -> list[str] | None:
    match = _UNEXPECTED.search(error.message)
    if not match:
        return None
    try:
        names = ast.literal_eval(f"[{match.group(1)}]")
    except (ValueError, SyntaxError):
        return None
    return [str(n) for n in names]


def _describe(error: BaseException) -> str:
    try:
        return _short(str(error))
    except UnicodeDecodeError:  # openapi-core's message quotes the raw body
        return "the body cannot be read: it is not UTF-8 text"


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"
