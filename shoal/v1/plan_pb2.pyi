from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from shoal.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Done(_message.Message):
    __slots__ = ("ok",)
    OK_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    def __init__(self, ok: _Optional[bool] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ViewEntry(_message.Message):
    __slots__ = ("method", "request", "response", "removed")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    method: str
    request: bytes
    response: bytes
    removed: bool
    def __init__(self, method: _Optional[str] = ..., request: _Optional[bytes] = ..., response: _Optional[bytes] = ..., removed: _Optional[bool] = ...) -> None: ...

class WatchUpdate(_message.Message):
    __slots__ = ("revision", "snapshot", "entries")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    revision: int
    snapshot: bool
    entries: _containers.RepeatedCompositeFieldContainer[ViewEntry]
    def __init__(self, revision: _Optional[int] = ..., snapshot: _Optional[bool] = ..., entries: _Optional[_Iterable[_Union[ViewEntry, _Mapping]]] = ...) -> None: ...

class AsyncChange(_message.Message):
    __slots__ = ("change",)
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    change: str
    def __init__(self, change: _Optional[str] = ...) -> None: ...

class GetSystemInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SystemInfo(_message.Message):
    __slots__ = ("boot_id", "http_address", "https_address", "version")
    BOOT_ID_FIELD_NUMBER: _ClassVar[int]
    HTTP_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    HTTPS_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    boot_id: str
    http_address: str
    https_address: str
    version: str
    def __init__(self, boot_id: _Optional[str] = ..., http_address: _Optional[str] = ..., https_address: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class GetHealthRequest(_message.Message):
    __slots__ = ("level", "names")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    level: str
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, level: _Optional[str] = ..., names: _Optional[_Iterable[str]] = ...) -> None: ...

class Health(_message.Message):
    __slots__ = ("healthy",)
    HEALTHY_FIELD_NUMBER: _ClassVar[int]
    healthy: bool
    def __init__(self, healthy: _Optional[bool] = ...) -> None: ...

class GetMetricsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Metrics(_message.Message):
    __slots__ = ("text",)
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("id", "kind", "summary", "status", "log", "progress", "spawn_time", "ready_time", "data")
    class Progress(_message.Message):
        __slots__ = ("label", "done", "total")
        LABEL_FIELD_NUMBER: _ClassVar[int]
        DONE_FIELD_NUMBER: _ClassVar[int]
        TOTAL_FIELD_NUMBER: _ClassVar[int]
        label: str
        done: int
        total: int
        def __init__(self, label: _Optional[str] = ..., done: _Optional[int] = ..., total: _Optional[int] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    SPAWN_TIME_FIELD_NUMBER: _ClassVar[int]
    READY_TIME_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    summary: str
    status: str
    log: _containers.RepeatedScalarFieldContainer[str]
    progress: Task.Progress
    spawn_time: str
    ready_time: str
    data: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., summary: _Optional[str] = ..., status: _Optional[str] = ..., log: _Optional[_Iterable[str]] = ..., progress: _Optional[_Union[Task.Progress, _Mapping]] = ..., spawn_time: _Optional[str] = ..., ready_time: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class Change(_message.Message):
    __slots__ = ("id", "kind", "summary", "status", "tasks", "ready", "err", "spawn_time", "ready_time", "data")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    ERR_FIELD_NUMBER: _ClassVar[int]
    SPAWN_TIME_FIELD_NUMBER: _ClassVar[int]
    READY_TIME_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    summary: str
    status: str
    tasks: _containers.RepeatedCompositeFieldContainer[Task]
    ready: bool
    err: str
    spawn_time: str
    ready_time: str
    data: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., summary: _Optional[str] = ..., status: _Optional[str] = ..., tasks: _Optional[_Iterable[_Union[Task, _Mapping]]] = ..., ready: _Optional[bool] = ..., err: _Optional[str] = ..., spawn_time: _Optional[str] = ..., ready_time: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ListChangesRequest(_message.Message):
    __slots__ = ("select",)
    SELECT_FIELD_NUMBER: _ClassVar[int]
    FOR_FIELD_NUMBER: _ClassVar[int]
    select: str
    def __init__(self, select: _Optional[str] = ..., **kwargs) -> None: ...

class ListChangesResponse(_message.Message):
    __slots__ = ("changes",)
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[Change]
    def __init__(self, changes: _Optional[_Iterable[_Union[Change, _Mapping]]] = ...) -> None: ...

class GetChangeRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class AbortChangeRequest(_message.Message):
    __slots__ = ("id", "action")
    ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    id: str
    action: str
    def __init__(self, id: _Optional[str] = ..., action: _Optional[str] = ...) -> None: ...

class WaitChangeRequest(_message.Message):
    __slots__ = ("id", "timeout")
    ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    id: str
    timeout: str
    def __init__(self, id: _Optional[str] = ..., timeout: _Optional[str] = ...) -> None: ...

class ServiceInfo(_message.Message):
    __slots__ = ("name", "startup", "current", "current_since")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STARTUP_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    CURRENT_SINCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    startup: str
    current: str
    current_since: str
    def __init__(self, name: _Optional[str] = ..., startup: _Optional[str] = ..., current: _Optional[str] = ..., current_since: _Optional[str] = ...) -> None: ...

class ListServicesRequest(_message.Message):
    __slots__ = ("names",)
    NAMES_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, names: _Optional[_Iterable[str]] = ...) -> None: ...

class ListServicesResponse(_message.Message):
    __slots__ = ("services",)
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    services: _containers.RepeatedCompositeFieldContainer[ServiceInfo]
    def __init__(self, services: _Optional[_Iterable[_Union[ServiceInfo, _Mapping]]] = ...) -> None: ...

class ServicesActionRequest(_message.Message):
    __slots__ = ("action", "services")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    action: str
    services: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, action: _Optional[str] = ..., services: _Optional[_Iterable[str]] = ...) -> None: ...

class ServiceByNameRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetPlanRequest(_message.Message):
    __slots__ = ("format",)
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    format: str
    def __init__(self, format: _Optional[str] = ...) -> None: ...

class PlanYAML(_message.Message):
    __slots__ = ("yaml",)
    YAML_FIELD_NUMBER: _ClassVar[int]
    yaml: str
    def __init__(self, yaml: _Optional[str] = ...) -> None: ...

class AddLayerRequest(_message.Message):
    __slots__ = ("action", "label", "format", "layer", "combine", "inner")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    LAYER_FIELD_NUMBER: _ClassVar[int]
    COMBINE_FIELD_NUMBER: _ClassVar[int]
    INNER_FIELD_NUMBER: _ClassVar[int]
    action: str
    label: str
    format: str
    layer: str
    combine: bool
    inner: bool
    def __init__(self, action: _Optional[str] = ..., label: _Optional[str] = ..., format: _Optional[str] = ..., layer: _Optional[str] = ..., combine: _Optional[bool] = ..., inner: _Optional[bool] = ...) -> None: ...

class CheckInfo(_message.Message):
    __slots__ = ("name", "level", "startup", "status", "successes", "failures", "threshold", "change_id", "prev_change_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    STARTUP_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SUCCESSES_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    CHANGE_ID_FIELD_NUMBER: _ClassVar[int]
    PREV_CHANGE_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    level: str
    startup: str
    status: str
    successes: int
    failures: int
    threshold: int
    change_id: str
    prev_change_id: str
    def __init__(self, name: _Optional[str] = ..., level: _Optional[str] = ..., startup: _Optional[str] = ..., status: _Optional[str] = ..., successes: _Optional[int] = ..., failures: _Optional[int] = ..., threshold: _Optional[int] = ..., change_id: _Optional[str] = ..., prev_change_id: _Optional[str] = ...) -> None: ...

class ListChecksRequest(_message.Message):
    __slots__ = ("level", "names")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    level: str
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, level: _Optional[str] = ..., names: _Optional[_Iterable[str]] = ...) -> None: ...

class ListChecksResponse(_message.Message):
    __slots__ = ("checks",)
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    checks: _containers.RepeatedCompositeFieldContainer[CheckInfo]
    def __init__(self, checks: _Optional[_Iterable[_Union[CheckInfo, _Mapping]]] = ...) -> None: ...

