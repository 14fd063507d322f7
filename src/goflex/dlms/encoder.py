"""Encode pushes the way the meters send them (used by the digital twin's E450 emulator and by the tests).

The inverse of :class:`goflex.dlms.decoder.PushDecoder`: for every push whose values are representable at the
model's scale, decoding the frames returned by :func:`encode_push` gives the same push back.
"""

from __future__ import annotations

from dataclasses import dataclass

from goflex.dlms.axdr import Data, Tag
from goflex.dlms.block_transfer import encode_block, split_blocks
from goflex.dlms.cosem_time import CosemDateTime
from goflex.dlms.errors import InvalidSetting
from goflex.dlms.hdlc import MAX_FRAME_LENGTH, UI_FINAL, encode_frame
from goflex.dlms.notification import DataNotification, encode_notification
from goflex.dlms.obis import Obis
from goflex.dlms.push import (
    CLOCK,
    CLOCK_CLASS,
    LOGICAL_DEVICE_NAME,
    PUSH_SETUP_CLASS,
    VALUE_ATTRIBUTE,
    Push,
    name_data,
    value_data,
)
from goflex.dlms.scaling import ScalingTable, scaling_for
from goflex.dlms.security import Keys, encrypt_apdu

LLC = b"\xe6\xe7\x00"
DATA_CLASS = 1
REGISTER_CLASS = 3
EXTENDED_REGISTER_CLASS = 4
DEFAULT_SYSTEM_TITLE = b"GFX\x00\x00\x00\x00\x01"  # 3-letter manufacturer id, then a serial (IEC 62056-5-3 9.2.4.8.2)
_MAX_INFO = MAX_FRAME_LENGTH - 16  # room for format, 4-byte addresses, control, HCS and FCS


@dataclass(frozen=True)
class HdlcStyle:
    """How a meter model frames its pushes.

    Attributes:
        dest: HDLC destination address bytes (end bit included).
        src: HDLC source address bytes.
        block_size: General Block Transfer data bytes per block, or None to send the APDU without GBT (then
            long APDUs are cut into HDLC segments with the ``A8`` format bit).
        clock_object: push the clock object 0-0:1.0.0 (E450) in layout A, besides the header time.
        explicit_deviation: date-times carry their UTC deviation (E360) instead of "not specified" (E450).
        push_setup: logical name of the push setup object.
        max_info: information bytes per HDLC frame when segmenting.
    """

    dest: bytes
    src: bytes
    block_size: int | None
    clock_object: bool
    explicit_deviation: bool
    push_setup: Obis
    control: int = UI_FINAL
    max_info: int = _MAX_INFO


E450_STYLE = HdlcStyle(
    dest=b"\xce\xff", src=b"\x03", block_size=120, clock_object=True, explicit_deviation=False,
    push_setup=Obis(0, 8, 25, 9, 0),
)  # fmt: skip
E360_STYLE = HdlcStyle(
    dest=b"\xcf", src=b"\x03", block_size=None, clock_object=False, explicit_deviation=True,
    push_setup=Obis(0, 6, 25, 9, 0),
)  # fmt: skip


def _capture(class_id: int, obis: Obis, attribute: int = VALUE_ATTRIBUTE) -> Data:
    return Data(
        Tag.STRUCTURE,
        (
            Data(Tag.UINT16, class_id),
            Data(Tag.OCTET_STRING, obis.to_bytes()),
            Data(Tag.INT8, attribute),
            Data(Tag.UINT16, 0),
        ),
    )


def _class_of(obis: Obis, value: int | float | str) -> int:
    if isinstance(value, str):
        return DATA_CLASS
    return EXTENDED_REGISTER_CLASS if obis.c == 24 and obis.d == 2 else REGISTER_CLASS


