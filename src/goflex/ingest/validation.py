"""Turn one received MQTT message into what ingest stores: values, model changes, presence, rejections.

Pure (no I/O). The cloud.iO core decodes and checks the wire format (:func:`goflex.cloudio.messages.
decode_message`); this module adds what only the platform can judge (issue 2 section 5, reliability.md R10, Q1):

* the value's timestamp must lie within ``[now - acceptance_window_s, now + future_tolerance_s]``
  (TIMESTAMP_TOO_OLD / TIMESTAMP_FUTURE). The window must exceed the gateways' outbox max age, or back-filled
  values would be refused;
* an update must name an attribute of the endpoint's current model (UNKNOWN_ATTRIBUTE), carry its declared type
  (WRONG_TYPE) and be allowed for its constraint (CONSTRAINT: ``@update`` only for Status/Measure, ``@didSet`` only
  for Parameter/SetPoint; cloudio.md "Data model").

Granularity: a bad *envelope* (topic, encoding, schema of the whole document) rejects the whole message; inside a
``@transaction`` or ``@delayed`` each item is judged on its own, so one bad item is dead-lettered and the good
ones around it are stored (DESIGN.md 4: bad input never loses the good data around it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from goflex.cloudio.codec import decode
from goflex.cloudio.errors import CloudioError, InvalidName, RejectedPayload, RejectReason
from goflex.cloudio.messages import (
    DidSetMessage,
    Message,
    NodeAddedMessage,
    NodeRemovedMessage,
    OfflineMessage,
    OnlineMessage,
    UpdateMessage,
    decode_message,
)
from goflex.cloudio.model import Attribute, AttributePath, AttributeType, EndpointModel, Value
from goflex.cloudio.payloads import attribute_from_doc, require_keys, require_map
from goflex.cloudio.topics import Action, parse_topic


class Presence(StrEnum):
    """An endpoint's connection event."""

    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True)
class Item:
    """One value to store.

    Attributes:
        path: the attribute.
        timestamp: when the value was taken [s since the epoch, UTC].
        value: the value, of type ``type``.
        type: the attribute's declared type.
        index: position of the item inside its MQTT message (0 for ``@update``); with the message's sequence
            number it identifies the row, so a re-sent message is recognised item by item.
    """

    path: AttributePath
    timestamp: float
    value: Value
    type: AttributeType
    index: int = 0


@dataclass(frozen=True)
class Rejection:
    """Why a message (``index`` None) or one item of it was refused."""

    reason: RejectReason
    detail: str
    index: int | None = None


