"""Server information and the one endpoint that needs no token."""

from __future__ import annotations

import socket
import uuid

from aiohttp import web

import tg_core

from ..context import MEMO, SETTINGS, STORAGE, run_db, run_write
from ..http import json_response

routes = web.RouteTableDef()


@routes.get("/api/0/info")
async def info(request: web.Request) -> web.Response:
    """ActivityWatch's info object, plus `auth` ("token" or "none")."""
    settings = request.app[SETTINGS]
    return json_response({"hostname": socket.gethostname(), "version": f"v{tg_core.__version__}",
                          "testing": settings.testing, "device_id": await _device_id(request),
                          "server": "timelygator", "auth": settings.auth})


async def _device_id(request: web.Request) -> str:
    """This installation's id: made once, stored as a setting, then kept in memory."""
    memo = request.app[MEMO]
    device_id = memo.get("device_id")
    if device_id is None:
        storage = request.app[STORAGE]
        device_id = await run_db(request, storage.get_setting, "device_id")
        if device_id is None:
            device_id = str(uuid.uuid4())
            await run_write(request, storage.set_setting, "device_id", device_id)
        memo["device_id"] = device_id
    return device_id


@routes.get("/api/0/health")
async def health(request: web.Request) -> web.Response:
    """Open to anyone who can reach the port: says only that the server is up."""
    return json_response({"status": "ok"})
