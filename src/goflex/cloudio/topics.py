"""The cloud.iO topic grammar: the first level is the action, the second the endpoint (reference/cloudio.md).

Shapes::

    @online/<ep>  @offline/<ep>  @transaction/<ep>  @delayed/<ep>  @logs/<ep>  @logsLevel/<ep>  @exec/<ep>
    @ack/<ep>                                       (goflex extension: storage confirmations, ingest -> endpoint)
    @nodeAdded/<ep>/<node>            long: @nodeAdded/<ep>/nodes/<node>
    @update/<ep>/<node>/<obj>/.../<attr>
                                      long: @update/<ep>/nodes/<node>/objects/<obj>/.../attributes/<attr>
    (@set and @didSet like @update)

Long or short is decided by the segment after the endpoint: ``nodes`` means the long (v0.1) form of the Swiss
pilot, which must then fit exactly (so a typo in a pilot topic is an error, not a silently different short
path). That is why the node name ``nodes`` is reserved (:func:`goflex.cloudio.model.validate_node_name`); a
node-level short topic such as ``@nodeAdded/<ep>/nodes`` cannot occur because that name is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum

from goflex.cloudio.errors import InvalidName, InvalidTopic
from goflex.cloudio.model import AttributePath, parse_path_tail, validate_name, validate_node_name

MAX_TOPIC_LENGTH = 65535
"""MQTT limit for a topic [bytes of UTF-8]."""


class _Shape(Enum):
    ENDPOINT = "endpoint"
    NODE = "node"
    ATTRIBUTE = "attribute"


class Action(StrEnum):
    """The first topic level."""

    ONLINE = "@online"
    OFFLINE = "@offline"
    NODE_ADDED = "@nodeAdded"
    NODE_REMOVED = "@nodeRemoved"
    UPDATE = "@update"
    SET = "@set"
    DID_SET = "@didSet"
    TRANSACTION = "@transaction"
    DELAYED = "@delayed"
    LOGS = "@logs"
    LOGS_LEVEL = "@logsLevel"
    EXEC = "@exec"
    ACK = "@ack"  # goflex extension: ingest confirms storage to the endpoint's outbox (reliability.md)

    @property
    def addresses_attribute(self) -> bool:
        """True for @update, @set and @didSet: the topic carries a full attribute path."""
        return _SHAPES[self] is _Shape.ATTRIBUTE

    @property
    def addresses_node(self) -> bool:
        """True for @nodeAdded and @nodeRemoved: the topic carries the endpoint and a node."""
        return _SHAPES[self] is _Shape.NODE


_SHAPES = dict.fromkeys(Action, _Shape.ENDPOINT) | {
    Action.NODE_ADDED: _Shape.NODE,
    Action.NODE_REMOVED: _Shape.NODE,
    Action.UPDATE: _Shape.ATTRIBUTE,
    Action.SET: _Shape.ATTRIBUTE,
    Action.DID_SET: _Shape.ATTRIBUTE,
}


class TopicForm(StrEnum):
    """How paths are written in topics: long (v0.1, the pilot) or short (v0.2)."""

    LONG = "long"
    SHORT = "short"


@dataclass(frozen=True)
class Topic:
    """A parsed topic.

    Raises:
        InvalidTopic: the fields do not fit the shape the action needs, or a name breaks the rules.
    """

    action: Action
    endpoint: str
    node: str | None = None
    objects: tuple[str, ...] = ()
    attribute: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", Action(self.action))
        object.__setattr__(self, "objects", tuple(self.objects))
        shape = _SHAPES[self.action]
        has = (self.node is not None, bool(self.objects), self.attribute is not None)
        wanted = {
            _Shape.ENDPOINT: (False, False, False),
            _Shape.NODE: (True, False, False),
            _Shape.ATTRIBUTE: (True, True, True),
        }[shape]
        if has != wanted:
            need = {_Shape.ENDPOINT: "the endpoint only", _Shape.NODE: "endpoint and node"}.get(
                shape, "endpoint, node, objects and attribute"
            )
            raise InvalidTopic(repr(self), f"{self.action.value} takes {need}")
        try:
            validate_name(self.endpoint, what="endpoint")
            if self.node is not None:
                validate_node_name(self.node)
            for name in self.objects:
                validate_name(name, what="object")
            if self.attribute is not None:
                validate_name(self.attribute, what="attribute")
        except InvalidName as exc:
            raise InvalidTopic(repr(self), str(exc)) from exc

    @property
    def path(self) -> AttributePath | None:
        """The attribute path of an @update/@set/@didSet topic, else None."""
        if self.node is None or self.attribute is None:
            return None
        return AttributePath(self.endpoint, self.node, self.objects, self.attribute)

    @classmethod
    def for_endpoint(cls, action: Action, endpoint: str) -> Topic:
        """A topic that names only the endpoint (@online, @offline, @transaction, @delayed, @logs, @ack, ...)."""
        return cls(action, endpoint)

    @classmethod
    def for_node(cls, action: Action, endpoint: str, node: str) -> Topic:
        """A @nodeAdded or @nodeRemoved topic."""
        return cls(action, endpoint, node)

    @classmethod
    def for_path(cls, action: Action, path: AttributePath) -> Topic:
        """An @update, @set or @didSet topic."""
        return cls(action, path.endpoint, path.node, path.objects, path.attribute)

    @classmethod
    def online(cls, endpoint: str) -> Topic:
        return cls(Action.ONLINE, endpoint)

    @classmethod
    def offline(cls, endpoint: str) -> Topic:
        return cls(Action.OFFLINE, endpoint)

    @classmethod
    def node_added(cls, endpoint: str, node: str) -> Topic:
        return cls(Action.NODE_ADDED, endpoint, node)

    @classmethod
    def node_removed(cls, endpoint: str, node: str) -> Topic:
        return cls(Action.NODE_REMOVED, endpoint, node)

    @classmethod
    def update(cls, path: AttributePath) -> Topic:
        return cls.for_path(Action.UPDATE, path)

    @classmethod
    def set(cls, path: AttributePath) -> Topic:
        return cls.for_path(Action.SET, path)

    @classmethod
    def did_set(cls, path: AttributePath) -> Topic:
        return cls.for_path(Action.DID_SET, path)

    @classmethod
    def transaction(cls, endpoint: str) -> Topic:
        return cls(Action.TRANSACTION, endpoint)

    @classmethod
    def delayed(cls, endpoint: str) -> Topic:
        return cls(Action.DELAYED, endpoint)

    @classmethod
    def logs(cls, endpoint: str) -> Topic:
        return cls(Action.LOGS, endpoint)

    @classmethod
    def ack(cls, endpoint: str) -> Topic:
        return cls(Action.ACK, endpoint)


def build_topic(topic: Topic, form: TopicForm = TopicForm.LONG) -> str:
    """Write a topic in the long (pilot, default) or short form."""
    head = f"{topic.action.value}/{topic.endpoint}"
    path = topic.path
    if path is not None:
        tail = path.long() if form is TopicForm.LONG else str(path)
        return f"{topic.action.value}/{tail}"
    if topic.node is not None:
        return f"{head}/nodes/{topic.node}" if form is TopicForm.LONG else f"{head}/{topic.node}"
    return head


def parse_topic(text: str) -> Topic:
    """Read a topic in either form.

    Raises:
        InvalidTopic: unknown action, wrong shape for the action, malformed long form or an invalid name.
    """
    return parse_topic_with_form(text)[0]


def parse_topic_with_form(text: str) -> tuple[Topic, TopicForm]:
    """Like :func:`parse_topic`, and also tell which form the topic was written in (SHORT if it has no path).

    Raises:
        InvalidTopic: as :func:`parse_topic`.
    """
    if not isinstance(text, str):
        raise InvalidTopic(repr(text), "not a string")
    if len(text) > MAX_TOPIC_LENGTH:
        raise InvalidTopic(text[:80] + "...", f"longer than {MAX_TOPIC_LENGTH} characters")
    parts = text.split("/")
    try:
        action = Action(parts[0])
    except ValueError:
        raise InvalidTopic(text, f"unknown action {parts[0]!r}") from None
    if len(parts) < 2:
        raise InvalidTopic(text, "no endpoint")
    endpoint, rest = parts[1], parts[2:]
    shape = _SHAPES[action]
    try:
        if shape is _Shape.ENDPOINT:
            if rest:
                raise InvalidTopic(text, f"{action.value} takes the endpoint only")
            return Topic(action, endpoint), TopicForm.SHORT
        if shape is _Shape.NODE:
            if len(rest) == 2 and rest[0] == "nodes":
                return Topic(action, endpoint, rest[1]), TopicForm.LONG
            if len(rest) == 1:
                return Topic(action, endpoint, rest[0]), TopicForm.SHORT
            raise InvalidTopic(text, f"{action.value} takes <ep>/<node> or <ep>/nodes/<node>")
        node, objects, attribute = parse_path_tail(rest, text)
        form = TopicForm.LONG if rest[0] == "nodes" else TopicForm.SHORT
        return Topic(action, endpoint, node, objects, attribute), form
    except InvalidName as exc:
        raise InvalidTopic(text, str(exc)) from exc


def subscription(action: Action, endpoint: str = "+") -> str:
    """The MQTT filter for every topic of ``action`` for one endpoint (or all with ``+``).

    Examples: ``subscription(Action.SET, "goflex-dc-004") == "@set/goflex-dc-004/#"``,
    ``subscription(Action.UPDATE) == "@update/+/#"``, ``subscription(Action.ONLINE) == "@online/+"``.

    Raises:
        InvalidName: ``endpoint`` is neither ``+`` nor a valid endpoint name.
    """
    if endpoint != "+":
        validate_name(endpoint, what="endpoint")
    if _SHAPES[action] is _Shape.ENDPOINT:
        return f"{action.value}/{endpoint}"
    return f"{action.value}/{endpoint}/#"
