"""cloud.iO payloads and the message dispatcher (reference/cloudio.md, seed 3.2.5.9 and Appendix 4).

Payload shapes::

    Attribute          {"constraint": "Measure", "type": "Number", "timestamp": 1.6e9, "value": 5.0}
    short command      {"timestamp": 1.6e9, "value": 1}       (seed 4.2.1.1; decoded against the declared one)
    @online            {"version": "v0.2", "messageFormatVersion": 2, "supportedFormats": [...], "nodes": {...}}
    @nodeAdded         {"implements": [...], "objects": {...}}
    @transaction       {"attributes": {"<ep>/<node>/<obj>/<attr>": Attribute, ...}}
    @delayed           {"timestamp": t, "messages": [{"topic": "@update/...", "data": Attribute}, ...]}
    @ack (goflex)      {"acked": [[lo, hi], ...], "resend": [[lo, hi], ...]}   inclusive sequence ranges

:func:`decode_message` turns (topic, payload) into one of the frozen message classes below, or raises an
:class:`~goflex.cloudio.errors.InvalidTopic` or :class:`~goflex.cloudio.errors.RejectedPayload`; nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from goflex.cloudio.codec import Format, decode, encode
from goflex.cloudio.errors import InvalidName, InvalidTopic, RejectedPayload, RejectReason
from goflex.cloudio.model import INT64_MAX, Attribute, AttributePath, EndpointModel, Node
from goflex.cloudio.payloads import (
    attribute_from_doc,
    attribute_to_doc,
    endpoint_from_doc,
    endpoint_to_doc,
    node_from_doc,
    node_to_doc,
    require_keys,
    require_map,
    timestamp_from_doc,
)
from goflex.cloudio.topics import Action, Topic, TopicForm, build_topic, parse_topic

SEQ_PROPERTY = "goflex-seq"
"""MQTT 5 user property carrying the endpoint's per-endpoint message sequence number (absent from plain cloud.iO
endpoints, whose delivery guarantee is the broker's)."""
MAX_ACK_RANGES = 4096
"""Most ranges in one of the two lists of an @ack."""


def encode_attribute(attr: Attribute, fmt: Format = Format.JSON) -> bytes:
    """Encode an attribute payload: exactly ``constraint``, ``type``, ``timestamp`` [s], ``value``."""
    return encode(attribute_to_doc(attr), fmt)


def decode_attribute(data: bytes, *, declared: Attribute | None = None, field: str = "attribute") -> Attribute:
    """Decode an attribute payload (@update, @set, @didSet); timestamp and value are required.

    Args:
        data: the payload.
        declared: the attribute as declared in the endpoint's model; needed for the short form
            ``{"timestamp", "value"}``; when given, constraint and type must match it.
        field: name of the document in error messages.

    Raises:
        RejectedPayload: WRONG_SCHEMA, UNKNOWN_KEY, CONSTRAINT, WRONG_TYPE, NO_TIMESTAMP and the codec's reasons.
    """
    return attribute_from_doc(decode(data), declared=declared, field=field)


def encode_endpoint(model: EndpointModel, fmt: Format = Format.JSON) -> bytes:
    """Encode the @online payload (Static attributes carry no timestamp)."""
    return encode(endpoint_to_doc(model), fmt)


def decode_endpoint(name: str, data: bytes) -> EndpointModel:
    """Decode the @online payload of endpoint ``name``.

    Raises:
        RejectedPayload: the payload is not a valid endpoint model.
    """
    return endpoint_from_doc(name, decode(data))


def encode_node(node: Node, fmt: Format = Format.JSON) -> bytes:
    """Encode the @nodeAdded payload."""
    return encode(node_to_doc(node), fmt)


def decode_node(data: bytes) -> Node:
    """Decode the @nodeAdded payload.

    Raises:
        RejectedPayload: the payload is not a valid node.
    """
    return node_from_doc(decode(data), "node")


def _declared(model: EndpointModel | None, path: AttributePath) -> Attribute | None:
    return None if model is None else model.attribute(path)


def encode_transaction(
    items: Sequence[tuple[AttributePath, Attribute]], fmt: Format = Format.JSON, *, form: TopicForm = TopicForm.SHORT
) -> bytes:
    """Encode a @transaction payload (keys are short paths unless ``form`` is LONG).

    Raises:
        RejectedPayload: MALFORMED if a path appears twice.
    """
    attributes: dict[str, object] = {}
    for path, attribute in items:
        key = path.long() if form is TopicForm.LONG else str(path)
        if key in attributes:
            raise RejectedPayload(RejectReason.MALFORMED, f"transaction.attributes.{key}", "path given twice")
        attributes[key] = attribute_to_doc(attribute)
    return encode({"attributes": attributes}, fmt)


