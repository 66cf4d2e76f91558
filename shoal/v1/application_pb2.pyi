from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from shoal.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ApplicationInfo(_message.Message):
    __slots__ = ("id", "current_deployment", "name", "instances")
    ID_FIELD_NUMBER: _ClassVar[int]
    CURRENT_DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    id: int
    current_deployment: int
    name: str
    instances: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[int] = ..., current_deployment: _Optional[int] = ..., name: _Optional[str] = ..., instances: _Optional[_Iterable[str]] = ...) -> None: ...

class Deployment(_message.Message):
    __slots__ = ("id", "creator", "date", "command", "version")
    ID_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    id: int
    creator: str
    date: str
    command: _struct_pb2.Struct
    version: int
    def __init__(self, id: _Optional[int] = ..., creator: _Optional[str] = ..., date: _Optional[str] = ..., command: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., version: _Optional[int] = ...) -> None: ...

class ApplicationSpec(_message.Message):
    __slots__ = ("name", "command", "instances")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    name: str
    command: _struct_pb2.Struct
    instances: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., command: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., instances: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateApplicationRequest(_message.Message):
    __slots__ = ("application", "start", "force_pull")
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    FORCE_PULL_FIELD_NUMBER: _ClassVar[int]
    application: ApplicationSpec
    start: bool
    force_pull: bool
    def __init__(self, application: _Optional[_Union[ApplicationSpec, _Mapping]] = ..., start: _Optional[bool] = ..., force_pull: _Optional[bool] = ...) -> None: ...

class ListApplicationsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListApplicationsResponse(_message.Message):
    __slots__ = ("applications",)
    APPLICATIONS_FIELD_NUMBER: _ClassVar[int]
    applications: _containers.RepeatedCompositeFieldContainer[ApplicationInfo]
    def __init__(self, applications: _Optional[_Iterable[_Union[ApplicationInfo, _Mapping]]] = ...) -> None: ...

class ListDeploymentsRequest(_message.Message):
    __slots__ = ("id", "count")
    ID_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    id: str
    count: str
    def __init__(self, id: _Optional[str] = ..., count: _Optional[str] = ...) -> None: ...

class ListDeploymentsResponse(_message.Message):
    __slots__ = ("deployments",)
    DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    deployments: _containers.RepeatedCompositeFieldContainer[Deployment]
    def __init__(self, deployments: _Optional[_Iterable[_Union[Deployment, _Mapping]]] = ...) -> None: ...

class ApplicationActionRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class RevertApplicationRequest(_message.Message):
    __slots__ = ("id", "target", "force_pull")
    ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    FORCE_PULL_FIELD_NUMBER: _ClassVar[int]
    id: str
    target: str
    force_pull: bool
    def __init__(self, id: _Optional[str] = ..., target: _Optional[str] = ..., force_pull: _Optional[bool] = ...) -> None: ...

class ApplicationChange(_message.Message):
    __slots__ = ("command", "add", "remove")
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ADD_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    command: _struct_pb2.Struct
    add: _containers.RepeatedScalarFieldContainer[str]
    remove: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, command: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., add: _Optional[_Iterable[str]] = ..., remove: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdateApplicationRequest(_message.Message):
    __slots__ = ("id", "restart", "change")
    ID_FIELD_NUMBER: _ClassVar[int]
    RESTART_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    id: str
    restart: bool
    change: ApplicationChange
    def __init__(self, id: _Optional[str] = ..., restart: _Optional[bool] = ..., change: _Optional[_Union[ApplicationChange, _Mapping]] = ...) -> None: ...

class StreamEvent(_message.Message):
    __slots__ = ("status", "method", "endpoint", "message", "code", "instance", "item", "total")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    status: str
    method: str
    endpoint: str
    message: str
    code: int
    instance: str
    item: int
    total: int
    def __init__(self, status: _Optional[str] = ..., method: _Optional[str] = ..., endpoint: _Optional[str] = ..., message: _Optional[str] = ..., code: _Optional[int] = ..., instance: _Optional[str] = ..., item: _Optional[int] = ..., total: _Optional[int] = ...) -> None: ...