def build_body(push: Push, table: ScalingTable, *, layout: str, style: HdlcStyle) -> Data:
    """The DataNotification body of ``push`` in layout ``"A"`` or ``"B"``.

    Raises:
        InvalidSetting: unknown layout, an OBIS key that does not parse, or a value that does not fit.
    """
    stamp = CosemDateTime.from_utc(push.time, local=not style.explicit_deviation).to_bytes()
    values = [(Obis.parse(key), value) for key, value in push.values.items()]
    if layout == "B":
        items = [Data(Tag.OCTET_STRING, stamp)]
        if push.device is not None:
            items += [Data(Tag.OCTET_STRING, LOGICAL_DEVICE_NAME.to_bytes()), name_data(push.device)]
        for obis, value in values:
            items += [Data(Tag.OCTET_STRING, obis.to_bytes()), value_data(obis, value, table)]
        return Data(Tag.STRUCTURE, tuple(items))
    if layout != "A":
        raise InvalidSetting(f"layout must be 'A' or 'B', got {layout!r}")
    # Like the L+G meters: the first capture object is the list itself (push setup attribute 2).
    objects = [_capture(PUSH_SETUP_CLASS, style.push_setup)]
    elements: list[Data] = []
    if push.device is not None:
        objects.append(_capture(DATA_CLASS, LOGICAL_DEVICE_NAME))
        elements.append(name_data(push.device))
    if style.clock_object:
        objects.append(_capture(CLOCK_CLASS, CLOCK))
        elements.append(Data(Tag.OCTET_STRING, stamp))
    for obis, value in values:
        objects.append(_capture(_class_of(obis, value), obis))
        elements.append(value_data(obis, value, table))
    object_list = Data(Tag.ARRAY, tuple(objects))
    return Data(Tag.STRUCTURE, (object_list, *elements))


def encode_push(
    push: Push,
    *,
    model: str = "e450",
    layout: str = "A",
    key: bytes | None = None,
    auth_key: bytes | None = None,
    system_title: bytes = DEFAULT_SYSTEM_TITLE,
    invocation_counter: int = 0,
    frame: HdlcStyle = E450_STYLE,
    invoke_id: int | None = None,
    scaling: ScalingTable | None = None,
) -> list[bytes]:
    """The HDLC frames (flags included) that carry ``push``.

    Args:
        push: what to send; values in W, Wh, var, varh, V, A, rounded to the model's scale.
        model: scaling table of the meter model (``"e450"``, ``"e360"``) unless ``scaling`` is given.
        layout: ``"A"`` (capture-object list, Swiss) or ``"B"`` (flat OBIS/value pairs).
        key, auth_key: 16-byte keys; when given the push is sent as general-glo-ciphering.
        system_title: 8-byte system title of the sending meter (part of the AES-GCM IV).
        invocation_counter: 0..2**32-1; must grow with every encrypted push (GCM nonce).
        frame: framing style (:data:`E450_STYLE` or :data:`E360_STYLE`).
        invoke_id: long-invoke-id-and-priority (default: ``invocation_counter``).
        scaling: a custom scaling table.

    Raises:
        InvalidSetting: unknown model or layout, bad keys, or a value that does not fit its register.
    """
    table = scaling if scaling is not None else scaling_for(model)
    header_time = CosemDateTime.from_utc(push.time, local=not frame.explicit_deviation)
    body = build_body(push, table, layout=layout, style=frame)
    ident = invocation_counter if invoke_id is None else invoke_id
    apdu = encode_notification(DataNotification(ident & 0xFFFFFFFF, header_time, body))
    if key is not None or auth_key is not None:
        if key is None or auth_key is None:
            raise InvalidSetting("key and auth_key go together: give both or neither")
        keys = Keys(key, auth_key)
        apdu = encrypt_apdu(apdu, keys, system_title=system_title, invocation_counter=invocation_counter)
    if frame.block_size is not None:
        blocks = [encode_block(block) for block in split_blocks(apdu, frame.block_size)]
        return [_frame(LLC + block if i == 0 else block, frame) for i, block in enumerate(blocks)]
    message = LLC + apdu
    pieces = [message[i : i + frame.max_info] for i in range(0, len(message), frame.max_info)]
    return [_frame(piece, frame, segmented=i < len(pieces) - 1) for i, piece in enumerate(pieces)]


def _frame(info: bytes, style: HdlcStyle, *, segmented: bool = False) -> bytes:
    return encode_frame(info, dest=style.dest, src=style.src, control=style.control, segmented=segmented)
