"""Pebble identities: the pure model behind `GET/POST /v1/identities`.

An identity is a name, an access level and one or more ways to recognise the
caller: `local` (a unix user-id seen through peer credentials), `basic` (an
`Authorization: Basic` password checked against a sha512-crypt hash) and
`cert` (a TLS client certificate). This module decodes the API JSON as
Pebble's Go decoder reads it (`decode_identities`: the same type errors,
word for word), validates it with Pebble's exact messages, applies the four
POST actions to the current mapping in Pebble's order, and renders the
masked GET shape. No I/O.

Stricter than Pebble, on purpose, for what a request brings in (not for
what storage holds): a name is at most 256 characters, and a basic
password must be a well-formed sha512-crypt hash (Pebble stores any text,
which then never verifies) — except the mask "*****" that GET shows, which
keeps the identity's current hash when it has one.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from services.common.errors import DomainError
from services.identity.passwords import is_well_formed_sha512_crypt

if TYPE_CHECKING:
    from cryptography import x509

ADMIN = "admin"
READ = "read"
METRICS = "metrics"
UNTRUSTED = "untrusted"
# Least to most privileged.
ACCESS_LEVELS: tuple[str, ...] = (UNTRUSTED, METRICS, READ, ADMIN)

ACTIONS: tuple[str, ...] = ("add", "update", "replace", "remove")
MASK = "*****"
MAX_USER_ID = 2**32 - 1
MAX_NAME_LENGTH = 256
NAME_PATTERN = r"^[a-zA-Z][a-zA-Z0-9_\-]*$"
_NAME_RE = re.compile(NAME_PATTERN)
_NAME_RULE = "must start with an alphabetic character and only contain alphanumeric characters, underscore, and hyphen"

_ACCESS_CHOICES = '"admin", "read", "metrics", or "untrusted"'
_TYPE_CHOICES = '"local", "basic", or "cert"'
_PEM_BEGIN_RE = re.compile(r"-----BEGIN ([^-\r\n]*)-----[ \t]*\r?\n")
_PEM_END = "-----END {}-----"


class IdentityError(DomainError):
    """A POST /v1/identities request was refused (always invalid)."""


def access_rank(access: str) -> int:
    """Position of `access` in ACCESS_LEVELS (untrusted 0 … admin 3); unknown → -1."""
    try:
        return ACCESS_LEVELS.index(access)
    except ValueError:
        return -1


def access_at_least(access: str, required: str) -> bool:
    return access_rank(access) >= access_rank(required) >= 0


@dataclass(frozen=True)
class LocalIdentity:
    user_id: int


@dataclass(frozen=True)
class BasicIdentity:
    password: str  # the sha512-crypt hash, never the password itself


@dataclass(frozen=True)
class CertIdentity:
    pem: str  # exactly one PEM CERTIFICATE block, as given

    def der(self) -> bytes:
        """The certificate's DER bytes, to compare with a TLS peer's certificate."""
        try:
            return _pem_certificate_der(self.pem)
        except _Invalid as e:
            raise ValueError(str(e)) from None

    def certificate(self) -> x509.Certificate:
        from cryptography import x509  # here: only cert identities need an X.509 parser (10 MB)

        return x509.load_der_x509_certificate(self.der())


@dataclass(frozen=True)
class Identity:
    access: str
    local: LocalIdentity | None = None
    basic: BasicIdentity | None = None
    cert: CertIdentity | None = None

    def to_dict(self) -> dict[str, Any]:
        """The full (unmasked) input shape: what storage keeps."""
        return self._render(masked=False)

    def to_api(self) -> dict[str, Any]:
        """The GET /v1/identities shape: password hash and PEM masked."""
        return self._render(masked=True)

    def _render(self, masked: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"access": self.access}
        if self.local is not None:
            out["local"] = {"user-id": self.local.user_id}
        if self.basic is not None:
            out["basic"] = {"password": MASK if masked else self.basic.password}
        if self.cert is not None:
            out["cert"] = {"pem": MASK if masked else self.cert.pem}
        return out


def render_identities(identities: Mapping[str, Identity]) -> dict[str, dict[str, Any]]:
    """The GET /v1/identities result: name → masked identity, names sorted."""
    return {name: identities[name].to_api() for name in sorted(identities)}


def parse_identity(name: str, data: Any, *, new: bool = False) -> Identity:
    """Validate one identity from the API JSON; errors are wrapped as
    `invalid identity for "name": ...`. `new`: it comes in with a request,
    so Shoal's stricter input rules apply too (storage is read as it is)."""
    if new and isinstance(name, str) and len(name) > MAX_NAME_LENGTH:
        raise IdentityError(_too_long(name))
    try:
        return _parse(name, data, new)
    except _Invalid as e:
        raise IdentityError(f"invalid identity for {_q(name)}: {e}") from None


