"""ActivityWatch's export and import: every bucket with its events, as one JSON document."""

from __future__ import annotations

import json

from aiohttp import web

from tg_core.errors import BadRequest

from ..context import STORAGE, run_db, run_write
from ..http import json_response, read_json

routes = web.RouteTableDef()


def _attachment(payload: dict, filename: str) -> web.Response:
    return json_response(payload, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@routes.get("/api/0/export")
async def export_all(request: web.Request) -> web.Response:
    payload = await run_db(request, request.app[STORAGE].export_buckets)
    return _attachment(payload, "aw-buckets-export.json")


@routes.get("/api/0/buckets/{bucket_id}/export")
async def export_bucket(request: web.Request) -> web.Response:
    bucket_id = request.match_info["bucket_id"]
    storage = request.app[STORAGE]
    await run_db(request, storage.bucket, bucket_id)  # 404 for an unknown bucket
    payload = await run_db(request, storage.export_buckets, [bucket_id])
    return _attachment(payload, "aw-bucket-export.json")


@routes.post("/api/0/import")
async def import_buckets(request: web.Request) -> web.Response:
    """Import an export (JSON body, or a multipart form with the file, as aw-webui sends).

    Merges into existing buckets without duplicating events; all or nothing. Answers
    {"imported": {bucket_id: events added}}.
    """
    if request.content_type == "multipart/form-data":
        documents = []
        async for part in await request.multipart():
            raw = await part.read(decode=False)
            try:
                documents.append(json.loads(raw))
            except (ValueError, UnicodeDecodeError) as exc:
                raise BadRequest(f"the uploaded file is not valid JSON: {exc}", code="invalid_json") from None
    else:
        documents = [await read_json(request)]
    buckets = {}
    for doc in documents:
        if not isinstance(doc, dict) or not isinstance(doc.get("buckets"), dict):
            raise BadRequest('expected {"buckets": {bucket_id: bucket, ...}}', code="invalid_import")
        buckets.update(doc["buckets"])
    added = await run_write(request, request.app[STORAGE].import_buckets, buckets)
    return json_response({"imported": added})