def decode_transaction(
    endpoint: str, data: bytes, *, model: EndpointModel | None = None
) -> list[tuple[AttributePath, Attribute]]:
    """Decode a @transaction payload of ``endpoint``; keys may be short or long paths.

    Raises:
        RejectedPayload: DENIED if a path belongs to another endpoint; MALFORMED for a bad or repeated path;
            UNKNOWN_ATTRIBUTE if ``model`` is given and lacks one; the attribute reasons.
    """
    doc = decode(data)
    require_keys(doc, "transaction", required={"attributes"})
    attributes = require_map(doc["attributes"], "transaction.attributes")
    items: list[tuple[AttributePath, Attribute]] = []
    seen: set[AttributePath] = set()
    for key, value in attributes.items():
        field = f"transaction.attributes.{key}"
        try:
            path = AttributePath.parse(key)
        except InvalidName as exc:
            raise RejectedPayload(RejectReason.MALFORMED, field, str(exc)) from exc
        if path.endpoint != endpoint:
            raise RejectedPayload(RejectReason.DENIED, field, f"not an attribute of endpoint {endpoint!r}")
        if path in seen:
            raise RejectedPayload(RejectReason.MALFORMED, field, "path given twice")
        seen.add(path)
        items.append((path, attribute_from_doc(value, declared=_declared(model, path), field=field)))
    return items


def encode_delayed(
    timestamp: float,
    messages: Sequence[tuple[Topic, Attribute]],
    fmt: Format = Format.JSON,
    *,
    form: TopicForm = TopicForm.LONG,
) -> bytes:
    """Encode a @delayed payload: the time of sending [s] and the buffered @update/@didSet messages."""
    entries = [{"topic": build_topic(topic, form), "data": attribute_to_doc(attr)} for topic, attr in messages]
    return encode({"timestamp": float(timestamp), "messages": entries}, fmt)


def decode_delayed(endpoint: str, data: bytes, *, model: EndpointModel | None = None) -> list[tuple[Topic, Attribute]]:
    """Decode a @delayed payload of ``endpoint`` into its buffered @update/@didSet messages.

    Raises:
        RejectedPayload: DENIED for an entry of another endpoint; WRONG_SCHEMA for an entry that is not an
            @update or @didSet; MALFORMED for a bad topic; the attribute reasons.
    """
    return _delayed_from_doc(endpoint, decode(data), model)[1]


def _delayed_from_doc(
    endpoint: str, doc: dict[str, object], model: EndpointModel | None
) -> tuple[float | None, list[tuple[Topic, Attribute]]]:
    require_keys(doc, "delayed", required={"messages"}, optional={"timestamp"})
    timestamp = timestamp_from_doc(doc.get("timestamp"), "delayed.timestamp", required=False)
    entries = doc["messages"]
    if not isinstance(entries, list):
        raise RejectedPayload(RejectReason.WRONG_SCHEMA, "delayed.messages", "expected an array")
    items: list[tuple[Topic, Attribute]] = []
    for index, raw in enumerate(entries):
        field = f"delayed.messages[{index}]"
        entry = require_map(raw, field)
        require_keys(entry, field, required={"topic", "data"})
        if not isinstance(entry["topic"], str):
            raise RejectedPayload(RejectReason.WRONG_TYPE, f"{field}.topic", "expected text")
        try:
            topic = parse_topic(entry["topic"])
        except InvalidTopic as exc:
            raise RejectedPayload(RejectReason.MALFORMED, f"{field}.topic", str(exc)) from exc
        if topic.action not in (Action.UPDATE, Action.DID_SET):
            raise RejectedPayload(RejectReason.WRONG_SCHEMA, f"{field}.topic", "only @update and @didSet")
        path = topic.path
        assert path is not None  # @update and @didSet topics always carry a path
        if topic.endpoint != endpoint:
            raise RejectedPayload(RejectReason.DENIED, f"{field}.topic", f"not a topic of endpoint {endpoint!r}")
        attribute = attribute_from_doc(entry["data"], declared=_declared(model, path), field=f"{field}.data")
        items.append((topic, attribute))
    return timestamp, items


