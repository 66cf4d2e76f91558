from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from shoal.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LocalIdentity(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    def __init__(self, user_id: _Optional[int] = ...) -> None: ...

class BasicIdentity(_message.Message):
    __slots__ = ("password",)
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    password: str
    def __init__(self, password: _Optional[str] = ...) -> None: ...

class CertIdentity(_message.Message):
    __slots__ = ("pem",)
    PEM_FIELD_NUMBER: _ClassVar[int]
    pem: str
    def __init__(self, pem: _Optional[str] = ...) -> None: ...

class ClientCertificates(_message.Message):
    __slots__ = ("pem",)
    PEM_FIELD_NUMBER: _ClassVar[int]
    pem: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, pem: _Optional[_Iterable[str]] = ...) -> None: ...

class IdentityInfo(_message.Message):
    __slots__ = ("access", "local", "basic", "cert")
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    LOCAL_FIELD_NUMBER: _ClassVar[int]
    BASIC_FIELD_NUMBER: _ClassVar[int]
    CERT_FIELD_NUMBER: _ClassVar[int]
    access: str
    local: LocalIdentity
    basic: BasicIdentity
    cert: CertIdentity
    def __init__(self, access: _Optional[str] = ..., local: _Optional[_Union[LocalIdentity, _Mapping]] = ..., basic: _Optional[_Union[BasicIdentity, _Mapping]] = ..., cert: _Optional[_Union[CertIdentity, _Mapping]] = ...) -> None: ...

class ListIdentitiesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListIdentitiesResponse(_message.Message):
    __slots__ = ("identities",)
    class IdentitiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: IdentityInfo
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[IdentityInfo, _Mapping]] = ...) -> None: ...
    IDENTITIES_FIELD_NUMBER: _ClassVar[int]
    identities: _containers.MessageMap[str, IdentityInfo]
    def __init__(self, identities: _Optional[_Mapping[str, IdentityInfo]] = ...) -> None: ...

class IdentitiesActionRequest(_message.Message):
    __slots__ = ("action", "identities")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    IDENTITIES_FIELD_NUMBER: _ClassVar[int]
    action: str
    identities: _struct_pb2.Struct
    def __init__(self, action: _Optional[str] = ..., identities: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class UserPermissions(_message.Message):
    __slots__ = ("beacons", "applications")
    class BeaconsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class ApplicationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    BEACONS_FIELD_NUMBER: _ClassVar[int]
    APPLICATIONS_FIELD_NUMBER: _ClassVar[int]
    beacons: _containers.ScalarMap[str, int]
    applications: _containers.ScalarMap[str, int]
    def __init__(self, beacons: _Optional[_Mapping[str, int]] = ..., applications: _Optional[_Mapping[str, int]] = ...) -> None: ...

class User(_message.Message):
    __slots__ = ("email", "auth_level", "permissions")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    AUTH_LEVEL_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    email: str
    auth_level: int
    permissions: UserPermissions
    def __init__(self, email: _Optional[str] = ..., auth_level: _Optional[int] = ..., permissions: _Optional[_Union[UserPermissions, _Mapping]] = ...) -> None: ...

class ListUsersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListUsersResponse(_message.Message):
    __slots__ = ("emails",)
    EMAILS_FIELD_NUMBER: _ClassVar[int]
    emails: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, emails: _Optional[_Iterable[str]] = ...) -> None: ...

class GetUserRequest(_message.Message):
    __slots__ = ("email",)
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    email: str
    def __init__(self, email: _Optional[str] = ...) -> None: ...

class UpdateUserRequest(_message.Message):
    __slots__ = ("email", "auth_level", "password", "beacons", "applications")
    class BeaconsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class ApplicationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    AUTH_LEVEL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    BEACONS_FIELD_NUMBER: _ClassVar[int]
    APPLICATIONS_FIELD_NUMBER: _ClassVar[int]
    email: str
    auth_level: int
    password: str
    beacons: _containers.ScalarMap[str, int]
    applications: _containers.ScalarMap[str, int]
    def __init__(self, email: _Optional[str] = ..., auth_level: _Optional[int] = ..., password: _Optional[str] = ..., beacons: _Optional[_Mapping[str, int]] = ..., applications: _Optional[_Mapping[str, int]] = ...) -> None: ...