def _too_long(name: str) -> str:
    # The name itself is not repeated: it is what is wrong.
    return f"invalid identity name: {len(name)} characters, at most {MAX_NAME_LENGTH}"


def apply_identity_action(
    current: Mapping[str, Identity], action: str, payload: Mapping[str, Any]
) -> dict[str, Identity]:
    """Apply one POST /v1/identities action and return the new mapping.

    `payload` is the request's `identities` object (see `decode_identities`):
    name → identity JSON (or an `Identity`) or None. `current` is never
    changed. Raises IdentityError. Pebble's order: every identity given is
    validated first, then the action, the null rules, existence and the
    uniqueness of user ids.
    """
    if not isinstance(payload, Mapping):
        raise IdentityError("identities must be an object mapping names to identities")
    names = sorted(payload)
    for name in names:
        if len(name) > MAX_NAME_LENGTH:
            raise IdentityError(_too_long(name))

    parsed: dict[str, Identity | None] = {}
    for name in names:
        value = payload[name]
        if value is None:
            parsed[name] = None
        else:
            if isinstance(value, Identity):
                value = value.to_dict()
            parsed[name] = parse_identity(name, _unmasked(value, current.get(name)), new=True)

    if action not in ACTIONS:
        raise IdentityError(
            f'invalid action {_q(str(action))}, must be "add", "update", "replace", or "remove"'
        )
    for name in names:
        value = parsed[name]
        if action in ("add", "update") and value is None:
            raise IdentityError(
                f"identity value for {_q(name)} must not be null for {action} operation"
            )
        if action == "remove" and value is not None:
            raise IdentityError(f"identity value for {_q(name)} must be null for remove operation")

    if action == "add":
        existing = [n for n in names if n in current]
        if existing:
            raise IdentityError(f"identities already exist: {', '.join(existing)}")
    elif action in ("update", "remove"):
        missing = [n for n in names if n not in current]
        if missing:
            raise IdentityError(f"identities do not exist: {', '.join(missing)}")

    result = dict(current)
    for name in names:
        identity = parsed[name]
        if identity is None:
            result.pop(name, None)
        else:
            result[name] = identity
    check_unique_user_ids(result)
    return result


def _unmasked(value: Any, existing: Identity | None) -> Any:
    """`value` with a basic password of "*****" (what GET shows, and what a
    client sends back after a GET, as ops' own suite does) replaced by the
    existing identity's hash: the password stays as it is. Pebble stores the
    five stars themselves, a password nothing matches; Shoal keeps the real
    one. With no existing hash to keep it is refused as any other non-hash."""
    basic = value.get("basic") if isinstance(value, Mapping) else None
    if not isinstance(basic, Mapping) or basic.get("password") != MASK:
        return value
    if existing is None or existing.basic is None:
        return value
    return {**value, "basic": {**basic, "password": existing.basic.password}}


def check_unique_user_ids(identities: Mapping[str, Identity]) -> None:
    by_uid: dict[int, list[str]] = {}
    for name, identity in identities.items():
        if identity.local is not None:
            by_uid.setdefault(identity.local.user_id, []).append(name)
    for uid in sorted(by_uid):
        holders = by_uid[uid]
        if len(holders) > 1:
            raise IdentityError(
                f"cannot have multiple identities with user ID {uid} ({', '.join(sorted(holders))})"
            )


