"""``/history``: stored values of one attribute, raw or resampled, as JSON or CSV (cloudio.md, Back-end API).

The answer is cloud.iO's ``[{"time": "2026-...Z", "value": 5.68}, ...]``, or ``time,value`` CSV when the client
sends ``Accept: text/csv`` or ``format=csv`` (Grafana and spreadsheets). At most ``max`` rows are returned (default
and ceiling: the app's ``history_max``); when more exist the answer carries ``X-Goflex-Truncated: true`` and
``X-Goflex-Max`` so a client knows to page on with a later ``from``.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from goflex.api.access import Caller, endpoint_permission, require
from goflex.api.context import API_PREFIX, services
from goflex.api.errors import invalid, not_found
from goflex.api.history_params import Point, fill_buckets, iso_z, parse_time, to_csv
from goflex.api.schemas import HistoryPoint, Responses, problems
from goflex.cloudio.errors import CloudioError
from goflex.cloudio.model import AttributePath
from goflex.store import EndpointPermission
from goflex.store.resample import InvalidResample, Resample, ResampleFunction, parse_interval

router = APIRouter(prefix=API_PREFIX, tags=["history"])

DEFAULT_SPAN: Final = timedelta(days=1)
TRUNCATED_HEADER: Final = "X-Goflex-Truncated"
MAX_HEADER: Final = "X-Goflex-Max"


_RESPONSES: Responses = {
    200: {"content": {"text/csv": {}}, "description": "JSON list, or time,value CSV"},
    **problems(e404="no such endpoint, or not visible to the caller"),
}


class OutputFormat(StrEnum):
    """Body format of a history answer."""

    JSON = "json"
    CSV = "csv"


@router.get(
    "/history/{endpoint}/{path:path}",
    summary="Stored values of an attribute, optionally resampled (JSON or CSV)",
    response_model=list[HistoryPoint],
    responses=_RESPONSES,
)
def get_history(
    *,
    endpoint: str,
    path: str,
    request: Request,
    caller: Annotated[Caller, require(endpoint_permission(EndpointPermission.READ))],
    from_: Annotated[str | None, Query(alias="from", description="start, ISO 8601 with zone or epoch [s]")] = None,
    to: Annotated[str | None, Query(description="end (exclusive); default now")] = None,
    resample_interval: Annotated[
        str | None, Query(alias="resampleInterval", description="bucket: 1m, 15m, 1h, 1d or seconds")
    ] = None,
    resample_function: Annotated[
        str | None,
        Query(alias="resampleFunction", description="MEAN, MIN, MAX, SUM, FIRST, LAST, COUNT or INTEGRAL"),
    ] = None,
    fill_value: Annotated[float | None, Query(alias="fillValue", description="value of empty buckets")] = None,
    max_rows: Annotated[int | None, Query(alias="max", ge=1, description="at most this many rows")] = None,
    output: Annotated[OutputFormat | None, Query(alias="format", description="json or csv")] = None,
) -> Response:
    """Values of ``path`` (short or long form) in ``[from, to)``, oldest first (default: the last 24 h)."""
    svc = services(request)
    try:
        attribute_path = AttributePath.parse(f"{endpoint}/{path}")
    except CloudioError as exc:
        raise invalid("path", f"not an attribute path: {exc}") from exc
    end = parse_time(to, "to") if to is not None else svc.clock.now()
    start = parse_time(from_, "from") if from_ is not None else end - DEFAULT_SPAN
    if start >= end:
        raise invalid("from", f"{iso_z(start)} is not before to={iso_z(end)}")
    limit = min(max_rows or svc.history_max, svc.history_max)
    resample = _resample(resample_interval, resample_function, fill_value)
    if svc.process.get_endpoint(endpoint) is None:
        raise not_found("endpoint", endpoint)
    rows = svc.history.query(endpoint, str(attribute_path), start, end, resample=resample, limit=limit)
    points = [Point(row.time, row.value) for row in rows]
    truncated = rows.truncated
    if resample is not None and fill_value is not None and not truncated:
        points = fill_buckets(points, start=start, end=end, interval=resample.interval, fill=fill_value)
        truncated = len(points) > limit
        points = points[:limit]
    headers = {MAX_HEADER: str(limit), TRUNCATED_HEADER: "true" if truncated else "false"}
    wants_csv = output is OutputFormat.CSV or (
        output is None and "text/csv" in request.headers.get("accept", "").lower()
    )
    if wants_csv:
        return Response(to_csv(points), media_type="text/csv; charset=utf-8", headers=headers)
    body = [{"time": iso_z(p.time), "value": p.value} for p in points]
    return JSONResponse(body, headers=headers)


def _resample(interval: str | None, function: str | None, fill_value: float | None) -> Resample | None:
    if interval is None:
        if function is not None:
            raise invalid("resampleInterval", "needed with resampleFunction")
        if fill_value is not None:
            raise invalid("fillValue", "only applies with resampleInterval")
        return None
    try:
        parse_interval(interval)
    except InvalidResample as exc:
        raise invalid("resampleInterval", str(exc)) from exc
    try:
        return Resample.parse(interval, function or ResampleFunction.MEAN.value)
    except InvalidResample as exc:
        raise invalid("resampleFunction", str(exc)) from exc