class ChecksActionRequest(_message.Message):
    __slots__ = ("action", "checks")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    action: str
    checks: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, action: _Optional[str] = ..., checks: _Optional[_Iterable[str]] = ...) -> None: ...

class ChecksActionResponse(_message.Message):
    __slots__ = ("changed",)
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    changed: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, changed: _Optional[_Iterable[str]] = ...) -> None: ...

class RefreshCheckRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RefreshCheckResponse(_message.Message):
    __slots__ = ("info", "error")
    INFO_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    info: CheckInfo
    error: str
    def __init__(self, info: _Optional[_Union[CheckInfo, _Mapping]] = ..., error: _Optional[str] = ...) -> None: ...

class Notice(_message.Message):
    __slots__ = ("id", "user_id", "type", "key", "first_occurred", "last_occurred", "last_repeated", "occurrences", "last_data", "repeat_after", "expire_after")
    class LastDataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    FIRST_OCCURRED_FIELD_NUMBER: _ClassVar[int]
    LAST_OCCURRED_FIELD_NUMBER: _ClassVar[int]
    LAST_REPEATED_FIELD_NUMBER: _ClassVar[int]
    OCCURRENCES_FIELD_NUMBER: _ClassVar[int]
    LAST_DATA_FIELD_NUMBER: _ClassVar[int]
    REPEAT_AFTER_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_AFTER_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: int
    type: str
    key: str
    first_occurred: str
    last_occurred: str
    last_repeated: str
    occurrences: int
    last_data: _containers.ScalarMap[str, str]
    repeat_after: str
    expire_after: str
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[int] = ..., type: _Optional[str] = ..., key: _Optional[str] = ..., first_occurred: _Optional[str] = ..., last_occurred: _Optional[str] = ..., last_repeated: _Optional[str] = ..., occurrences: _Optional[int] = ..., last_data: _Optional[_Mapping[str, str]] = ..., repeat_after: _Optional[str] = ..., expire_after: _Optional[str] = ...) -> None: ...

class ListNoticesRequest(_message.Message):
    __slots__ = ("user_id", "users", "types", "keys", "after", "timeout")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USERS_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    user_id: _containers.RepeatedScalarFieldContainer[str]
    users: str
    types: _containers.RepeatedScalarFieldContainer[str]
    keys: _containers.RepeatedScalarFieldContainer[str]
    after: str
    timeout: str
    def __init__(self, user_id: _Optional[_Iterable[str]] = ..., users: _Optional[str] = ..., types: _Optional[_Iterable[str]] = ..., keys: _Optional[_Iterable[str]] = ..., after: _Optional[str] = ..., timeout: _Optional[str] = ...) -> None: ...

class ListNoticesResponse(_message.Message):
    __slots__ = ("notices",)
    NOTICES_FIELD_NUMBER: _ClassVar[int]
    notices: _containers.RepeatedCompositeFieldContainer[Notice]
    def __init__(self, notices: _Optional[_Iterable[_Union[Notice, _Mapping]]] = ...) -> None: ...