@dataclass(frozen=True)
class Ack:
    """Storage confirmations from ingest to an endpoint (goflex extension, topic ``@ack/<ep>``).

    Args:
        acked: inclusive ranges ``(lo, hi)`` of sequence numbers stored durably: the outbox may drop them.
        resend: inclusive ranges ingest found missing (gaps): the outbox should send them again.

    Raises:
        RejectedPayload: a range is not ``0 <= lo <= hi < 2**63``, or a list has more than 4096 ranges.
    """

    acked: tuple[tuple[int, int], ...]
    resend: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        for name in ("acked", "resend"):
            ranges = tuple(tuple(r) for r in getattr(self, name))
            if len(ranges) > MAX_ACK_RANGES:
                raise RejectedPayload(RejectReason.CONSTRAINT, f"ack.{name}", f"more than {MAX_ACK_RANGES} ranges")
            for index, pair in enumerate(ranges):
                field = f"ack.{name}[{index}]"
                if len(pair) != 2 or not all(isinstance(x, int) and not isinstance(x, bool) for x in pair):
                    raise RejectedPayload(RejectReason.WRONG_TYPE, field, "expected [lo, hi] integers")
                if not 0 <= pair[0] <= pair[1] <= INT64_MAX:
                    raise RejectedPayload(RejectReason.CONSTRAINT, field, "expected 0 <= lo <= hi < 2**63")
            object.__setattr__(self, name, ranges)

    @classmethod
    def from_sequences(cls, acked: Iterable[int], resend: Iterable[int] = ()) -> Ack:
        """Build an Ack from single sequence numbers, merged into the fewest ranges."""
        return cls(_ranges(acked), _ranges(resend))

    def covers(self, seq: int) -> bool:
        """True if ``seq`` is acknowledged."""
        return any(lo <= seq <= hi for lo, hi in self.acked)


def _ranges(seqs: Iterable[int]) -> tuple[tuple[int, int], ...]:
    ranges: list[tuple[int, int]] = []
    for seq in sorted(set(seqs)):
        if ranges and ranges[-1][1] + 1 == seq:
            ranges[-1] = (ranges[-1][0], seq)
        else:
            ranges.append((seq, seq))
    return tuple(ranges)


def encode_ack(ack: Ack, fmt: Format = Format.JSON) -> bytes:
    """Encode an @ack payload."""
    return encode({"acked": [list(r) for r in ack.acked], "resend": [list(r) for r in ack.resend]}, fmt)


def decode_ack(data: bytes) -> Ack:
    """Decode an @ack payload (``resend`` may be absent).

    Raises:
        RejectedPayload: WRONG_SCHEMA, WRONG_TYPE or CONSTRAINT for bad ranges, and the codec's reasons.
    """
    doc = decode(data)
    require_keys(doc, "ack", required={"acked"}, optional={"resend"})
    lists = []
    for name in ("acked", "resend"):
        raw = doc.get(name, [])
        if not isinstance(raw, list) or not all(isinstance(r, list) for r in raw):
            raise RejectedPayload(RejectReason.WRONG_SCHEMA, f"ack.{name}", "expected an array of [lo, hi]")
        lists.append(tuple(tuple(r) for r in raw))
    return Ack(*lists)


# --- messages and the dispatcher ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OnlineMessage:
    model: EndpointModel

    @property
    def endpoint(self) -> str:
        """The endpoint's name (that of its model)."""
        return self.model.name


@dataclass(frozen=True)
class OfflineMessage:
    endpoint: str


@dataclass(frozen=True)
class NodeAddedMessage:
    endpoint: str
    node_name: str
    node: Node


@dataclass(frozen=True)
class NodeRemovedMessage:
    endpoint: str
    node_name: str


@dataclass(frozen=True)
class UpdateMessage:
    path: AttributePath
    attribute: Attribute


@dataclass(frozen=True)
class SetMessage:
    path: AttributePath
    attribute: Attribute


@dataclass(frozen=True)
class DidSetMessage:
    path: AttributePath
    attribute: Attribute


@dataclass(frozen=True)
class TransactionMessage:
    endpoint: str
    items: tuple[tuple[AttributePath, Attribute], ...]


@dataclass(frozen=True)
class DelayedMessage:
    """Buffered messages; ``timestamp`` is when the endpoint sent the batch [s], if it said."""

    endpoint: str
    items: tuple[tuple[Topic, Attribute], ...]
    timestamp: float | None = None


@dataclass(frozen=True)
class LogsMessage:
    """A log record of an endpoint; fields absent from the payload are empty."""

    endpoint: str
    text: str
    level: str = ""
    timestamp: float | None = None
    logger: str = ""


@dataclass(frozen=True)
class LogsLevelMessage:
    endpoint: str
    level: str


@dataclass(frozen=True)
class ExecMessage:
    """A job for the endpoint; the payload is passed on uninterpreted."""

    endpoint: str
    payload: bytes


@dataclass(frozen=True)
class AckMessage:
    endpoint: str
    ack: Ack


