"""Topic names, topic filters and the subscription index (MQTT 5.0 section 4.7; pure).

* :func:`is_valid_topic`, :func:`is_valid_filter`, :func:`split_shared` check what clients send.
* :class:`TopicTrie` finds every subscription matching a topic name by walking one trie level per topic level,
  so routing costs O(levels x matching branches), not O(subscriptions); no regular expressions.
* :func:`filter_matches` is the one-off check used for retained messages when a subscription is made.

Wildcards: ``+`` matches exactly one level, ``#`` (last level only) matches any number of levels including the
parent (``a/#`` matches ``a``); a filter starting with a wildcard never matches a topic starting with ``$``
(MQTT-4.7.2-1). ``$share/<group>/<filter>`` is a shared subscription on ``<filter>`` (MQTT 5.0 section 4.8.2).
"""

from __future__ import annotations

from typing import Generic, TypeVar

# The topic grammar is the ACL's (one definition for Mosquitto's rules and the embedded broker's routing).
from goflex.broker.acl import filter_matches, is_valid_filter, is_valid_topic, split_shared

__all__ = ["TopicTrie", "filter_matches", "is_valid_filter", "is_valid_topic", "split_shared"]

K = TypeVar("K")
V = TypeVar("V")


class _Node(Generic[K, V]):
    __slots__ = ("children", "entries")

    def __init__(self) -> None:
        self.children: dict[str, _Node[K, V]] = {}
        self.entries: dict[K, V] = {}


class TopicTrie(Generic[K, V]):
    """Subscriptions indexed by filter level; each filter holds entries ``key -> value`` (e.g. client -> options)."""

    def __init__(self) -> None:
        self._root: _Node[K, V] = _Node()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def insert(self, topic_filter: str, key: K, value: V) -> bool:
        """Add or replace ``key`` on the valid plain filter; True if it was already there."""
        node = self._root
        for level in topic_filter.split("/"):
            child = node.children.get(level)
            if child is None:
                child = node.children[level] = _Node()
            node = child
        existed = key in node.entries
        node.entries[key] = value
        self._size += not existed
        return existed

    def get(self, topic_filter: str, key: K) -> V | None:
        """The value stored for ``key`` on ``topic_filter``, or None."""
        node: _Node[K, V] | None = self._root
        for level in topic_filter.split("/"):
            node = node.children.get(level) if node is not None else None
        return node.entries.get(key) if node is not None else None

    def remove(self, topic_filter: str, key: K) -> bool:
        """Remove ``key`` from the filter and prune empty branches; True if it was there."""
        path = [self._root]
        for level in topic_filter.split("/"):
            child = path[-1].children.get(level)
            if child is None:
                return False
            path.append(child)
        entries = path[-1].entries
        if key not in entries:
            return False
        del entries[key]
        self._size -= 1
        levels = topic_filter.split("/")
        for depth in range(len(levels), 0, -1):
            node = path[depth]
            if node.entries or node.children:
                break
            del path[depth - 1].children[levels[depth - 1]]
        return True

    def match(self, topic: str) -> list[tuple[K, V]]:
        """Every ``(key, value)`` stored on a filter that matches the topic name ``topic``."""
        out: list[tuple[K, V]] = []
        nodes = [self._root]
        dollar = topic.startswith("$")
        for depth, level in enumerate(topic.split("/")):
            wild = not (dollar and depth == 0)
            following: list[_Node[K, V]] = []
            for node in nodes:
                children = node.children
                if wild:
                    hash_node = children.get("#")
                    if hash_node is not None:
                        out.extend(hash_node.entries.items())
                    plus = children.get("+")
                    if plus is not None:
                        following.append(plus)
                exact = children.get(level)
                if exact is not None:
                    following.append(exact)
            if not following:
                return out
            nodes = following
        for node in nodes:
            out.extend(node.entries.items())
            hash_node = node.children.get("#")
            if hash_node is not None:  # "a/#" also matches "a"
                out.extend(hash_node.entries.items())
        return out