class CreateUserRequest(_message.Message):
    __slots__ = ("email", "password")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    email: str
    password: str
    def __init__(self, email: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class LighthouseLoginRequest(_message.Message):
    __slots__ = ("email", "password")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    email: str
    password: str
    def __init__(self, email: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class LoginRequest(_message.Message):
    __slots__ = ("username", "password", "remember_me")
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    REMEMBER_ME_FIELD_NUMBER: _ClassVar[int]
    username: str
    password: str
    remember_me: bool
    def __init__(self, username: _Optional[str] = ..., password: _Optional[str] = ..., remember_me: _Optional[bool] = ...) -> None: ...

class LoginResponse(_message.Message):
    __slots__ = ("success", "message", "session_token", "csrf_token", "max_age_seconds")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CSRF_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MAX_AGE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    session_token: str
    csrf_token: str
    max_age_seconds: int
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., session_token: _Optional[str] = ..., csrf_token: _Optional[str] = ..., max_age_seconds: _Optional[int] = ...) -> None: ...

class LogoutRequest(_message.Message):
    __slots__ = ("session_token",)
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    session_token: str
    def __init__(self, session_token: _Optional[str] = ...) -> None: ...

class TokenRecord(_message.Message):
    __slots__ = ("id", "name", "prefix", "suffix", "created_at", "last_used_at", "expires_at", "scopes")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    SUFFIX_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    prefix: str
    suffix: str
    created_at: str
    last_used_at: str
    expires_at: str
    scopes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., prefix: _Optional[str] = ..., suffix: _Optional[str] = ..., created_at: _Optional[str] = ..., last_used_at: _Optional[str] = ..., expires_at: _Optional[str] = ..., scopes: _Optional[_Iterable[str]] = ...) -> None: ...

class ListTokensRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTokensResponse(_message.Message):
    __slots__ = ("tokens",)
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    tokens: _containers.RepeatedCompositeFieldContainer[TokenRecord]
    def __init__(self, tokens: _Optional[_Iterable[_Union[TokenRecord, _Mapping]]] = ...) -> None: ...

class CreateTokenRequest(_message.Message):
    __slots__ = ("name", "scopes", "expires_in")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_FIELD_NUMBER: _ClassVar[int]
    name: str
    scopes: _struct_pb2.ListValue
    expires_in: str
    def __init__(self, name: _Optional[str] = ..., scopes: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., expires_in: _Optional[str] = ...) -> None: ...

class TokenWithSecret(_message.Message):
    __slots__ = ("token", "record")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    token: str
    record: TokenRecord
    def __init__(self, token: _Optional[str] = ..., record: _Optional[_Union[TokenRecord, _Mapping]] = ...) -> None: ...

class GetTokenRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class TokenRecordResponse(_message.Message):
    __slots__ = ("record",)
    RECORD_FIELD_NUMBER: _ClassVar[int]
    record: TokenRecord
    def __init__(self, record: _Optional[_Union[TokenRecord, _Mapping]] = ...) -> None: ...

class UpdateTokenRequest(_message.Message):
    __slots__ = ("id", "name", "scopes")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    scopes: _struct_pb2.ListValue
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., scopes: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ...) -> None: ...

class DeleteTokenRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class RotateTokenRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ValidateTokenRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class ValidateTokenResponse(_message.Message):
    __slots__ = ("valid", "message")
    VALID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    message: str
    def __init__(self, valid: _Optional[bool] = ..., message: _Optional[str] = ...) -> None: ...

class GetSecurityStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SecurityStatus(_message.Message):
    __slots__ = ("has_authentication", "api_token_count", "identity_count", "user_count", "unix_socket", "http_listener", "https_listener", "http_open_routes_only", "http_credential_routes", "bootstrap_token_pending", "remote_admin_configured", "auth_can_be_disabled")
    HAS_AUTHENTICATION_FIELD_NUMBER: _ClassVar[int]
    API_TOKEN_COUNT_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_COUNT_FIELD_NUMBER: _ClassVar[int]
    USER_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNIX_SOCKET_FIELD_NUMBER: _ClassVar[int]
    HTTP_LISTENER_FIELD_NUMBER: _ClassVar[int]
    HTTPS_LISTENER_FIELD_NUMBER: _ClassVar[int]
    HTTP_OPEN_ROUTES_ONLY_FIELD_NUMBER: _ClassVar[int]
    HTTP_CREDENTIAL_ROUTES_FIELD_NUMBER: _ClassVar[int]
    BOOTSTRAP_TOKEN_PENDING_FIELD_NUMBER: _ClassVar[int]
    REMOTE_ADMIN_CONFIGURED_FIELD_NUMBER: _ClassVar[int]
    AUTH_CAN_BE_DISABLED_FIELD_NUMBER: _ClassVar[int]
    has_authentication: bool
    api_token_count: int
    identity_count: int
    user_count: int
    unix_socket: bool
    http_listener: bool
    https_listener: bool
    http_open_routes_only: bool
    http_credential_routes: _containers.RepeatedScalarFieldContainer[str]
    bootstrap_token_pending: bool
    remote_admin_configured: bool
    auth_can_be_disabled: bool
    def __init__(self, has_authentication: _Optional[bool] = ..., api_token_count: _Optional[int] = ..., identity_count: _Optional[int] = ..., user_count: _Optional[int] = ..., unix_socket: _Optional[bool] = ..., http_listener: _Optional[bool] = ..., https_listener: _Optional[bool] = ..., http_open_routes_only: _Optional[bool] = ..., http_credential_routes: _Optional[_Iterable[str]] = ..., bootstrap_token_pending: _Optional[bool] = ..., remote_admin_configured: _Optional[bool] = ..., auth_can_be_disabled: _Optional[bool] = ...) -> None: ...

class WhoAmIRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WhoAmIResponse(_message.Message):
    __slots__ = ("name", "access", "scopes", "method", "uid")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    name: str
    access: str
    scopes: _containers.RepeatedScalarFieldContainer[str]
    method: str
    uid: int
    def __init__(self, name: _Optional[str] = ..., access: _Optional[str] = ..., scopes: _Optional[_Iterable[str]] = ..., method: _Optional[str] = ..., uid: _Optional[int] = ...) -> None: ...

class RegenerateTokenRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RegenerateTokenResponse(_message.Message):
    __slots__ = ("success", "token", "deployment_type", "requires_restart", "message")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_RESTART_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    success: bool
    token: str
    deployment_type: str
    requires_restart: bool
    message: str
    def __init__(self, success: _Optional[bool] = ..., token: _Optional[str] = ..., deployment_type: _Optional[str] = ..., requires_restart: _Optional[bool] = ..., message: _Optional[str] = ...) -> None: ...

class ValidateBootstrapTokenRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class QuickSetupRequest(_message.Message):
    __slots__ = ("username", "password", "api_token", "setup_token", "force")
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    API_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SETUP_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    username: str
    password: str
    api_token: str
    setup_token: str
    force: bool
    def __init__(self, username: _Optional[str] = ..., password: _Optional[str] = ..., api_token: _Optional[str] = ..., setup_token: _Optional[str] = ..., force: _Optional[bool] = ...) -> None: ...

class QuickSetupResponse(_message.Message):
    __slots__ = ("success", "message", "username")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    username: str
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., username: _Optional[str] = ...) -> None: ...

class GetApiHealthRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ApiHealth(_message.Message):
    __slots__ = ("status", "timestamp", "uptime")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    UPTIME_FIELD_NUMBER: _ClassVar[int]
    status: str
    timestamp: float
    uptime: float
    def __init__(self, status: _Optional[str] = ..., timestamp: _Optional[float] = ..., uptime: _Optional[float] = ...) -> None: ...

class GetApiVersionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ApiVersion(_message.Message):
    __slots__ = ("version", "build_time", "build", "runtime")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    BUILD_TIME_FIELD_NUMBER: _ClassVar[int]
    BUILD_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    version: str
    build_time: str
    build: str
    runtime: str
    def __init__(self, version: _Optional[str] = ..., build_time: _Optional[str] = ..., build: _Optional[str] = ..., runtime: _Optional[str] = ...) -> None: ...

class GetRecoveryStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RecoveryStatus(_message.Message):
    __slots__ = ("recovery_mode", "message", "pending_tokens")
    RECOVERY_MODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PENDING_TOKENS_FIELD_NUMBER: _ClassVar[int]
    recovery_mode: bool
    message: str
    pending_tokens: int
    def __init__(self, recovery_mode: _Optional[bool] = ..., message: _Optional[str] = ..., pending_tokens: _Optional[int] = ...) -> None: ...

class ResetLockoutRequest(_message.Message):
    __slots__ = ("identifier",)
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    identifier: str
    def __init__(self, identifier: _Optional[str] = ...) -> None: ...

class ResetLockoutResponse(_message.Message):
    __slots__ = ("success", "message")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ...) -> None: ...

class RecoveryRequest(_message.Message):
    __slots__ = ("action", "duration", "token", "identifier")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    action: str
    duration: int
    token: str
    identifier: str
    def __init__(self, action: _Optional[str] = ..., duration: _Optional[int] = ..., token: _Optional[str] = ..., identifier: _Optional[str] = ...) -> None: ...