def find_by_user_id(identities: Mapping[str, Identity], uid: int) -> tuple[str, Identity] | None:
    """The identity whose `local.user-id` is `uid`, with its name."""
    for name, identity in identities.items():
        if identity.local is not None and identity.local.user_id == uid:
            return name, identity
    return None


# --- decoding: what Pebble's Go JSON decoder makes of the request body --------

_DECODE = "cannot decode request body: json: cannot unmarshal {value} into Go struct field .{path} of type {type}"
_MAP_TYPE = "map[string]*daemon.apiIdentity"
_IDENTITY_TYPE = "daemon.apiIdentity"
_ACCESS_TYPE = "identities.Access"
# identity field -> (its Go type, its one field, that field's Go type)
_TYPES = {
    "local": ("daemon.apiLocalIdentity", "user-id", "uint32"),
    "basic": ("daemon.apiBasicIdentity", "password", "string"),
    "cert": ("daemon.apiCertIdentity", "pem", "string"),
}


class _WrongType(Exception):
    def __init__(self, value: str, path: str, go_type: str):
        super().__init__(_DECODE.format(value=value, path=path, type=go_type))


def decode_identities(value: Any) -> dict[str, dict[str, Any] | None]:
    """The body's `identities` as Pebble decodes it into
    `map[string]*apiIdentity`: absent or null is no identities; a null value
    is a null identity; field names match as Go matches them (exactly, else
    ignoring case); unknown fields are dropped. A value of the wrong JSON
    type is Go's decode error, word for word (`cannot decode request body:
    json: cannot unmarshal number -1 into Go struct field
    .identities.x.local.user-id of type uint32`); the first in name order is
    raised (Go reports the first in the document, whose order a decoded
    body no longer has)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise IdentityError(str(_WrongType(_kind(value), "identities", _MAP_TYPE)))
    decoded: dict[str, dict[str, Any] | None] = {}
    first: _WrongType | None = None
    for name in sorted(value):
        try:
            decoded[name] = _decode_identity(name, value[name])
        except _WrongType as wrong:
            first = first or wrong
    if first is not None:
        raise IdentityError(str(first))
    return decoded


def _decode_identity(name: str, value: Any) -> dict[str, Any] | None:
    path = f"identities.{name}"
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _WrongType(_kind(value), path, _IDENTITY_TYPE)
    out: dict[str, Any] = {}
    access = _field(value, "access")
    if access is not None:
        if not isinstance(access, str):
            raise _WrongType(_kind(access), f"{path}.access", _ACCESS_TYPE)
        out["access"] = access
    for kind, (go_type, inner, inner_type) in _TYPES.items():
        part = _field(value, kind)
        if part is None:
            continue
        if not isinstance(part, Mapping):
            raise _WrongType(_kind(part), f"{path}.{kind}", go_type)
        item = _field(part, inner)
        where = f"{path}.{kind}.{inner}"
        if item is None:
            out[kind] = {}
        elif inner_type == "uint32":
            if isinstance(item, bool) or not isinstance(item, int | float):
                raise _WrongType(_kind(item), where, inner_type)
            if (isinstance(item, float) and not item.is_integer()) or not 0 <= item <= MAX_USER_ID:
                raise _WrongType(f"number {_literal(item)}", where, inner_type)
            out[kind] = {inner: int(item)}
        else:
            if not isinstance(item, str):
                raise _WrongType(_kind(item), where, inner_type)
            out[kind] = {inner: item}
    return out


def _field(obj: Mapping[str, Any], name: str) -> Any:
    """`obj`'s value for the Go field `name`: its exact key, else a key equal
    to it but for case (the last one, as later keys overwrite earlier)."""
    if name in obj:
        return obj[name]
    found = None
    for key, item in obj.items():
        if isinstance(key, str) and key.lower() == name:
            found = item
    return found


def _kind(value: Any) -> str:
    """The JSON kind Go names in a type error."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    return "array"