@dataclass(frozen=True)
class Verdict:
    """Everything ingest learnt from one message.

    Attributes:
        endpoint: the endpoint named by the topic, None if the topic could not be read.
        action: the topic's action, None if the topic could not be read.
        items: values to store (history and last values).
        rejections: what was refused (dead letters).
        model: the endpoint's new data model (``@online``, ``@nodeAdded``, ``@nodeRemoved``), else None.
        presence: ``@online`` / ``@offline``, else None.
    """

    endpoint: str | None
    action: Action | None
    items: tuple[Item, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    model: EndpointModel | None = None
    presence: Presence | None = None


def endpoint_of(topic: str) -> str | None:
    """The endpoint a topic names (second level), without validating the rest; None if there is none."""
    parts = topic.split("/", 2)
    return parts[1] if len(parts) > 1 and parts[1] else None


class Validator:
    """Checks received messages against the cloud.iO rules, the endpoint's model and the time window.

    Args:
        future_tolerance_s: newest accepted timestamp ahead of now [s] (R10: 600).
        acceptance_window_s: oldest accepted timestamp behind now [s]; must exceed the outbox max age.
    """

    def __init__(self, *, future_tolerance_s: float = 600.0, acceptance_window_s: float = 30 * 86_400.0) -> None:
        self.future_tolerance_s = future_tolerance_s
        self.acceptance_window_s = acceptance_window_s

    def check_time(self, timestamp: float | None, now: float) -> Rejection | None:
        """Refuse a missing timestamp or one outside the acceptance window (``now`` [epoch s])."""
        if timestamp is None or not math.isfinite(timestamp):
            return Rejection(RejectReason.NO_TIMESTAMP, "the value has no timestamp")
        if timestamp > now + self.future_tolerance_s:
            ahead = timestamp - now
            return Rejection(RejectReason.TIMESTAMP_FUTURE, f"timestamp {ahead:.0f} s ahead of the platform clock")
        if timestamp < now - self.acceptance_window_s:
            behind = now - timestamp
            return Rejection(RejectReason.TIMESTAMP_TOO_OLD, f"timestamp {behind:.0f} s old, beyond the window")
        return None

    def check_item(
        self, model: EndpointModel, path: AttributePath, attribute: Attribute, *, action: Action, now: float, index: int
    ) -> Item | Rejection:
        """Judge one value against the model (unknown attribute, type, constraint) and the time window."""
        declared = model.find(path)
        if declared is None:
            return Rejection(RejectReason.UNKNOWN_ATTRIBUTE, f"{path} is not in the endpoint's model", index)
        if attribute.type is not declared.type:
            detail = f"{path} is {declared.type.value}, got {attribute.type.value}"
            return Rejection(RejectReason.WRONG_TYPE, detail, index)
        allowed = declared.constraint.settable if action is Action.DID_SET else declared.constraint.updatable
        if not allowed:
            detail = f"{action.value} is not allowed for {path} ({declared.constraint.value})"
            return Rejection(RejectReason.CONSTRAINT, detail, index)
        if attribute.value is None:
            return Rejection(RejectReason.WRONG_SCHEMA, f"{path}: no value", index)
        late = self.check_time(attribute.timestamp, now)
        if late is not None:
            return Rejection(late.reason, f"{path}: {late.detail}", index)
        assert attribute.timestamp is not None  # check_time refuses None
        return Item(path, attribute.timestamp, attribute.value, declared.type, index)

    def validate(self, topic: str, payload: bytes, *, model: EndpointModel | None, now: float) -> Verdict:
        """Judge one message.

        Args:
            topic: the MQTT topic.
            payload: the raw payload.
            model: the endpoint's current data model, None if unknown (then every value is UNKNOWN_ATTRIBUTE).
            now: the platform's time [epoch s].

        Returns:
            the verdict; never raises for bad input.
        """
        try:
            parsed = parse_topic(topic)
        except CloudioError as exc:
            return Verdict(endpoint_of(topic), None, rejections=(Rejection(exc.reason, str(exc)),))
        endpoint, action = parsed.endpoint, parsed.action
        if action in (Action.TRANSACTION, Action.DELAYED):
            try:
                pairs, rejected = unpack(action, endpoint, payload, model)
            except CloudioError as exc:  # the envelope itself is bad: the whole message goes
                return Verdict(endpoint, action, rejections=(Rejection(exc.reason, str(exc)),))
            return self._items(endpoint, action, model, pairs, now=now, rejected=rejected)
        try:
            message = decode_message(topic, payload, model=model)
        except CloudioError as exc:
            return Verdict(endpoint, action, rejections=(Rejection(exc.reason, str(exc)),))
        return self._judge(endpoint, action, message, model, now)

    def _judge(  # noqa: PLR0911 (one return per action reads best)
        self, endpoint: str, action: Action, message: Message, model: EndpointModel | None, now: float
    ) -> Verdict:
        match message:
            case OnlineMessage():
                return Verdict(endpoint, action, model=message.model, presence=Presence.ONLINE)
            case OfflineMessage():
                return Verdict(endpoint, action, presence=Presence.OFFLINE)
            case NodeAddedMessage():
                if model is None:
                    reason = Rejection(RejectReason.UNKNOWN_ATTRIBUTE, "node added to an endpoint with no model")
                    return Verdict(endpoint, action, rejections=(reason,))
                return Verdict(endpoint, action, model=model.with_node(message.node_name, message.node))
            case NodeRemovedMessage():
                changed = None if model is None else model.without_node(message.node_name)
                return Verdict(endpoint, action, model=changed)
            case UpdateMessage() | DidSetMessage():
                return self._items(endpoint, action, model, [(0, message.path, message.attribute)], now=now)
        problem = Rejection(RejectReason.DENIED, f"ingest does not store {action.value}")
        return Verdict(endpoint, action, rejections=(problem,))

    def _items(
        self,
        endpoint: str,
        action: Action,
        model: EndpointModel | None,
        pairs: Iterable[tuple[int, AttributePath, Attribute]],
        *,
        now: float,
        rejected: Iterable[Rejection] = (),
    ) -> Verdict:
        items: list[Item] = []
        rejections = list(rejected)
        per_item = Action.DID_SET if action is Action.DID_SET else Action.UPDATE
        single = action in (Action.UPDATE, Action.DID_SET)
        for index, path, attribute in pairs:
            where = None if single else index
            if model is None:
                rejections.append(Rejection(RejectReason.UNKNOWN_ATTRIBUTE, f"{path}: endpoint has no model", where))
                continue
            outcome = self.check_item(model, path, attribute, action=per_item, now=now, index=index)
            if isinstance(outcome, Item):
                items.append(outcome)
            else:
                rejections.append(Rejection(outcome.reason, outcome.detail, where))
        rejections.sort(key=lambda r: -1 if r.index is None else r.index)
        return Verdict(endpoint, action, items=tuple(items), rejections=tuple(rejections))


def unpack(
    action: Action, endpoint: str, payload: bytes, model: EndpointModel | None
) -> tuple[list[tuple[int, AttributePath, Attribute]], list[Rejection]]:
    """Split a @transaction or @delayed payload into its items, judging each on its own.

    Returns:
        (index, path, attribute) of the items that decode, and a rejection per item that does not.

    Raises:
        CloudioError: the envelope is bad (encoding, size, depth, missing or unknown top-level keys).
    """
    doc = decode(payload)
    good: list[tuple[int, AttributePath, Attribute]] = []
    bad: list[Rejection] = []
    if action is Action.TRANSACTION:
        require_keys(doc, "transaction", required={"attributes"})
        raw_items: list[tuple[object, object]] = list(require_map(doc["attributes"], "transaction.attributes").items())
    else:
        require_keys(doc, "delayed", required={"messages"}, optional={"timestamp"})
        entries = doc["messages"]
        if not isinstance(entries, list):
            raise RejectedPayload(RejectReason.WRONG_SCHEMA, "delayed.messages", "expected an array")
        raw_items = []
        for index, raw in enumerate(entries):
            entry = raw if isinstance(raw, dict) else {}
            raw_items.append((entry.get("topic", index), raw))
    seen: set[AttributePath] = set()
    for index, (key, raw) in enumerate(raw_items):
        try:
            path, attribute = _item(action, endpoint, key, raw, model=model, index=index)
            # A transaction is a snapshot (one value per attribute); @delayed holds many values of one attribute.
            if action is Action.TRANSACTION:
                if path in seen:
                    raise RejectedPayload(RejectReason.MALFORMED, str(path), "given twice in one transaction")
                seen.add(path)
            good.append((index, path, attribute))
        except CloudioError as exc:
            bad.append(Rejection(exc.reason, str(exc), index))
    return good, bad


def _item(
    action: Action, endpoint: str, key: object, raw: object, *, model: EndpointModel | None, index: int
) -> tuple[AttributePath, Attribute]:
    if action is Action.TRANSACTION:
        field = f"transaction.attributes.{key}"
        try:
            path = AttributePath.parse(str(key))
        except InvalidName as exc:
            raise RejectedPayload(RejectReason.MALFORMED, field, str(exc)) from exc
        data: object = raw
    else:
        field = f"delayed.messages[{index}]"
        entry = require_map(raw, field)
        require_keys(entry, field, required={"topic", "data"})
        if not isinstance(entry["topic"], str):
            raise RejectedPayload(RejectReason.WRONG_TYPE, f"{field}.topic", "expected text")
        topic = parse_topic(entry["topic"])
        if topic.action is not Action.UPDATE or topic.path is None:
            raise RejectedPayload(RejectReason.WRONG_SCHEMA, f"{field}.topic", "only @update is stored from @delayed")
        path, data, field = topic.path, entry["data"], f"{field}.data"
    if path.endpoint != endpoint:
        raise RejectedPayload(RejectReason.DENIED, field, f"not an attribute of endpoint {endpoint!r}")
    declared = None if model is None else model.find(path)
    if model is not None and declared is None:
        raise RejectedPayload(RejectReason.UNKNOWN_ATTRIBUTE, str(path), "not in the endpoint's model")
    return path, attribute_from_doc(data, declared=declared, field=field)
