"""The cloud.iO protocol: data model, topic grammar, JSON/CBOR codec and message types (pure core).

See :mod:`goflex.cloudio.model` for declaring an endpoint's model, :mod:`goflex.cloudio.topics` for the topic
grammar and :mod:`goflex.cloudio.messages` for payloads and :func:`decode_message`.
"""

import importlib
from typing import TYPE_CHECKING

from goflex.cloudio.codec import Format, decode, detect_format, encode
from goflex.cloudio.errors import CloudioError, InvalidName, InvalidTopic, RejectedPayload, RejectReason
from goflex.cloudio.messages import (
    SEQ_PROPERTY,
    Ack,
    AckMessage,
    DelayedMessage,
    DidSetMessage,
    ExecMessage,
    LogsLevelMessage,
    LogsMessage,
    Message,
    NodeAddedMessage,
    NodeRemovedMessage,
    OfflineMessage,
    OnlineMessage,
    SetMessage,
    TransactionMessage,
    UpdateMessage,
    decode_ack,
    decode_attribute,
    decode_delayed,
    decode_endpoint,
    decode_message,
    decode_node,
    decode_transaction,
    encode_ack,
    encode_attribute,
    encode_delayed,
    encode_endpoint,
    encode_node,
    encode_transaction,
)
from goflex.cloudio.model import (
    Attribute,
    AttributePath,
    AttributeType,
    Constraint,
    EndpointModel,
    FrozenMap,
    Node,
    ObjectModel,
    Value,
    attr,
    check_value,
    endpoint,
    node,
    obj,
    validate_name,
    validate_node_name,
)
from goflex.cloudio.topics import Action, Topic, TopicForm, build_topic, parse_topic, subscription

__all__ = [
    "SEQ_PROPERTY",
    "Ack",
    "AckMessage",
    "Action",
    "Attribute",
    "AttributePath",
    "AttributeType",
    "CloudioError",
    "Constraint",
    "DelayedMessage",
    "DidSetMessage",
    "EndpointModel",
    "ExecMessage",
    "Format",
    "FrozenMap",
    "InvalidName",
    "InvalidTopic",
    "LogsLevelMessage",
    "LogsMessage",
    "Message",
    "Node",
    "NodeAddedMessage",
    "NodeRemovedMessage",
    "ObjectModel",
    "OfflineMessage",
    "OnlineMessage",
    "RejectReason",
    "RejectedPayload",
    "SetMessage",
    "Topic",
    "TopicForm",
    "TransactionMessage",
    "UpdateMessage",
    "Value",
    "attr",
    "build_topic",
    "check_value",
    "decode",
    "decode_ack",
    "decode_attribute",
    "decode_delayed",
    "decode_endpoint",
    "decode_message",
    "decode_node",
    "decode_transaction",
    "detect_format",
    "encode",
    "encode_ack",
    "encode_attribute",
    "encode_delayed",
    "encode_endpoint",
    "encode_node",
    "encode_transaction",
    "endpoint",
    "node",
    "obj",
    "parse_topic",
    "subscription",
    "validate_name",
    "validate_node_name",
]

# --- I/O side: endpoint and application SDKs, outbox, transport. Loaded on first use, so that importing the pure
# core (model, topics, codec, messages) never pulls in aiomqtt, httpx, ssl or sqlite3.
if TYPE_CHECKING:  # static re-exports of the lazily loaded names (see _SDK)
    from goflex.cloudio.api_client import (
        ApiClient as ApiClient,
    )
    from goflex.cloudio.api_client import (
        ApiError as ApiError,
    )
    from goflex.cloudio.api_client import (
        ApiNotFound as ApiNotFound,
    )
    from goflex.cloudio.api_client import (
        EndpointData as EndpointData,
    )
    from goflex.cloudio.api_client import (
        HistoryPoint as HistoryPoint,
    )
    from goflex.cloudio.application import (
        Application as Application,
    )
    from goflex.cloudio.application import (
        ModelUnavailable as ModelUnavailable,
    )
    from goflex.cloudio.application import (
        Subscription as Subscription,
    )
    from goflex.cloudio.backoff import (
        Backoff as Backoff,
    )
    from goflex.cloudio.backoff import (
        TokenBucket as TokenBucket,
    )
    from goflex.cloudio.endpoint_client import (
        Endpoint as Endpoint,
    )
    from goflex.cloudio.endpoint_client import (
        EndpointStats as EndpointStats,
    )
    from goflex.cloudio.endpoint_client import (
        SetHandler as SetHandler,
    )
    from goflex.cloudio.outbox import (
        Outbox as Outbox,
    )
    from goflex.cloudio.outbox import (
        OutboxEntry as OutboxEntry,
    )
    from goflex.cloudio.outbox import (
        OutboxError as OutboxError,
    )
    from goflex.cloudio.outbox import (
        OutboxStats as OutboxStats,
    )
    from goflex.cloudio.transport import (
        BrokerAddress as BrokerAddress,
    )
    from goflex.cloudio.transport import (
        ConnectionLost as ConnectionLost,
    )
    from goflex.cloudio.transport import (
        TransportError as TransportError,
    )
    from goflex.cloudio.transport import (
        TransportSettings as TransportSettings,
    )

_SDK: dict[str, str] = {
    **dict.fromkeys(("ApiClient", "ApiError", "ApiNotFound", "EndpointData", "HistoryPoint"), "api_client"),
    **dict.fromkeys(("Application", "ModelUnavailable", "Subscription"), "application"),
    **dict.fromkeys(("Backoff", "TokenBucket"), "backoff"),
    **dict.fromkeys(("Endpoint", "EndpointStats", "SetHandler"), "endpoint_client"),
    **dict.fromkeys(("Outbox", "OutboxEntry", "OutboxError", "OutboxStats"), "outbox"),
    **dict.fromkeys(("BrokerAddress", "ConnectionLost", "TransportError", "TransportSettings"), "transport"),
}
__all__ += sorted(_SDK)  # noqa: PLE0605 - extended with the lazily loaded names


def __getattr__(name: str) -> object:
    module = _SDK.get(name)
    if module is None:
        raise AttributeError(f"module 'goflex.cloudio' has no attribute {name!r}")
    return getattr(importlib.import_module(f"goflex.cloudio.{module}"), name)
