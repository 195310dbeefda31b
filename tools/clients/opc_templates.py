"""Write openapi-python-client 0.29's endpoint template with its multi-body bug fixed.

    python tools/clients/opc_templates.py DIR
    openapi-python-client generate --path openapi/ecm.yaml --custom-template-path DIR ...

An operation whose required request body has two media types (both bulk uploads: a JSON body
and a multipart CSV file) is generated annotated ``... | Unset`` without importing ``Unset``
(https://github.com/openapi-generators/openapi-python-client/issues/1451; the fix, PR 1478,
is not released), so its module does not import; and its media types are told apart with
``isinstance(body, list[...])``, which raises for the JSON array of the DNC bulk upload. No
spelling of the contract avoids both without changing what the API accepts (a body that is
not required, or one media type). This writes the installed package's own template with the
two lines fixed, and refuses to if they are not as expected (a release that fixed them).
"""

from __future__ import annotations

import sys
from importlib import metadata, resources
from pathlib import Path

TEMPLATE = "endpoint_module.py.jinja"
FIXES = {
    # import Unset, which the multi-body annotation uses
    "from ...types import Response, UNSET\n": "from ...types import Response, UNSET, Unset\n",
    # tell the bodies apart by their runtime class (list, a model), not by their annotation
    "    if isinstance(body, {{body.prop.get_type_string(no_optional=True) | as_unembedded_code }}):": (  # noqa: E501
        "    if isinstance(body, {{body.prop.get_instance_type_string() | as_unembedded_code }}):"
    ),
}


def write(directory: Path) -> Path:
    version = metadata.version("openapi-python-client")
    source = (resources.files("openapi_python_client") / "templates" / TEMPLATE).read_text()
    for broken, fixed in FIXES.items():
        if source.count(broken) != 1:
            raise SystemExit(
                f"openapi-python-client {version}: {TEMPLATE} has changed; "
                f"check whether issue 1451 is fixed and drop this workaround"
            )
        source = source.replace(broken, fixed)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / TEMPLATE
    target.write_text(source)
    return target


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print(write(Path(sys.argv[1])))