class AddNoticeRequest(_message.Message):
    __slots__ = ("action", "type", "key", "repeat_after", "data")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    REPEAT_AFTER_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    action: str
    type: str
    key: str
    repeat_after: str
    data: _struct_pb2.Value
    def __init__(self, action: _Optional[str] = ..., type: _Optional[str] = ..., key: _Optional[str] = ..., repeat_after: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class AddNoticeResponse(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetNoticeRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetLogsRequest(_message.Message):
    __slots__ = ("services", "n", "follow")
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    services: _containers.RepeatedScalarFieldContainer[str]
    n: str
    follow: str
    def __init__(self, services: _Optional[_Iterable[str]] = ..., n: _Optional[str] = ..., follow: _Optional[str] = ...) -> None: ...

class LogEntry(_message.Message):
    __slots__ = ("time", "service", "message")
    TIME_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    time: str
    service: str
    message: str
    def __init__(self, time: _Optional[str] = ..., service: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ReadFileRequest(_message.Message):
    __slots__ = ("path",)
    PATH_FIELD_NUMBER: _ClassVar[int]
    path: str
    def __init__(self, path: _Optional[str] = ...) -> None: ...

class FileChunk(_message.Message):
    __slots__ = ("data", "error")
    DATA_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    error: FileError
    def __init__(self, data: _Optional[bytes] = ..., error: _Optional[_Union[FileError, _Mapping]] = ...) -> None: ...

class FileError(_message.Message):
    __slots__ = ("message", "kind")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    message: str
    kind: str
    def __init__(self, message: _Optional[str] = ..., kind: _Optional[str] = ...) -> None: ...

class FileInfo(_message.Message):
    __slots__ = ("path", "name", "type", "size", "permissions", "last_modified", "user_id", "user", "group_id", "group")
    PATH_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    LAST_MODIFIED_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    path: str
    name: str
    type: str
    size: float
    permissions: str
    last_modified: str
    user_id: int
    user: str
    group_id: int
    group: str
    def __init__(self, path: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[str] = ..., size: _Optional[float] = ..., permissions: _Optional[str] = ..., last_modified: _Optional[str] = ..., user_id: _Optional[int] = ..., user: _Optional[str] = ..., group_id: _Optional[int] = ..., group: _Optional[str] = ...) -> None: ...

class ListFilesRequest(_message.Message):
    __slots__ = ("path", "pattern", "itself")
    PATH_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    ITSELF_FIELD_NUMBER: _ClassVar[int]
    path: str
    pattern: str
    itself: str
    def __init__(self, path: _Optional[str] = ..., pattern: _Optional[str] = ..., itself: _Optional[str] = ...) -> None: ...

class ListFilesResponse(_message.Message):
    __slots__ = ("files",)
    FILES_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[FileInfo]
    def __init__(self, files: _Optional[_Iterable[_Union[FileInfo, _Mapping]]] = ...) -> None: ...

class FileOwner(_message.Message):
    __slots__ = ("user_id", "user", "group_id", "group")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    user: str
    group_id: int
    group: str
    def __init__(self, user_id: _Optional[int] = ..., user: _Optional[str] = ..., group_id: _Optional[int] = ..., group: _Optional[str] = ...) -> None: ...

class WriteFileSpec(_message.Message):
    __slots__ = ("path", "make_dirs", "permissions", "owner")
    PATH_FIELD_NUMBER: _ClassVar[int]
    MAKE_DIRS_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    path: str
    make_dirs: bool
    permissions: str
    owner: FileOwner
    def __init__(self, path: _Optional[str] = ..., make_dirs: _Optional[bool] = ..., permissions: _Optional[str] = ..., owner: _Optional[_Union[FileOwner, _Mapping]] = ...) -> None: ...

class WriteFilesChunk(_message.Message):
    __slots__ = ("spec", "data", "end_of_file")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    END_OF_FILE_FIELD_NUMBER: _ClassVar[int]
    spec: WriteFileSpec
    data: bytes
    end_of_file: bool
    def __init__(self, spec: _Optional[_Union[WriteFileSpec, _Mapping]] = ..., data: _Optional[bytes] = ..., end_of_file: _Optional[bool] = ...) -> None: ...

class FileResult(_message.Message):
    __slots__ = ("path", "error")
    PATH_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    path: str
    error: FileError
    def __init__(self, path: _Optional[str] = ..., error: _Optional[_Union[FileError, _Mapping]] = ...) -> None: ...

class FileResults(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[FileResult]
    def __init__(self, results: _Optional[_Iterable[_Union[FileResult, _Mapping]]] = ...) -> None: ...

class MakeDirSpec(_message.Message):
    __slots__ = ("path", "make_parents", "permissions", "owner")
    PATH_FIELD_NUMBER: _ClassVar[int]
    MAKE_PARENTS_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    path: str
    make_parents: bool
    permissions: str
    owner: FileOwner
    def __init__(self, path: _Optional[str] = ..., make_parents: _Optional[bool] = ..., permissions: _Optional[str] = ..., owner: _Optional[_Union[FileOwner, _Mapping]] = ...) -> None: ...

class MakeDirsRequest(_message.Message):
    __slots__ = ("dirs",)
    DIRS_FIELD_NUMBER: _ClassVar[int]
    dirs: _containers.RepeatedCompositeFieldContainer[MakeDirSpec]
    def __init__(self, dirs: _Optional[_Iterable[_Union[MakeDirSpec, _Mapping]]] = ...) -> None: ...

class RemovePathSpec(_message.Message):
    __slots__ = ("path", "recursive")
    PATH_FIELD_NUMBER: _ClassVar[int]
    RECURSIVE_FIELD_NUMBER: _ClassVar[int]
    path: str
    recursive: bool
    def __init__(self, path: _Optional[str] = ..., recursive: _Optional[bool] = ...) -> None: ...

class RemovePathsRequest(_message.Message):
    __slots__ = ("paths",)
    PATHS_FIELD_NUMBER: _ClassVar[int]
    paths: _containers.RepeatedCompositeFieldContainer[RemovePathSpec]
    def __init__(self, paths: _Optional[_Iterable[_Union[RemovePathSpec, _Mapping]]] = ...) -> None: ...

class ExecRequest(_message.Message):
    __slots__ = ("command", "service_context", "environment", "working_dir", "timeout", "user_id", "user", "group_id", "group", "terminal", "interactive", "split_stderr", "width", "height")
    class EnvironmentEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    SERVICE_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    WORKING_DIR_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    TERMINAL_FIELD_NUMBER: _ClassVar[int]
    INTERACTIVE_FIELD_NUMBER: _ClassVar[int]
    SPLIT_STDERR_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    command: _containers.RepeatedScalarFieldContainer[str]
    service_context: str
    environment: _containers.ScalarMap[str, str]
    working_dir: str
    timeout: str
    user_id: int
    user: str
    group_id: int
    group: str
    terminal: bool
    interactive: bool
    split_stderr: bool
    width: int
    height: int
    def __init__(self, command: _Optional[_Iterable[str]] = ..., service_context: _Optional[str] = ..., environment: _Optional[_Mapping[str, str]] = ..., working_dir: _Optional[str] = ..., timeout: _Optional[str] = ..., user_id: _Optional[int] = ..., user: _Optional[str] = ..., group_id: _Optional[int] = ..., group: _Optional[str] = ..., terminal: _Optional[bool] = ..., interactive: _Optional[bool] = ..., split_stderr: _Optional[bool] = ..., width: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class ExecResponse(_message.Message):
    __slots__ = ("change", "task_id", "environment", "working_dir")
    class EnvironmentEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    WORKING_DIR_FIELD_NUMBER: _ClassVar[int]
    change: str
    task_id: str
    environment: _containers.ScalarMap[str, str]
    working_dir: str
    def __init__(self, change: _Optional[str] = ..., task_id: _Optional[str] = ..., environment: _Optional[_Mapping[str, str]] = ..., working_dir: _Optional[str] = ...) -> None: ...

class ExecFrame(_message.Message):
    __slots__ = ("task_id", "websocket_id", "binary", "text")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WEBSOCKET_ID_FIELD_NUMBER: _ClassVar[int]
    BINARY_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    websocket_id: str
    binary: bytes
    text: str
    def __init__(self, task_id: _Optional[str] = ..., websocket_id: _Optional[str] = ..., binary: _Optional[bytes] = ..., text: _Optional[str] = ...) -> None: ...

class SendSignalRequest(_message.Message):
    __slots__ = ("signal", "services")
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    signal: str
    services: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, signal: _Optional[str] = ..., services: _Optional[_Iterable[str]] = ...) -> None: ...

class ListAgentInstancesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AgentInstance(_message.Message):
    __slots__ = ("name", "address", "version", "can_access")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CAN_ACCESS_FIELD_NUMBER: _ClassVar[int]
    name: str
    address: str
    version: str
    can_access: bool
    def __init__(self, name: _Optional[str] = ..., address: _Optional[str] = ..., version: _Optional[str] = ..., can_access: _Optional[bool] = ...) -> None: ...

class ListAgentInstancesResponse(_message.Message):
    __slots__ = ("instances",)
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    instances: _containers.RepeatedCompositeFieldContainer[AgentInstance]
    def __init__(self, instances: _Optional[_Iterable[_Union[AgentInstance, _Mapping]]] = ...) -> None: ...
