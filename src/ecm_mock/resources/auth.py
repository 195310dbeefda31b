"""Login: credentials from the fixtures' users, answered in the vendor's shape with real JWTs."""

from __future__ import annotations

from ..errors import ApiError, ErrorItem
from ..state import copy_json
from ._base import Call, HandlerSet

handlers = HandlerSet()


@handlers.operation("loginUser")
@handlers.operation("loginUserPost")  # the same login as a POST (browsers, proxies)
def login(call: Call) -> dict:
    username, password = call.body["username"], call.body["password"]
    with call.store.transaction() as state:
        user = state.users.get(username)
        if (
            user is None
            or user["password"] != password
            or not user["userDetails"].get("isActive", True)
        ):
            raise ApiError(
                401,
                "wrong username or password",
                [ErrorItem("body", "/body/password", "wrong username or password")],
            )
        details = {**user["userDetails"], "lastLogin": call.services.clock.java_date()}
        state.users[username] = {**user, "userDetails": details}
        details = copy_json(details)
        license_ = copy_json(state.license)
    tokens = call.services.tokens.issue(username)
    return {
        **license_,
        "userDetails": details,
        "token_type": "Bearer",
        "token": tokens.token,
        "expires_in": tokens.expires_in,
        "refresh_token": tokens.refresh_token,
    }
