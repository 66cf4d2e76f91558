"""Which code runs each service process."""

from __future__ import annotations

import importlib

from services.common.config import Settings


async def run_service(name: str, settings: Settings, args) -> None:
    module = importlib.import_module(f"services.{name}.server")
    await module.run(settings, args)
