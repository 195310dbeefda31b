"""The one place where requests and responses meet the contract (openapi-core).

:class:`ContractValidator` is built once per spec. Per request it checks parameters, content
type and body, and returns what the handlers read; per response it checks status, content
type and body. Errors come back as :class:`~ecm_mock.errors.ErrorItem` lists with JSON pointers.
"""

from __future__ import annotations

import ast
import copy
import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

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
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.test import EnvironBuilder

from . import intake
from .compiled import CompiledSpec
from .errors import JSON, ErrorItem
from .intake import Limits, Refused
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
class _Read:
    """A request's body as :mod:`ecm_mock.intake` read it."""

    body: Any = None  # the JSON value of a JSON body
    parts: intake.Parts | None = None  # the parts of a multipart body
    json_parts: dict[str, Any] = field(default_factory=dict)  # parts encoded as JSON, read
    errors: list[ErrorItem] = field(default_factory=list)  # such parts that are not JSON


@dataclass
class RequestCheck:
    request: ValidatedRequest
    errors: list[ErrorItem]
    status: int  # what to answer when errors is not empty (400 or 415)


class _Request(WerkzeugOpenAPIRequest):
    """The werkzeug adapter, seen as the operation's ``method`` (Flask routes a HEAD to the
    GET's view), empty query values dropped.

    ``?status=`` means "no filter", as in the vendor's URLs, not an empty enum value.
    ``parsed``: the JSON body as :func:`ecm_mock.intake.loads` read it, handed to openapi-core.
    """

    def __init__(self, request: Request, method: str, parsed: Any = None) -> None:
        super().__init__(request)
        self._method = method.lower()
        self._parsed = parsed
        self.parameters.query = ImmutableMultiDict(
            [(k, v) for k, v in request.args.items(multi=True) if v != ""]
        )

    @property
    def method(self) -> str:
        return self._method

    @property
    def body(self) -> bytes | None:
        data = super().body
        return _ParsedBody(data, self._parsed) if self._parsed is not None else data


class _ParsedBody(bytes):
    """A JSON body that carries its value, read once (see :func:`_read_json`)."""

    value: Any

    def __new__(cls, data: bytes | None, value: Any) -> _ParsedBody:
        body = super().__new__(cls, data or b"")
        body.value = value
        return body


def _read_json(data: bytes | str, **_parameters: str) -> Any:
    """openapi-core's reader of JSON bodies and JSON-encoded multipart parts: the strict one."""
    if isinstance(data, _ParsedBody):
        return data.value
    try:  # a part read already (within the app's limits); here only JSON itself is checked
        return intake.loads(data, _NO_LIMITS)
    except Refused as refused:
        raise ValueError(refused.items[0].message) from None