def _literal(number: float) -> str:
    if isinstance(number, float) and number.is_integer():
        return str(int(number))
    return str(number)


# --- parsing -----------------------------------------------------------------


class _Invalid(Exception):
    """An inner validation message, wrapped by parse_identity."""


def _q(text: str) -> str:
    """Go's %q for the common case: double quotes, backslash and quote escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _parse(name: str, data: Any, new: bool = False) -> Identity:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        # Pebble's inner message prints the name as "" (the wrapper names it);
        # kept for compatibility.
        raise _Invalid(f'identity name "" invalid: {_NAME_RULE}')
    if not isinstance(data, Mapping):
        raise _Invalid("identity must be an object")

    access = data.get("access")
    if access is None or access == "":
        raise _Invalid(f"access value must be specified ({_ACCESS_CHOICES})")
    if not isinstance(access, str) or access not in ACCESS_LEVELS:
        raise _Invalid(f"invalid access value {_q(str(access))}, must be {_ACCESS_CHOICES}")

    local = _parse_local(data.get("local"))
    basic = _parse_basic(data.get("basic"), new)
    cert = _parse_cert(data.get("cert"))
    if local is None and basic is None and cert is None:
        raise _Invalid(f"identity must have at least one type ({_TYPE_CHOICES})")
    return Identity(access=access, local=local, basic=basic, cert=cert)


def _parse_local(value: Any) -> LocalIdentity | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _Invalid("local identity must be an object")
    uid = value.get("user-id")
    if uid is None:
        raise _Invalid("local identity must specify user-id")
    if isinstance(uid, bool) or not isinstance(uid, int) or not 0 <= uid <= MAX_USER_ID:
        raise _Invalid(f"local identity user-id must be an integer from 0 to {MAX_USER_ID}")
    return LocalIdentity(user_id=uid)


def _parse_basic(value: Any, new: bool = False) -> BasicIdentity | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _Invalid("basic identity must be an object")
    password = value.get("password")
    if password is None or password == "":
        raise _Invalid("basic identity must specify password (hashed)")
    if not isinstance(password, str):
        raise _Invalid("basic identity password must be a string")
    if new and not is_well_formed_sha512_crypt(password):
        raise _Invalid(
            'basic identity password must be a sha512-crypt hash ("$6$salt$...", as "openssl passwd -6" makes it)'
        )
    return BasicIdentity(password=password)


def _parse_cert(value: Any) -> CertIdentity | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _Invalid("cert identity must be an object")
    pem = value.get("pem")
    if not isinstance(pem, str) or not pem.strip():
        raise _Invalid("cert identity must include a PEM-encoded certificate")
    der = _pem_certificate_der(pem)
    from cryptography import x509  # here: only cert identities need an X.509 parser (10 MB)

    try:
        x509.load_der_x509_certificate(der)
    except ValueError as e:
        raise _Invalid(f"cannot parse certificate from cert identity: {e}") from None
    return CertIdentity(pem=pem)


def _pem_certificate_der(pem: str) -> bytes:
    """The DER bytes of the one CERTIFICATE block in `pem`.

    Text before the block is skipped (as PEM readers do); anything but
    whitespace after it is refused.
    """
    begin = _PEM_BEGIN_RE.search(pem)
    if begin is None:
        raise _Invalid("cert identity must include a PEM-encoded certificate")
    label = begin.group(1)
    end_marker = _PEM_END.format(label)
    end = pem.find(end_marker, begin.end())
    if end < 0:
        raise _Invalid("cert identity must include a PEM-encoded certificate")
    if label != "CERTIFICATE":
        raise _Invalid(f"cert identity PEM block must be a CERTIFICATE, not {_q(label)}")
    if pem[end + len(end_marker) :].strip():
        raise _Invalid("cert identity cannot have extra data after the PEM block")
    body = pem[begin.end() : end]
    if ":" in body:
        raise _Invalid("cert identity PEM block must not have headers")
    try:
        return base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        raise _Invalid("cannot parse certificate from cert identity: invalid base64 in PEM block") from None
