"""One way to open a gRPC channel to a Shoal service.

A target may list several replicas (`ipv4:127.0.0.1:7001,127.0.0.1:7002`) or
be a DNS name with several addresses (a Kubernetes headless Service); calls
are spread over them round-robin, and a replica that goes away drops out of
the rotation until it answers again.
"""

from __future__ import annotations

import grpc

from services.common.telemetry import client_interceptors

MAX_MESSAGE = 16 * 1024 * 1024

OPTIONS = (
    ("grpc.lb_policy_name", "round_robin"),
    ("grpc.max_receive_message_length", MAX_MESSAGE),
    ("grpc.max_send_message_length", MAX_MESSAGE),
    # Notice a dead peer on an idle connection quickly (a SIGKILLed replica).
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    # Reconnect soon after a replica comes back.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2_000),
)


def open_channel(target: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(target, options=OPTIONS, interceptors=client_interceptors())
