"""Bearer tokens: signed JWTs with a real expiry (PyJWT), issued at login, checked on every call.

Time comes from an injected clock, so tests (and the control plane) can move it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

import jwt

from .errors import ApiError, ErrorItem

ALGORITHM = "HS256"
VERIFIED_CACHE_SIZE = 4096


@dataclass(frozen=True)
class Tokens:
    token: str
    refresh_token: str
    expires_in: int


class TokenService:
    """Issues and verifies the mock's tokens. One per app; the secret never leaves it."""

    def __init__(self, clock: Callable[[], float], ttl: int, secret: str | None = None) -> None:
        self._clock = clock
        self._ttl = ttl
        self._secret = secret or secrets.token_urlsafe(32)
        # tokens already verified: signature and claims do not change, so only the expiry is
        # checked again (on the clock, which may move); bounded, cleared when full
        self._verified: dict[str, tuple[str, float]] = {}

    def issue(self, username: str) -> Tokens:
        now = int(self._clock())
        access = {
            "sub": username,
            "typ": "access",
            "iat": now,
            "exp": now + self._ttl,
            "jti": secrets.token_hex(8),
        }
        refresh = {
            "sub": username,
            "typ": "refresh",
            "iat": now,
            "exp": now + 2 * self._ttl,
            "jti": secrets.token_hex(8),
        }
        return Tokens(
            token=jwt.encode(access, self._secret, algorithm=ALGORITHM),
            refresh_token=jwt.encode(refresh, self._secret, algorithm=ALGORITHM),
            expires_in=self._ttl,
        )

    def verify(self, authorization: str | None) -> str:
        """The user named by a valid ``Authorization: Bearer`` header, else a 401 ApiError."""
        if not authorization:
            raise _unauthorized("the Authorization header is missing")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("the Authorization header must be 'Bearer <token>'")
        token = token.strip()
        known = self._verified.get(token)
        if known is not None:
            subject, expires = known
            if expires <= self._clock():
                raise _unauthorized("the token has expired")
            return subject
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                # expiry is checked below, on the mock's clock, which may run ahead or behind
                options={
                    "require": ["exp", "iat", "sub"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidTokenError as exc:
            raise _unauthorized(f"the token is not valid: {exc}") from None
        if claims.get("typ") != "access":
            raise _unauthorized("the token is not an access token")
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (str(claims["sub"]), claims["exp"])
        if claims["exp"] <= self._clock():
            raise _unauthorized("the token has expired")
        return str(claims["sub"])


def _unauthorized(message: str) -> ApiError:
    return ApiError(
        401,
        message,
        [ErrorItem("security", "/header/Authorization", message)],
        headers={"WWW-Authenticate": 'Bearer realm="ecm"'},
    )
