from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from shoal.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BeaconInfo(_message.Message):
    __slots__ = ("alias", "address")
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    alias: str
    address: str
    def __init__(self, alias: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...

class InstanceInfo(_message.Message):
    __slots__ = ("alias", "instance_address", "name", "can_access", "version", "beacon_address", "can_access_docker")
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CAN_ACCESS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    BEACON_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CAN_ACCESS_DOCKER_FIELD_NUMBER: _ClassVar[int]
    alias: str
    instance_address: str
    name: str
    can_access: bool
    version: str
    beacon_address: str
    can_access_docker: bool
    def __init__(self, alias: _Optional[str] = ..., instance_address: _Optional[str] = ..., name: _Optional[str] = ..., can_access: _Optional[bool] = ..., version: _Optional[str] = ..., beacon_address: _Optional[str] = ..., can_access_docker: _Optional[bool] = ...) -> None: ...

class CreateBeaconRequest(_message.Message):
    __slots__ = ("address", "token", "alias")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    address: str
    token: str
    alias: str
    def __init__(self, address: _Optional[str] = ..., token: _Optional[str] = ..., alias: _Optional[str] = ...) -> None: ...

class SetBeaconTokenRequest(_message.Message):
    __slots__ = ("beacon", "token")
    BEACON_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    beacon: str
    token: str
    def __init__(self, beacon: _Optional[str] = ..., token: _Optional[str] = ...) -> None: ...

class ListBeaconsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListBeaconsResponse(_message.Message):
    __slots__ = ("beacons",)
    BEACONS_FIELD_NUMBER: _ClassVar[int]
    beacons: _containers.RepeatedCompositeFieldContainer[BeaconInfo]
    def __init__(self, beacons: _Optional[_Iterable[_Union[BeaconInfo, _Mapping]]] = ...) -> None: ...

class ListBeaconInstancesRequest(_message.Message):
    __slots__ = ("beacon", "refresh")
    BEACON_FIELD_NUMBER: _ClassVar[int]
    REFRESH_FIELD_NUMBER: _ClassVar[int]
    beacon: str
    refresh: bool
    def __init__(self, beacon: _Optional[str] = ..., refresh: _Optional[bool] = ...) -> None: ...

class ListBeaconInstancesResponse(_message.Message):
    __slots__ = ("instances",)
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    instances: _containers.RepeatedCompositeFieldContainer[InstanceInfo]
    def __init__(self, instances: _Optional[_Iterable[_Union[InstanceInfo, _Mapping]]] = ...) -> None: ...

class RefreshBeaconRequest(_message.Message):
    __slots__ = ("beacon",)
    BEACON_FIELD_NUMBER: _ClassVar[int]
    beacon: str
    def __init__(self, beacon: _Optional[str] = ...) -> None: ...

class SetAliasRequest(_message.Message):
    __slots__ = ("name", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class DeleteBeaconRequest(_message.Message):
    __slots__ = ("beacon",)
    BEACON_FIELD_NUMBER: _ClassVar[int]
    beacon: str
    def __init__(self, beacon: _Optional[str] = ...) -> None: ...

class GrantBeaconUserRequest(_message.Message):
    __slots__ = ("beacon", "email")
    BEACON_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    beacon: str
    email: str
    def __init__(self, beacon: _Optional[str] = ..., email: _Optional[str] = ...) -> None: ...

class ResolveInstanceRequest(_message.Message):
    __slots__ = ("host", "min_level", "on_behalf_of", "on_behalf_of_access")
    HOST_FIELD_NUMBER: _ClassVar[int]
    MIN_LEVEL_FIELD_NUMBER: _ClassVar[int]
    ON_BEHALF_OF_FIELD_NUMBER: _ClassVar[int]
    ON_BEHALF_OF_ACCESS_FIELD_NUMBER: _ClassVar[int]
    host: str
    min_level: int
    on_behalf_of: str
    on_behalf_of_access: str
    def __init__(self, host: _Optional[str] = ..., min_level: _Optional[int] = ..., on_behalf_of: _Optional[str] = ..., on_behalf_of_access: _Optional[str] = ...) -> None: ...

class ResolvedInstance(_message.Message):
    __slots__ = ("instance_address", "beacon_address", "token", "dial_target")
    INSTANCE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    BEACON_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    DIAL_TARGET_FIELD_NUMBER: _ClassVar[int]
    instance_address: str
    beacon_address: str
    token: str
    dial_target: str
    def __init__(self, instance_address: _Optional[str] = ..., beacon_address: _Optional[str] = ..., token: _Optional[str] = ..., dial_target: _Optional[str] = ...) -> None: ...
