"""The fast path of validation: each operation's schemas compiled once (jsonschema-rs).

openapi-core resolves ``$ref`` s on every call, which is most of a request's time. Here each
operation's parameters, JSON body and responses are compiled once into jsonschema-rs
validators. A compiled check only ever answers "valid, and this is what the handler reads";
whenever it is not sure (a value it does not cast, an invalid value, a media type other than
plain JSON) it answers ``None`` and openapi-core decides and words the errors, so the contract
and its messages stay openapi-core's. Nothing about the contract is written here: every schema
comes from the spec.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
from openapi_schema_validator import oas31_format_checker
from werkzeug.datastructures import MultiDict

from .errors import JSON
from .spec import Spec

_INTEGER = re.compile(r"-?[0-9]+")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_BOOLEANS = {"true": True, "false": False}


@dataclass(frozen=True)
class _Parameter:
    name: str
    location: str  # "query" or "path"
    type: str  # "integer", "number", "boolean" or "string"
    default: Any


@dataclass(frozen=True)
class Parsed:
    """What the compiled check read from a valid request."""

    body: Any
    query: dict[str, Any]
    path: dict[str, Any]


class CompiledOperation:
    """One operation's compiled request and response checks."""

    def __init__(self, spec: Spec, operation_id: str, compile_schema) -> None:
        document = spec.operation_document(operation_id)
        self.parameters: list[_Parameter] | None = []
        properties: dict[str, Any] = {}
        required: list[str] = []
        for raw in document.get("parameters", []):
            parameter = spec.resolve(raw, "parameters")
            schema = parameter.get("schema", {})
            kind = _scalar_type(spec, schema)
            simple = kind is not None and "content" not in parameter
            if parameter.get("in") not in ("query", "path") or not simple:
                self.parameters = None  # openapi-core reads this operation's parameters
                break
            self.parameters.append(
                _Parameter(
                    parameter["name"],
                    parameter["in"],
                    kind,
                    spec.resolve(schema).get("default"),
                )
            )
            properties[parameter["name"]] = schema
            if parameter.get("required"):
                required.append(parameter["name"])
        self._parameters_schema = (
            compile_schema({"type": "object", "properties": properties, "required": required})
            if self.parameters
            else None
        )
        # the security alternatives: each a list of (header, HTTP auth scheme or None)
        self._security: list[list[tuple[str, str | None]]] = []
        schemes = spec.document.get("components", {}).get("securitySchemes", {})
        for requirement in document.get("security", spec.document.get("security", [])):
            alternative = []
            for name in requirement:
                scheme = schemes.get(name, {})
                if scheme.get("type") == "http":
                    alternative.append(("Authorization", scheme.get("scheme", "").lower()))
                elif scheme.get("type") == "apiKey" and scheme.get("in") == "header":
                    alternative.append((scheme["name"], None))
                else:  # another kind of credential: openapi-core checks them
                    self.parameters = None
            self._security.append(alternative)
        body = spec.resolve(document.get("requestBody"), "requestBodies")
        self.has_body = body is not None
        json_body = (body or {}).get("content", {}).get(JSON)
        self._body_schema = (
            compile_schema(json_body.get("schema", {})) if json_body is not None else None
        )
        self._responses: dict[str, dict[str, Any] | None] = {}
        for status, response in document.get("responses", {}).items():
            response = spec.resolve(response, "responses")
            content = response.get("content")
            self._responses[str(status)] = (
                None
                if not content
                else {
                    media: compile_schema(entry["schema"]) if "schema" in entry else None
                    for media, entry in content.items()
                }
            )

    # ------------------------------------------------------------------ requests
    def parse_request(
        self,
        mimetype: str,
        body: Any,
        args: MultiDict[str, str],
        view_args: Mapping[str, str],
        headers: Mapping[str, str],
    ) -> Parsed | None:
        """The parsed request if the compiled schemas say it is valid, else ``None``.

        ``body``: a JSON body's value, as :func:`ecm_mock.intake.loads` read it.
        """
        if self._security and not any(self._presented(a, headers) for a in self._security):
            return None
        values = self._parameters(args, view_args)
        if values is None:
            return None
        if self.has_body:
            if self._body_schema is None or mimetype != JSON:
                return None
            if not _is_valid(self._body_schema, body):
                return None
        query: dict[str, Any] = {}
        path: dict[str, Any] = {}
        for parameter in self.parameters or ():
            value = values.get(parameter.name, parameter.default)
            if value is not None:
                (query if parameter.location == "query" else path)[parameter.name] = value
        return Parsed(body, query, path)

    @staticmethod
    def _presented(alternative: list[tuple[str, str | None]], headers: Mapping[str, str]) -> bool:
        """Are these credentials there (not: are they good; the engine checks that)?"""
        for header, scheme in alternative:
            value = headers.get(header)
            if value is None:
                return False
            given, space, _ = value.partition(" ")
            if scheme is not None and (not space or given.lower() != scheme):
                return False
        return True

    def _parameters(
        self, args: MultiDict[str, str], view_args: Mapping[str, str]
    ) -> dict[str, Any] | None:
        if self.parameters is None:
            return None
        values: dict[str, Any] = {}
        for parameter in self.parameters:
            if parameter.location == "query":
                given = [v for v in args.getlist(parameter.name) if v != ""]
                if not given:
                    continue
                if len(given) > 1:
                    return None
                raw = given[0]
            else:
                if parameter.name not in view_args:
                    return None
                raw = view_args[parameter.name]
            value = _cast(parameter.type, raw)
            if value is None:
                return None
            values[parameter.name] = value
        if self._parameters_schema is not None and not _is_valid(self._parameters_schema, values):
            return None
        return values

    # ----------------------------------------------------------------- responses
    def response_is_valid(self, status: int, mimetype: str, body: Any, empty: bool) -> bool:
        """``True`` if the compiled schemas accept it; ``False`` means "ask openapi-core"."""
        key = str(status)
        if key not in self._responses:
            key = f"{key[0]}XX"
            if key not in self._responses:
                key = "default"
                if key not in self._responses:
                    return False
        content = self._responses[key]
        if content is None:
            return empty
        if empty or mimetype not in content:
            return False
        validator = content[mimetype]
        return validator is None or _is_valid(validator, body)