class RecoveryResponse(_message.Message):
    __slots__ = ("success", "token", "expires_in_minutes", "message")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_MINUTES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    success: bool
    token: str
    expires_in_minutes: int
    message: str
    def __init__(self, success: _Optional[bool] = ..., token: _Optional[str] = ..., expires_in_minutes: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class AuditEvent(_message.Message):
    __slots__ = ("id", "timestamp", "event", "user", "ip", "path", "success", "details", "signature", "sequence", "previous_signature")
    ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    id: str
    timestamp: str
    event: str
    user: str
    ip: str
    path: str
    success: bool
    details: str
    signature: str
    sequence: int
    previous_signature: str
    def __init__(self, id: _Optional[str] = ..., timestamp: _Optional[str] = ..., event: _Optional[str] = ..., user: _Optional[str] = ..., ip: _Optional[str] = ..., path: _Optional[str] = ..., success: _Optional[bool] = ..., details: _Optional[str] = ..., signature: _Optional[str] = ..., sequence: _Optional[int] = ..., previous_signature: _Optional[str] = ...) -> None: ...

class ListAuditEventsRequest(_message.Message):
    __slots__ = ("limit", "offset", "event", "user", "success", "start_time", "end_time")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    limit: str
    offset: str
    event: str
    user: str
    success: str
    start_time: str
    end_time: str
    def __init__(self, limit: _Optional[str] = ..., offset: _Optional[str] = ..., event: _Optional[str] = ..., user: _Optional[str] = ..., success: _Optional[str] = ..., start_time: _Optional[str] = ..., end_time: _Optional[str] = ...) -> None: ...

class ListAuditEventsResponse(_message.Message):
    __slots__ = ("events", "total", "persistent_logging")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PERSISTENT_LOGGING_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[AuditEvent]
    total: int
    persistent_logging: bool
    def __init__(self, events: _Optional[_Iterable[_Union[AuditEvent, _Mapping]]] = ..., total: _Optional[int] = ..., persistent_logging: _Optional[bool] = ...) -> None: ...

class VerifyAuditEventRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class VerifyAuditEventResponse(_message.Message):
    __slots__ = ("available", "verified", "message")
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    available: bool
    verified: bool
    message: str
    def __init__(self, available: _Optional[bool] = ..., verified: _Optional[bool] = ..., message: _Optional[str] = ...) -> None: ...

class AuthenticateRequest(_message.Message):
    __slots__ = ("basic_username", "basic_password", "token", "session_token", "cert_pem", "peer_uid", "client_ip", "path")
    BASIC_USERNAME_FIELD_NUMBER: _ClassVar[int]
    BASIC_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CERT_PEM_FIELD_NUMBER: _ClassVar[int]
    PEER_UID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_IP_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    basic_username: str
    basic_password: str
    token: str
    session_token: str
    cert_pem: str
    peer_uid: int
    client_ip: str
    path: str
    def __init__(self, basic_username: _Optional[str] = ..., basic_password: _Optional[str] = ..., token: _Optional[str] = ..., session_token: _Optional[str] = ..., cert_pem: _Optional[str] = ..., peer_uid: _Optional[int] = ..., client_ip: _Optional[str] = ..., path: _Optional[str] = ...) -> None: ...

class AuthenticateResponse(_message.Message):
    __slots__ = ("matched", "name", "access", "scopes", "method")
    MATCHED_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    matched: bool
    name: str
    access: str
    scopes: _containers.RepeatedScalarFieldContainer[str]
    method: str
    def __init__(self, matched: _Optional[bool] = ..., name: _Optional[str] = ..., access: _Optional[str] = ..., scopes: _Optional[_Iterable[str]] = ..., method: _Optional[str] = ...) -> None: ...

class GetUserLevelsRequest(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: str
    def __init__(self, user: _Optional[str] = ...) -> None: ...

class UserLevels(_message.Message):
    __slots__ = ("found", "auth_level", "beacons", "applications")
    class BeaconsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class ApplicationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    FOUND_FIELD_NUMBER: _ClassVar[int]
    AUTH_LEVEL_FIELD_NUMBER: _ClassVar[int]
    BEACONS_FIELD_NUMBER: _ClassVar[int]
    APPLICATIONS_FIELD_NUMBER: _ClassVar[int]
    found: bool
    auth_level: int
    beacons: _containers.ScalarMap[str, int]
    applications: _containers.ScalarMap[str, int]
    def __init__(self, found: _Optional[bool] = ..., auth_level: _Optional[int] = ..., beacons: _Optional[_Mapping[str, int]] = ..., applications: _Optional[_Mapping[str, int]] = ...) -> None: ...

class SetResourceLevelRequest(_message.Message):
    __slots__ = ("user", "kind", "resource", "level")
    USER_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    user: str
    kind: str
    resource: str
    level: int
    def __init__(self, user: _Optional[str] = ..., kind: _Optional[str] = ..., resource: _Optional[str] = ..., level: _Optional[int] = ...) -> None: ...

class RecordAuditEventRequest(_message.Message):
    __slots__ = ("event", "user", "ip", "path", "success", "details")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    event: str
    user: str
    ip: str
    path: str
    success: bool
    details: str
    def __init__(self, event: _Optional[str] = ..., user: _Optional[str] = ..., ip: _Optional[str] = ..., path: _Optional[str] = ..., success: _Optional[bool] = ..., details: _Optional[str] = ...) -> None: ...

class ForgetResourceRequest(_message.Message):
    __slots__ = ("kind", "resource", "event")
    KIND_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    kind: str
    resource: str
    event: RecordAuditEventRequest
    def __init__(self, kind: _Optional[str] = ..., resource: _Optional[str] = ..., event: _Optional[_Union[RecordAuditEventRequest, _Mapping]] = ...) -> None: ...

class ForgetResourceResponse(_message.Message):
    __slots__ = ("users",)
    USERS_FIELD_NUMBER: _ClassVar[int]
    users: int
    def __init__(self, users: _Optional[int] = ...) -> None: ...
