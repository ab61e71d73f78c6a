"""Reading an uploaded CSV file: a ``text/csv`` body, or the field ``file`` of a multipart form."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from shared.limits import BODY_LIMIT_KEY
from shared.problems import Problem

MAX_BYTES = 8 * 1024 * 1024  # 10,000 rows take about 1 MiB
MAX_UPLOAD_BYTES = MAX_BYTES + 64 * 1024  # the whole request: the file plus multipart framing
CSV_TYPES = ("text/csv", "application/csv")
EXAMPLE = ("machine_id,start,end,hours\n"
           "mac_0193a1b2c3d5a1b2c3d4e5f6,2030-01-14T08:00:00Z,2030-01-16T08:00:00Z,20\n"
           "mac_0193a1b2c3d5a1b2c3d4e5f6,2030-01-21T08:00:00+08:00,2030-01-22T20:00:00+08:00,30.5\n")

# The request body as OpenAPI describes it (the route reads the raw body itself), and the limit
# of the whole request (shared/limits.py): the file plus multipart framing.
OPENAPI_BODY = {BODY_LIMIT_KEY: MAX_UPLOAD_BYTES, "requestBody": {"required": True, "content": {
    "text/csv": {"schema": {"type": "string"}, "example": EXAMPLE},
    "multipart/form-data": {
        "schema": {"type": "object", "required": ["file"],
                   "properties": {"file": {"type": "string", "format": "binary",
                                           "description": "the CSV file"}}},
        "example": {"file": EXAMPLE}},
}}}


def _too_large() -> Problem:
    return Problem(413, "Content too large", f"the file is larger than {MAX_BYTES} bytes")


def _invalid(message: str) -> Problem:
    return Problem(422, "Validation failed", f"file: {message}; nothing was imported",
                   errors=[{"field": "file", "message": message}])


async def _body(request: Request) -> bytes:
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BYTES:
            raise _too_large()
    return bytes(data)


async def read_csv_upload(request: Request) -> str:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type in CSV_TYPES:
        data = await _body(request)
    elif media_type == "multipart/form-data":
        try:
            form = await request.form(max_files=1, max_fields=10)
        except HTTPException as exc:  # a malformed form, or too many fields or files
            raise _invalid(f"not a usable form: {exc.detail}") from exc
        upload = form.get("file")
        if upload is None:
            raise _invalid("the form has no field 'file'")
        data = await upload.read(MAX_BYTES + 1) if isinstance(upload, UploadFile) \
            else upload.encode("utf-8")
        if len(data) > MAX_BYTES:
            raise _too_large()
    else:
        raise Problem(415, "Unsupported media type",
                      "send the file as text/csv, or as the field 'file' of multipart/form-data")
    try:
        return data.decode("utf-8-sig")  # a spreadsheet's byte-order mark is no header
    except UnicodeDecodeError:
        raise _invalid("not UTF-8 text") from None


CsvUpload = Annotated[str, Depends(read_csv_upload)]