Message = (
    OnlineMessage
    | OfflineMessage
    | NodeAddedMessage
    | NodeRemovedMessage
    | UpdateMessage
    | SetMessage
    | DidSetMessage
    | TransactionMessage
    | DelayedMessage
    | LogsMessage
    | LogsLevelMessage
    | ExecMessage
    | AckMessage
)


def _check_action(action: Action, attribute: Attribute, field: str) -> None:
    # cloudio.md: @update only for Status/Measure, @set/@didSet only for Parameter/SetPoint.
    allowed = attribute.constraint.updatable if action is Action.UPDATE else attribute.constraint.settable
    if not allowed:
        raise RejectedPayload(
            RejectReason.CONSTRAINT, field, f"{action.value} is not valid for a {attribute.constraint.value} attribute"
        )


def decode_message(topic: str, payload: bytes, *, model: EndpointModel | None = None) -> Message:
    """Decode one MQTT message.

    Args:
        topic: the MQTT topic, long or short form.
        payload: the MQTT payload.
        model: the endpoint's data model, if known; then an @update must target an existing Status/Measure
            attribute of the declared type, and @set/@didSet a Parameter/SetPoint one.

    Raises:
        InvalidTopic: the topic is malformed.
        RejectedPayload: the payload is refused; ``reason`` says why.
    """
    parsed = parse_topic(topic)
    action, endpoint = parsed.action, parsed.endpoint
    try:
        return _dispatch(parsed, action, endpoint, payload, model)
    except InvalidName as exc:  # a name inside a payload
        raise RejectedPayload(RejectReason.MALFORMED, action.value, str(exc)) from exc


def _dispatch(  # noqa: PLR0911, PLR0912 (one branch per action reads best)
    parsed: Topic, action: Action, endpoint: str, payload: bytes, model: EndpointModel | None
) -> Message:
    path = parsed.path
    if path is not None:
        field = action.value.lstrip("@")
        attribute = decode_attribute(payload, declared=_declared(model, path), field=field)
        _check_action(action, attribute, field)
        if action is Action.UPDATE:
            return UpdateMessage(path, attribute)
        return SetMessage(path, attribute) if action is Action.SET else DidSetMessage(path, attribute)
    if action is Action.ONLINE:
        return OnlineMessage(decode_endpoint(endpoint, payload))
    if action is Action.OFFLINE:
        return OfflineMessage(endpoint)  # the last will's payload is empty; ignore whatever it holds
    if action is Action.NODE_ADDED:
        assert parsed.node is not None  # guaranteed by the topic grammar
        return NodeAddedMessage(endpoint, parsed.node, decode_node(payload))
    if action is Action.NODE_REMOVED:
        assert parsed.node is not None
        return NodeRemovedMessage(endpoint, parsed.node)
    if action is Action.TRANSACTION:
        items = decode_transaction(endpoint, payload, model=model)
        for item_path, attribute in items:
            _check_action(Action.UPDATE, attribute, f"transaction.attributes.{item_path}")
        return TransactionMessage(endpoint, tuple(items))
    if action is Action.DELAYED:
        timestamp, entries = _delayed_from_doc(endpoint, decode(payload), model)
        for index, (entry_topic, attribute) in enumerate(entries):
            _check_action(entry_topic.action, attribute, f"delayed.messages[{index}]")
        return DelayedMessage(endpoint, tuple(entries), timestamp)
    if action is Action.ACK:
        return AckMessage(endpoint, decode_ack(payload))
    if action is Action.EXEC:
        if not isinstance(payload, bytes | bytearray):
            raise RejectedPayload(RejectReason.MALFORMED, "exec", "payload is not bytes")
        return ExecMessage(endpoint, bytes(payload))
    doc = decode(payload)
    if action is Action.LOGS_LEVEL:
        require_keys(doc, "logsLevel", required={"level"})
        return LogsLevelMessage(endpoint, _text(doc, "level", "logsLevel"))
    require_keys(doc, "logs", required={"message"}, optional={"level", "timestamp", "loggerName", "logSource"})
    return LogsMessage(
        endpoint,
        text=_text(doc, "message", "logs"),
        level=_text(doc, "level", "logs"),
        timestamp=timestamp_from_doc(doc.get("timestamp"), "logs.timestamp", required=False),
        logger=_text(doc, "loggerName", "logs"),
    )


def _text(doc: dict[str, object], key: str, where: str) -> str:
    value = doc.get(key, "")
    if not isinstance(value, str):
        raise RejectedPayload(RejectReason.WRONG_TYPE, f"{where}.{key}", "expected text")
    return value
