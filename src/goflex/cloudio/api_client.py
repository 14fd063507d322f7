"""A thin client of the goflex HTTP API (cloud.iO-style ``/api/v1``, issue 2 section 6) for applications.

* ``GET /api/v1/data/<ep>``: structure and last values -> :class:`EndpointData`;
* ``GET /api/v1/data/<ep>/<path>``: one attribute -> :class:`~goflex.cloudio.model.Attribute`;
* ``GET /api/v1/history/<ep>/<path>?from=&to=&resampleInterval=&resampleFunction=&fillValue=&max=``
  -> ``[HistoryPoint]``;
* ``PUT /api/v1/data/<ep>/<path>?value=``: the API publishes ``@set`` (it checks the caller's WRITE right).

Every call has a timeout (10 s by default); ``httpx`` errors are translated at this edge into :class:`ApiError`
(``status`` 0 when the API was unreachable) and :class:`ApiNotFound` (404, and 403: the API answers both the
same way so that existence does not leak). Credentials are never logged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import httpx

from goflex.cloudio.errors import CloudioError, RejectedPayload, RejectReason
from goflex.cloudio.model import Attribute, AttributePath, EndpointModel, Value
from goflex.cloudio.payloads import attribute_from_doc, endpoint_from_doc

API_PREFIX = "/api/v1"
_MODEL_KEYS = ("version", "messageFormatVersion", "supportedFormats", "nodes")


class ApiError(CloudioError):
    """The HTTP API refused or failed a request.

    Attributes:
        status: the HTTP status, or 0 if the API could not be reached.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP API: {message}" + (f" (HTTP {status})" if status else ""))
        self.status = status


class ApiNotFound(ApiError):  # noqa: N818 - named for the caller's decision
    """No such endpoint or attribute, or no right to see it (the API answers both alike)."""


@dataclass(frozen=True, slots=True)
class EndpointData:
    """An endpoint as the API knows it.

    Attributes:
        model: data model with the last stored value of each attribute.
        online: connected (last ``@online`` not followed by ``@offline``).
        banned: banned by an administrator.
    """

    model: EndpointModel
    online: bool
    banned: bool


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """One stored (or resampled) value: ``time`` (aware UTC; bucket start when resampled) and ``value``."""

    time: datetime
    value: Value | None


def _path(path: AttributePath | str) -> AttributePath:
    if isinstance(path, AttributePath):
        return path
    try:
        return AttributePath.parse(path)
    except CloudioError as exc:
        raise RejectedPayload(RejectReason.MALFORMED, "path", str(exc)) from exc


def _url_path(path: AttributePath) -> str:
    segments = (path.endpoint, path.node, *path.objects, path.attribute)
    return "/".join(quote(segment, safe="") for segment in segments)


def _iso(t: datetime) -> str:
    if t.tzinfo is None:
        raise ValueError("naive datetime: goflex uses aware UTC datetimes")
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