_NO_LIMITS = Limits(json_depth=2**31, integer_digits=4300)


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
                    JSON: _read_json,
                },
                extra_format_unmarshallers={"date-time": _as_is, "date": _as_is, "email": _as_is},
            ),
        )
        self._schemas = spec.document["components"]["schemas"]
        self._compiled_spec = CompiledSpec(spec)
        self._compiled = self._compiled_spec.operations
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
        # per operation: the query parameters that take one value, the integer parameters
        # (query or path), and the multipart parts encoded as JSON
        self._single: dict[str, frozenset[str]] = {}
        self._integers: dict[str, frozenset[str]] = {}
        self._json_parts: dict[str, frozenset[str]] = {}
        self._capped: dict[str, list[tuple[str | None, int]]] = {}  # Spec.capped_arrays
        for op_id in spec.operations:
            document = spec.operation_document(op_id)
            single, integers = set(), set()
            for raw in document.get("parameters", []):
                parameter = spec.resolve(raw, "parameters")
                kind = spec.resolve(parameter.get("schema", {})).get("type")
                if parameter.get("in") == "query" and kind != "array":
                    single.add(parameter["name"])
                if parameter.get("in") in ("query", "path") and kind in ("integer", "number"):
                    integers.add(parameter["name"])
            self._single[op_id], self._integers[op_id] = frozenset(single), frozenset(integers)
            content = document.get("requestBody", {}).get("content", {})
            encoding = content.get("multipart/form-data", {}).get("encoding", {})
            self._capped[op_id] = spec.capped_arrays(op_id)
            self._json_parts[op_id] = frozenset(
                name for name, how in encoding.items() if how.get("contentType") == JSON
            )

    # ------------------------------------------------------------------ requests
    def check_request(
        self, operation: Operation, request: Request, limits: Limits = intake.DEFAULTS
    ) -> RequestCheck:
        op_id = operation.operation_id
        has_body = self._has_body[op_id]
        media_type = request.mimetype or None
        if has_body and not _readable_content_type(request.content_type):
            message = f"the Content-Type header {request.content_type!r} cannot be read"
            item = ErrorItem("header", "/header/Content-Type", message)
            return RequestCheck(ValidatedRequest(media_type=media_type), [item], 400)
        try:
            read = self._read(op_id, request, has_body, limits)
        except Refused as refused:
            return RequestCheck(
                ValidatedRequest(media_type=media_type), refused.items, refused.status
            )
        parsed = self._compiled[op_id].parse_request(
            request.mimetype,
            read.body,
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
                    media_type=media_type,
                ),
                [],
                400,
            )
        return self._check_request_in_full(operation, request, has_body, read)

    def _read(self, op_id: str, request: Request, has_body: bool, limits: Limits) -> _Read:
        """The request read strictly and within limits (:mod:`ecm_mock.intake`), or Refused."""
        read = _Read()
        if has_body:
            intake.check_encoding(request.headers)
            data = intake.read_body(request.environ, request.content_length, limits.body_bytes)
            if data is None:
                try:
                    data = request.get_data(cache=True)
                except RequestEntityTooLarge:
                    raise intake.too_large(limits.body_bytes) from None
            if request.mimetype == JSON:
                read.body = intake.loads(data, limits)
            elif request.mimetype == "multipart/form-data" and request.mimetype_params.get(
                "boundary"
            ):
                read.parts = intake.parse_multipart(
                    data, request.mimetype_params["boundary"], limits
                )
                for name in self._json_parts[op_id] & set(read.parts.form):
                    try:
                        read.json_parts[name] = intake.loads(
                            read.parts.form[name], limits, f"/body/{name}"
                        )
                    except Refused as refused:
                        read.errors += refused.items
        problems = intake.check_parameters(
            request.args,
            request.view_args or {},
            self._single[op_id],
            self._integers[op_id],
            limits,
        )
        if problems:
            raise Refused(400, problems)
        return read

    def _check_request_in_full(
        self, operation: Operation, request: Request, has_body: bool, read: _Read
    ) -> RequestCheck:
        """openapi-core's check, which words the errors (and decides what the fast one can't)."""
        oreq = _Request(request, operation.method, read.body)
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
        if read.errors:  # multipart parts encoded as JSON that are not JSON
            return RequestCheck(validated, read.errors, 400)
        if has_body and request.mimetype == JSON:
            # an array past its maxItems (100,001 upload rows): said at once, not after
            # openapi-core has checked every row against its schema (seconds)
            for name, most in self._capped[operation.operation_id]:
                value = read.body if name is None else _member(read.body, name)
                if isinstance(value, list) and len(value) > most:
                    pointer = "/body" if name is None else _pointer(["body", name])
                    message = _size_message(value, "maxItems", most)
                    return RequestCheck(validated, [ErrorItem("body", pointer, message)], 400)
        if has_body:
            # Validate without unmarshalling (unmarshalling a large body is slow); the body
            # handlers read is the parsed JSON itself.
            try:
                errors = list(self._openapi.iter_request_errors(oreq))
            except AssertionError:  # openapi-core asserts on some malformed multipart bodies
                message = f"the body cannot be parsed as {request.mimetype}"
                return RequestCheck(validated, [ErrorItem("body", "/body", message)], 400)
            if not errors:
                validated.body = read.body
                if read.parts is not None:
                    validated.form = {**read.parts.form, **read.json_parts}
                    validated.files = dict(read.parts.files)
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
        status = 415 if any(i.location == "content-type" for i in items) else 400
        return RequestCheck(validated, items, status)

    # ----------------------------------------------------------------- responses
    def check_answer(
        self,
        operation: Operation,
        method: str,
        path: str,
        query_string: str,
        status: int,
        media_type: str | None,
        headers: dict[str, str],
        body: Any,
        data: bytes | None,
    ) -> list[ErrorItem]:
        """The errors of an answer about to be sent: ``body`` (a JSON value, or None) as
        ``data`` (its bytes), to a request to ``method path?query_string``."""
        compiled = self._compiled[operation.operation_id]
        if compiled.response_is_valid(status, media_type or "", body, data is None):
            return []
        request = EnvironBuilder(method=method, path=path, query_string=query_string)
        response = Response(data, status=status, content_type=media_type)
        for name, value in headers.items():
            response.headers[name] = value
        oreq = _Request(request.get_request(), operation.method)
        errors = self._openapi.iter_response_errors(oreq, WerkzeugOpenAPIResponse(response))
        return list(response_error_items(errors, self._schemas))

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
    def is_valid(self, schema_name: str, instance: Any) -> bool:
        """Does ``instance`` meet a component schema? The compiled check: fast, and it decides
        as openapi-core does (the rows of a bulk upload are checked with it)."""
        return self._compiled_spec.is_valid(schema_name, instance)

    def schema_errors(self, schema_name: str, instance: Any, base: str = "") -> list[ErrorItem]:
        """Errors of ``instance`` against a component schema, pointers prefixed by ``base``.

        The compiled check answers "valid" fast; the errors of an invalid instance come from
        jsonschema, as everywhere else (wording them is the slow part).
        """
        if self.is_valid(schema_name, instance):
            return []
        validator = self._component_validator(schema_name)
        parts = [p for p in base.split("/") if p]
        return [
            ErrorItem("body", _pointer(p), m)
            for p, m in _schema_error_paths(parts, validator.iter_errors(instance), self._schemas)
        ]

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
_LONGEST = 300  # characters of a message
_SIZES = {  # validator: (what it counts, whether it is a maximum)
    "maxItems": ("items", True),
    "minItems": ("items", False),
    "maxLength": ("characters", True),
    "minLength": ("characters", False),
    "maxProperties": ("properties", True),
    "minProperties": ("properties", False),
}


def _size_message(instance: Any, validator: str, limit: int) -> str:
    what, most = _SIZES[validator]
    return (
        f"{_short(repr(instance), 60)} is too {'long' if most else 'short'}: "
        f"{len(instance)} {what}, at {'most' if most else 'least'} {limit}"
    )


def _member(body: Any, name: str) -> Any:
    return body.get(name) if isinstance(body, dict) else None


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
        elif error.validator in _SIZES and len(error.message) > _LONGEST:
            # the message quotes the whole value: say its size instead
            yield path, _size_message(error.instance, error.validator, error.validator_value)
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


def _short(message: str, limit: int = _LONGEST) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"
