from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Access(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCESS_UNSPECIFIED: _ClassVar[Access]
    UNTRUSTED: _ClassVar[Access]
    METRICS: _ClassVar[Access]
    READ: _ClassVar[Access]
    ADMIN: _ClassVar[Access]
    INTERNAL: _ClassVar[Access]

class Transport(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSPORT_ANY: _ClassVar[Transport]
    TRANSPORT_CONCEALED: _ClassVar[Transport]
    TRANSPORT_UNIX: _ClassVar[Transport]
ACCESS_UNSPECIFIED: Access
UNTRUSTED: Access
METRICS: Access
READ: Access
ADMIN: Access
INTERNAL: Access
TRANSPORT_ANY: Transport
TRANSPORT_CONCEALED: Transport
TRANSPORT_UNIX: Transport
ACCESS_FIELD_NUMBER: _ClassVar[int]
access: _descriptor.FieldDescriptor
ASYNC_CHANGE_FIELD_NUMBER: _ClassVar[int]
async_change: _descriptor.FieldDescriptor
HANDLER_FIELD_NUMBER: _ClassVar[int]
handler: _descriptor.FieldDescriptor
SCOPES_FIELD_NUMBER: _ClassVar[int]
scopes: _descriptor.FieldDescriptor
LONG_POLL_FIELD_NUMBER: _ClassVar[int]
long_poll: _descriptor.FieldDescriptor
HEALTHY_FIELD_FIELD_NUMBER: _ClassVar[int]
healthy_field: _descriptor.FieldDescriptor
DEADLINE_SECONDS_FIELD_NUMBER: _ClassVar[int]
deadline_seconds: _descriptor.FieldDescriptor
TRANSPORTS_FIELD_NUMBER: _ClassVar[int]
transports: _descriptor.FieldDescriptor
RESOLVE_CALLER_FIELD_NUMBER: _ClassVar[int]
resolve_caller: _descriptor.FieldDescriptor
VIEW_FIELD_NUMBER: _ClassVar[int]
view: _descriptor.FieldDescriptor
GO_BODY_FIELD_NUMBER: _ClassVar[int]
go_body: _descriptor.FieldDescriptor
QUERY_VALUES_FIELD_NUMBER: _ClassVar[int]
query_values: _descriptor.FieldDescriptor
QUERY_REQUIRED_FIELD_NUMBER: _ClassVar[int]
query_required: _descriptor.FieldDescriptor
FROM_HEADER_FIELD_NUMBER: _ClassVar[int]
from_header: _descriptor.FieldDescriptor
GO_TYPE_FIELD_NUMBER: _ClassVar[int]
go_type: _descriptor.FieldDescriptor
GO_SHAPE_FIELD_NUMBER: _ClassVar[int]
go_shape: _descriptor.FieldDescriptor
OMIT_EMPTY_FIELD_NUMBER: _ClassVar[int]
omit_empty: _descriptor.FieldDescriptor
NULL_UNSET_FIELD_NUMBER: _ClassVar[int]
null_unset: _descriptor.FieldDescriptor

class LongPoll(_message.Message):
    __slots__ = ("timeout_field", "empty_waits_forever")
    TIMEOUT_FIELD_FIELD_NUMBER: _ClassVar[int]
    EMPTY_WAITS_FOREVER_FIELD_NUMBER: _ClassVar[int]
    timeout_field: str
    empty_waits_forever: bool
    def __init__(self, timeout_field: _Optional[str] = ..., empty_waits_forever: _Optional[bool] = ...) -> None: ...

class GoBody(_message.Message):
    __slots__ = ("error_prefix", "go_type", "found_first")
    ERROR_PREFIX_FIELD_NUMBER: _ClassVar[int]
    GO_TYPE_FIELD_NUMBER: _ClassVar[int]
    FOUND_FIRST_FIELD_NUMBER: _ClassVar[int]
    error_prefix: str
    go_type: str
    found_first: str
    def __init__(self, error_prefix: _Optional[str] = ..., go_type: _Optional[str] = ..., found_first: _Optional[str] = ...) -> None: ...

class View(_message.Message):
    __slots__ = ("queries", "filter")
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    queries: _containers.RepeatedScalarFieldContainer[str]
    filter: str
    def __init__(self, queries: _Optional[_Iterable[str]] = ..., filter: _Optional[str] = ...) -> None: ...
