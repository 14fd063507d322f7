"""Smart meter Consumer Information Interface (seed 3.2.5.8, Table 5): DLMS/COSEM push over HDLC (pure).

Why hand-written: the CII is push-only, and the pilot needs a streaming, bounded-memory decoder that
resynchronises on line garbage, reassembles General Block Transfer strictly, counts every rejected push by
reason, and an encoder for the digital twin's meter emulator. The maintained Python DLMS library,
``dlms-cosem`` (u9n, formerly pwitab), is a client (sans-io association, GET/SET/ACTION, HDLC connection state)
that parses DataNotification but does not emulate a meter (no push encoder) nor stream GBT-split pushes off a
serial line with resync and counters; ``amshan`` (last release 2023) decodes Nordic P1/M-Bus pushes without
General Block Transfer. Everything here is a few hundred lines of byte layouts from IEC 62056-46/-5-3/-6-2.

Public API: :class:`PushDecoder` (bytes -> :class:`Push`), :func:`encode_push` (:class:`Push` -> frames),
:class:`ScalingTable` and the model tables, :class:`Obis`, :class:`CosemDateTime`, and the errors.
"""

from goflex.dlms.cosem_time import CosemDateTime
from goflex.dlms.decoder import DecoderStats, PushDecoder
from goflex.dlms.encoder import E360_STYLE, E450_STYLE, HdlcStyle, encode_push
from goflex.dlms.errors import (
    AuthenticationFailed,
    BrokenBlockSequence,
    CorruptFrame,
    DlmsError,
    InvalidSetting,
    MalformedApdu,
    PushTooLong,
    RejectedPush,
)
from goflex.dlms.obis import Obis
from goflex.dlms.push import Push
from goflex.dlms.scaling import E360, E450, MODELS, ScalingTable, scaling_for

__all__ = [
    "E360",
    "E360_STYLE",
    "E450",
    "E450_STYLE",
    "MODELS",
    "AuthenticationFailed",
    "BrokenBlockSequence",
    "CorruptFrame",
    "CosemDateTime",
    "DecoderStats",
    "DlmsError",
    "HdlcStyle",
    "InvalidSetting",
    "MalformedApdu",
    "Obis",
    "Push",
    "PushDecoder",
    "PushTooLong",
    "RejectedPush",
    "ScalingTable",
    "encode_push",
    "scaling_for",
]
