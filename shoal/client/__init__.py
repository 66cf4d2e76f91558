"""The Shoal SDK: connect to a gateway as Juju's client connects to its
controller, and speak every API it serves.

    import asyncio
    from shoal import client

    async def main():
        info = client.Info(["/root/.shoal/.shoal.socket", "https://10.0.0.5:8443"])
        async with await client.open(info) as conn:
            print([s.name for s in await conn.services()])

    asyncio.run(main())
"""

from shoal.client.api import Api, InstanceTransport
from shoal.client.auth import (
    BasicLogin,
    LocalLogin,
    LoginProvider,
    SessionLogin,
    TokenLogin,
    TryInOrder,
)
from shoal.client.connection import Connection, dial, open
from shoal.client.errors import (
    APIError,
    CertificateError,
    ChangeError,
    ConnectionError,
    LoginRequired,
    PathError,
    RedirectError,
    ShoalError,
    TimeoutError,
)
from shoal.client.exec import ExecProcess
from shoal.client.options import DialOpts, Info
from shoal.client.records import (
    Application,
    AuditEvent,
    Beacon,
    Change,
    Check,
    Deployment,
    FileInfo,
    Identity,
    Instance,
    InstanceStatus,
    Notice,
    Service,
    StreamEvent,
    SystemInfo,
    Task,
    Token,
    User,
)
from shoal.client.transport import Answer, Transport

__all__ = [
    "APIError",
    "Answer",
    "Api",
    "Application",
    "AuditEvent",
    "BasicLogin",
    "Beacon",
    "CertificateError",
    "Change",
    "ChangeError",
    "Check",
    "Connection",
    "ConnectionError",
    "Deployment",
    "DialOpts",
    "ExecProcess",
    "FileInfo",
    "Identity",
    "Info",
    "Instance",
    "InstanceStatus",
    "InstanceTransport",
    "LocalLogin",
    "LoginProvider",
    "LoginRequired",
    "Notice",
    "PathError",
    "RedirectError",
    "Service",
    "SessionLogin",
    "ShoalError",
    "StreamEvent",
    "SystemInfo",
    "Task",
    "TimeoutError",
    "Token",
    "TokenLogin",
    "Transport",
    "TryInOrder",
    "User",
    "dial",
    "open",
]
