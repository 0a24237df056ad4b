"""Categories: read, replace, reset, import/export (ActivityWatch's format), live preview.

The categories are stored once, as the "classes" setting in aw-webui's format (see
tg_core.categories); until it is set, the default set applies.

GET    /api/0/categories          -> {"categories": [...], "default": bool}
PUT    /api/0/categories          body {"categories": [...]} (or the bare list): replace all;
                                  a repeated name or a bad regex is a 400, nothing stored
DELETE /api/0/categories          back to the default set; returns it
GET    /api/0/categories/export   aw-webui's export file {"categories": [...]} (a download)
POST   /api/0/categories/import[?mode=replace|merge]
                                  body: aw-webui's export file, its "classes" list, or the
                                  query form [[name, rule], ...]; "merge" keeps categories
                                  not named in the import. Rules without "ignore_case" are
                                  taken as case-insensitive. Repeated names are OR-ed.
POST   /api/0/categories/preview  body {"rule": {...}?, "categories": [...]?, "date"?, "tz"?,
                                  "start_of_day"?, "host"?} -> {"matches": [...] what the rule
                                  matches that day, "uncategorized": [...] what the given (or
                                  stored) categories leave uncategorized}
"""

from __future__ import annotations

from aiohttp import web

from tg_core import categories as core
from tg_core import reports
from tg_core.errors import BadRequest
from tg_core.reports import Day
from tg_core.transforms.categorize import parse_rule

from ..context import STORAGE, run_db, run_write
from ..http import json_response, read_json
from .reports import Params, load_events

routes = web.RouteTableDef()


def _state(storage) -> dict:
    return {"categories": core.load_classes(storage),
            "default": core.is_default(storage)}


def _save(storage, classes) -> dict:
    core.save_classes(storage, classes)
    return _state(storage)


def _reset(storage) -> dict:
    core.reset_classes(storage)
    return _state(storage)


def _import(storage, classes: list[dict], merge: bool) -> dict:
    if merge:
        classes = core.merge_classes(core.load_classes(storage), classes)
    return _save(storage, classes)


@routes.get("/api/0/categories")
async def get_categories(request: web.Request) -> web.Response:
    """The categories in aw-webui's `classes` form, and whether they are the defaults."""
    return json_response(await run_db(request, _state, request.app[STORAGE]))


@routes.put("/api/0/categories")
async def put_categories(request: web.Request) -> web.Response:
    """Replace every category (validated first: all or nothing)."""
    classes = core.normalize_classes(await read_json(request))
    return json_response(await run_write(request, _save, request.app[STORAGE], classes))


@routes.delete("/api/0/categories")
async def reset_categories(request: web.Request) -> web.Response:
    """Restore the default category set."""
    return json_response(await run_write(request, _reset, request.app[STORAGE]))


@routes.get("/api/0/categories/export")
async def export_categories(request: web.Request) -> web.Response:
    """The categories as aw-webui's export file (its "Import categories" reads it)."""
    classes = await run_db(request, core.load_classes, request.app[STORAGE])
    return json_response(core.export_classes(classes), headers={
        "Content-Disposition": 'attachment; filename="timelygator-categories.json"'})


@routes.post("/api/0/categories/import")
async def import_categories(request: web.Request) -> web.Response:
    """Import ActivityWatch categories, replacing (default) or merging by name."""
    mode = request.query.get("mode", "replace")
    if mode not in ("replace", "merge"):
        raise BadRequest(f"invalid mode {mode!r}: expected replace or merge", code="invalid_mode")
    classes = core.normalize_classes(await read_json(request), merge_duplicates=True)
    return json_response(await run_write(request, _import, request.app[STORAGE], classes,
                                         mode == "merge"))


def _preview(storage, params: Params, date, rule, classes) -> dict:
    sod, host = params.resolve(storage)
    date = date or params.today(sod)
    day = Day.make(date, params.tz, sod)
    events = load_events(storage, host, day.start, day.end)
    cats = core.build(classes if classes is not None else core.load_classes(storage))
    out = {"date": date.isoformat(), "host": host}
    if rule is not None:
        out["matches"] = reports.rule_matches(events, day, rule.match)
    out["uncategorized"] = reports.rule_matches(
        events, day, lambda data: cats.classify(data) == core.UNCATEGORIZED)
    return out


@routes.post("/api/0/categories/preview")
async def preview(request: web.Request) -> web.Response:
    """What a rule would match on a day, and what stays uncategorized (see module doc)."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("expected a JSON object", code="invalid_preview")
    query = {k: body[k] for k in ("tz", "start_of_day", "host") if body.get(k) is not None}
    for key, value in query.items():
        if not isinstance(value, str):
            raise BadRequest(f"'{key}' must be a string", code="invalid_preview")
    params = Params(query)
    date = reports.parse_date(body["date"]) if body.get("date") is not None else None
    rule = None
    if body.get("rule") is not None:
        checked = core.normalize_classes([{"name": ["Preview"], "rule": body["rule"]}])
        rule = parse_rule(checked[0]["rule"], "rule", True) \
            if checked[0]["rule"]["type"] else None
    classes = core.normalize_classes(body["categories"]) \
        if body.get("categories") is not None else None
    return json_response(await run_db(request, _preview, request.app[STORAGE], params, date,
                                      rule, classes))