class CompiledSpec:
    """Every operation of a spec, compiled once; identical schemas share one validator.

    ``pattern`` and ``format`` are checked by Python, as openapi-core checks them: Rust's
    regular expressions differ from Python's (``\\S`` matches ``\\x1f`` in Rust, not in
    Python) and so do format rules (a leap second). Everything else is checked in Rust.
    """

    def __init__(self, spec: Spec) -> None:
        self._components = _python_checked(spec.document.get("components", {}))
        self._cache: dict[str, Any] = {}
        self._named: dict[str, Any] = {}  # component schemas by name
        self.operations = {
            op_id: CompiledOperation(spec, op_id, self._compile) for op_id in spec.operations
        }

    def is_valid(self, schema_name: str, instance: Any) -> bool:
        """Does ``instance`` meet the named component schema?"""
        validator = self._named.get(schema_name)
        if validator is None:
            validator = self._compile({"$ref": f"#/components/schemas/{schema_name}"})
            self._named[schema_name] = validator
        return _is_valid(validator, instance)

    def _compile(self, schema: dict[str, Any]):
        key = json.dumps(schema, sort_keys=True)
        validator = self._cache.get(key)
        if validator is None:
            root = {**_python_checked(schema), "components": self._components}
            validator = jsonschema_rs.Draft202012Validator(
                root,
                validate_formats=False,
                keywords={PATTERN: _PythonPattern, FORMAT: _PythonFormat},
            )
            self._cache[key] = validator
        return validator


PATTERN, FORMAT = "x-ecm-python-pattern", "x-ecm-python-format"
# keywords whose values are data, not schemas: nothing in them is renamed
_DATA = frozenset({"enum", "const", "default", "example", "examples"})
# keywords whose values map names to schemas: the names are not keywords
_NAMED = frozenset({"properties", "patternProperties", "$defs", "schemas", "dependentSchemas"})


_INTEGER_FORMATS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def _python_checked(node: Any, names: bool = False) -> Any:
    """A copy of a schema (or of a map of schemas, ``names``) with ``pattern`` and
    ``format`` renamed to the keywords Python checks."""
    if isinstance(node, list):
        return [_python_checked(item) for item in node]
    if not isinstance(node, dict):
        return node
    renamed = {}
    for key, value in node.items():
        if names:
            renamed[key] = _python_checked(value)
        elif key in _DATA:
            renamed[key] = value
        elif key == "pattern" and isinstance(value, str):
            renamed[PATTERN] = value
        elif key == "format" and value in _INTEGER_FORMATS and "if" not in node:
            # as openapi-core's int32/int64 checks: a range for an integer, nothing for
            # anything else; said in the schema, not by a Python call per value
            low, high = _INTEGER_FORMATS[value]
            renamed["if"] = {"type": "integer"}
            renamed["then"] = {"minimum": low, "maximum": high}
        elif key == "format" and isinstance(value, str):
            renamed[FORMAT] = value
        else:
            renamed[key] = _python_checked(value, names=key in _NAMED)
    return renamed


class _PythonPattern:
    """``pattern`` with Python's ``re.search``, as jsonschema (openapi-core) applies it."""

    def __init__(self, _parent: Any, value: str, _path: Any) -> None:
        self._regex = re.compile(value)

    def validate(self, instance: Any) -> None:
        if isinstance(instance, str) and not self._regex.search(instance):
            raise ValueError(f"{instance!r} does not match {self._regex.pattern!r}")


class _PythonFormat:
    """``format`` with openapi-core's own format checker (OAS 3.1)."""

    def __init__(self, _parent: Any, value: str, _path: Any) -> None:
        self._format = value

    def validate(self, instance: Any) -> None:
        if not oas31_format_checker.conforms(instance, self._format):
            raise ValueError(f"{instance!r} is not a {self._format!r}")


def _is_valid(validator: jsonschema_rs.Draft202012Validator, instance: Any) -> bool:
    try:
        return validator.is_valid(instance)
    except (ValueError, TypeError):  # a value JSON cannot hold (NaN, a set): openapi-core says
        return False


def _cast(kind: str, raw: str) -> Any:
    """A query or path value as its schema's type, only in the forms any reader agrees on."""
    if kind == "string":
        return raw
    if kind == "integer":
        return int(raw) if _INTEGER.fullmatch(raw) else None
    if kind == "number":
        return float(raw) if _NUMBER.fullmatch(raw) else None
    return _BOOLEANS.get(raw)


def _scalar_type(spec: Spec, schema: dict[str, Any]) -> str | None:
    kind = spec.resolve(schema).get("type")
    return kind if kind in ("integer", "number", "boolean", "string") else None
