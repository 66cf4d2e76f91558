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
    __slots__ = ("id", "creator", "date", "command", "version", "outcome")
    ID_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    id: int
    creator: str
    date: str
    command: _struct_pb2.Struct
    version: int
    outcome: str
    def __init__(self, id: _Optional[int] = ..., creator: _Optional[str] = ..., date: _Optional[str] = ..., command: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., version: _Optional[int] = ..., outcome: _Optional[str] = ...) -> None: ...

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
    __slots__ = ("application", "start", "force_pull", "strategy", "batch", "max_unavailable", "deadline")
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    FORCE_PULL_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    MAX_UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    application: ApplicationSpec
    start: bool
    force_pull: bool
    strategy: str
    batch: str
    max_unavailable: str
    deadline: str
    def __init__(self, application: _Optional[_Union[ApplicationSpec, _Mapping]] = ..., start: _Optional[bool] = ..., force_pull: _Optional[bool] = ..., strategy: _Optional[str] = ..., batch: _Optional[str] = ..., max_unavailable: _Optional[str] = ..., deadline: _Optional[str] = ...) -> None: ...

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
    __slots__ = ("id", "target", "force_pull", "strategy", "batch", "max_unavailable", "deadline")
    ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    FORCE_PULL_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    MAX_UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    id: str
    target: str
    force_pull: bool
    strategy: str
    batch: str
    max_unavailable: str
    deadline: str
    def __init__(self, id: _Optional[str] = ..., target: _Optional[str] = ..., force_pull: _Optional[bool] = ..., strategy: _Optional[str] = ..., batch: _Optional[str] = ..., max_unavailable: _Optional[str] = ..., deadline: _Optional[str] = ...) -> None: ...

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
    __slots__ = ("id", "restart", "change", "strategy", "batch", "max_unavailable", "deadline")
    ID_FIELD_NUMBER: _ClassVar[int]
    RESTART_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    MAX_UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    id: str
    restart: bool
    change: ApplicationChange
    strategy: str
    batch: str
    max_unavailable: str
    deadline: str
    def __init__(self, id: _Optional[str] = ..., restart: _Optional[bool] = ..., change: _Optional[_Union[ApplicationChange, _Mapping]] = ..., strategy: _Optional[str] = ..., batch: _Optional[str] = ..., max_unavailable: _Optional[str] = ..., deadline: _Optional[str] = ...) -> None: ...

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

class CheckStatus(_message.Message):
    __slots__ = ("name", "level", "status", "successes", "failures", "threshold")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SUCCESSES_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    name: str
    level: str
    status: str
    successes: int
    failures: int
    threshold: int
    def __init__(self, name: _Optional[str] = ..., level: _Optional[str] = ..., status: _Optional[str] = ..., successes: _Optional[int] = ..., failures: _Optional[int] = ..., threshold: _Optional[int] = ...) -> None: ...

class InstanceStatus(_message.Message):
    __slots__ = ("instance", "state", "message", "current", "startup", "checks", "deployment")
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    STARTUP_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    instance: str
    state: str
    message: str
    current: str
    startup: str
    checks: _containers.RepeatedCompositeFieldContainer[CheckStatus]
    deployment: int
    def __init__(self, instance: _Optional[str] = ..., state: _Optional[str] = ..., message: _Optional[str] = ..., current: _Optional[str] = ..., startup: _Optional[str] = ..., checks: _Optional[_Iterable[_Union[CheckStatus, _Mapping]]] = ..., deployment: _Optional[int] = ...) -> None: ...

class ApplicationStatusResponse(_message.Message):
    __slots__ = ("instances",)
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    instances: _containers.RepeatedCompositeFieldContainer[InstanceStatus]
    def __init__(self, instances: _Optional[_Iterable[_Union[InstanceStatus, _Mapping]]] = ...) -> None: ...
