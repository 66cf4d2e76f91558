"""Reaching a plan agent (a beacon's instance) from the registry's side:
the beacon service, the gateway's `/d/` proxy and the application service
call an agent with its beacon token in `shoal-beacon-token` metadata
instead of a signed caller (agents on other machines do not share the
cluster secret)."""

from __future__ import annotations

import grpc

from services.common.channels import OPTIONS

METADATA_KEY = "shoal-beacon-token"


def open_agent_channel(address: str) -> grpc.aio.Channel:
    """A channel to an agent. Its connections are its own (not gRPC's shared
    subchannel pool), so a fresh channel reaches an agent that came back at
    once instead of waiting out a dead channel's reconnect backoff."""
    return grpc.aio.insecure_channel(address, options=(*OPTIONS, ("grpc.use_local_subchannel_pool", 1)))


def token_metadata(token: str) -> tuple[tuple[str, str], ...]:
    """The metadata that presents `token` to an agent."""
    return ((METADATA_KEY, token),)
