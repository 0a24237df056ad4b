"""ActivityWatch's settings endpoints: a key/value store of JSON values."""

from __future__ import annotations

from aiohttp import web

from ..context import STORAGE, run_db, run_write
from ..http import json_response, read_json

routes = web.RouteTableDef()


@routes.get("/api/0/settings")
@routes.get("/api/0/settings/")
async def all_settings(request: web.Request) -> web.Response:
    return json_response(await run_db(request, request.app[STORAGE].settings))


@routes.get("/api/0/settings/{key}")
async def get_setting(request: web.Request) -> web.Response:
    """A setting's value; null when it was never set (as ActivityWatch)."""
    return json_response(await run_db(request, request.app[STORAGE].get_setting,
                                      request.match_info["key"]))


@routes.post("/api/0/settings/{key}")
async def set_setting(request: web.Request) -> web.Response:
    value = await read_json(request)
    await run_write(request, request.app[STORAGE].set_setting, request.match_info["key"], value)
    return json_response(value)


@routes.delete("/api/0/settings/{key}")
async def delete_setting(request: web.Request) -> web.Response:
    deleted = await run_write(request, request.app[STORAGE].delete_setting, request.match_info["key"])
    return json_response({"deleted": deleted})