class ApiClient:
    """Calls to the goflex HTTP API.

    Args:
        base_url: where the API is served (``https://host[:port]``); ``/api/v1`` is appended.
        auth: ``(user, password)`` for HTTP Basic, or any ``httpx.Auth``.
        transport: an ``httpx`` transport (tests use ``httpx.MockTransport``).
        timeout_s: per-request timeout [s].
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: tuple[str, str] | httpx.Auth | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + API_PREFIX,
            auth=httpx.BasicAuth(*auth) if isinstance(auth, tuple) else auth,
            transport=transport,
            timeout=timeout_s,
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _request(self, method: str, url: str, params: dict[str, str] | None = None) -> httpx.Response:
        try:
            response = await self._http.request(method, url, params=params)
        except httpx.HTTPError as exc:
            raise ApiError(0, f"{method} {url} failed: {type(exc).__name__}") from exc
        if response.status_code in (403, 404):
            raise ApiNotFound(response.status_code, f"{method} {url}: not found")
        if response.status_code >= 400:
            raise ApiError(response.status_code, f"{method} {url}: {response.text[:200]}")
        return response

    async def _json(self, url: str, params: dict[str, str] | None = None) -> object:
        response = await self._request("GET", url, params)
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ApiError(response.status_code, f"GET {url}: the answer is not JSON") from exc

    async def endpoint_data(self, endpoint: str) -> EndpointData:
        """``GET /data/<endpoint>``.

        Raises:
            ApiNotFound: unknown or not visible; ApiError: other failures or a malformed answer.
        """
        url = f"/data/{quote(endpoint, safe='')}"
        doc = await self._json(url)
        if not isinstance(doc, dict):
            raise ApiError(200, f"GET {url}: expected an object")
        try:
            model = endpoint_from_doc(endpoint, {k: doc[k] for k in _MODEL_KEYS if k in doc})
        except CloudioError as exc:
            raise ApiError(200, f"GET {url}: malformed model: {exc}") from exc
        return EndpointData(model, bool(doc.get("online", False)), bool(doc.get("banned", False)))

    async def attribute(self, path: AttributePath | str) -> Attribute:
        """``GET /data/<endpoint>/<path>``: the attribute with its last stored value (None if none yet).

        Raises:
            ApiNotFound: no such attribute or endpoint; ApiError: other failures or not an attribute.
        """
        url = f"/data/{_url_path(_path(path))}"
        doc = await self._json(url)
        try:
            return attribute_from_doc(doc, declared=None, field="attribute", in_model=True)
        except CloudioError as exc:
            raise ApiError(200, f"GET {url}: not an attribute: {exc}") from exc

    async def history(
        self,
        path: AttributePath | str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        resample_interval: str | None = None,
        resample_function: str | None = None,
        fill_value: float | None = None,
        max_rows: int | None = None,
    ) -> list[HistoryPoint]:
        """``GET /history/<endpoint>/<path>``: values in ``[start, end)``, oldest first.

        Args:
            path: the attribute.
            start, end: aware datetimes; the API defaults to the last 24 h.
            resample_interval: ``1m``, ``15m``, ``1h``, ``1d`` or seconds.
            resample_function: MEAN, MIN, MAX, SUM, FIRST, LAST, COUNT or INTEGRAL.
            fill_value: value of empty buckets when resampling.
            max_rows: at most this many points (the API also caps it).

        Raises:
            ApiNotFound: unknown or not visible; ApiError: other failures or a malformed answer.
        """
        params = {
            "from": _iso(start) if start else None,
            "to": _iso(end) if end else None,
            "resampleInterval": resample_interval,
            "resampleFunction": resample_function,
            "fillValue": None if fill_value is None else repr(float(fill_value)),
            "max": None if max_rows is None else str(max_rows),
            "format": "json",
        }
        url = f"/history/{_url_path(_path(path))}"
        rows = await self._json(url, {k: v for k, v in params.items() if v is not None})
        if not isinstance(rows, list):
            raise ApiError(200, f"GET {url}: expected an array")
        points = []
        for row in rows:
            try:
                time = datetime.fromisoformat(row["time"])
                value = row["value"]
            except (TypeError, KeyError, ValueError) as exc:
                raise ApiError(200, f"GET {url}: malformed point") from exc
            if not (value is None or isinstance(value, bool | int | float | str)) or time.tzinfo is None:
                raise ApiError(200, f"GET {url}: malformed point")
            points.append(HistoryPoint(time.astimezone(UTC), value))
        return points

    async def put_value(self, path: AttributePath | str, value: Value) -> None:
        """``PUT /data/<endpoint>/<path>?value=``: ask the API to publish ``@set`` (needs WRITE).

        Raises:
            ApiNotFound: unknown or not visible; ApiError: refused (e.g. 422 not settable / wrong type).
        """
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        await self._request("PUT", f"/data/{_url_path(_path(path))}", {"value": text})
