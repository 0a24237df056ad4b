"""ActivityWatch's settings endpoints: a key/value store of JSON values.

The `classes` key, where aw-webui keeps its categories, is TimelyGator's categories
(Category rows, validated), so both UIs edit the same thing.
"""

from __future__ import annotations

from aiohttp import web

from tg_core import categories

from ..context import STORAGE, run_db, run_write
from ..http import json_response, read_json

routes = web.RouteTableDef()
CLASSES = categories.SETTING_KEY


def _all(storage) -> dict:
    return {**storage.settings(), CLASSES: categories.load_classes(storage)}


def _get(storage, key: str):
    return categories.load_classes(storage) if key == CLASSES else storage.get_setting(key)


def _set(storage, key: str, value):
    if key == CLASSES:
        return categories.save_classes(storage, value)
    storage.set_setting(key, value)
    return value


def _delete(storage, key: str) -> bool:
    if key == CLASSES:
        deleted = not categories.is_default(storage)
        categories.reset_classes(storage)
        return deleted
    return storage.delete_setting(key)


@routes.get("/api/0/settings")
@routes.get("/api/0/settings/")
async def all_settings(request: web.Request) -> web.Response:
    return json_response(await run_db(request, _all, request.app[STORAGE]))


@routes.get("/api/0/settings/{key}")
async def get_setting(request: web.Request) -> web.Response:
    """A setting's value; null when it was never set (as ActivityWatch)."""
    return json_response(await run_db(request, _get, request.app[STORAGE], request.match_info["key"]))


@routes.post("/api/0/settings/{key}")
async def set_setting(request: web.Request) -> web.Response:
    """Set a setting to the JSON body; `classes` is validated as categories."""
    value = await read_json(request)
    stored = await run_write(request, _set, request.app[STORAGE], request.match_info["key"], value)
    return json_response(stored)


@routes.delete("/api/0/settings/{key}")
async def delete_setting(request: web.Request) -> web.Response:
    deleted = await run_write(request, _delete, request.app[STORAGE], request.match_info["key"])
    return json_response({"deleted": deleted})
