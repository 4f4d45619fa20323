"""A seeded mutator of request bodies, for the fuzz test: random, broken and odd messages.

From one valid message it makes, by the draw of a ``random.Random``: random bytes,
the valid bytes truncated, bit-flipped or spliced with other bytes, and the message
with a few fields (at any depth) set to awkward values: empty, very long or
non-ASCII strings, path-like and numeric text, extreme and negative numbers,
unknown enum numbers, repeated entries duplicated or multiplied, sub-messages
cleared. Every body stays under ``max_bytes`` so that the node decodes it rather
than refusing its size.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

__all__ = ["Mutator"]

_INTS = (0, 1, -1, 2, 7, 255, 65535, 2**31 - 1, -(2**31), 2**32 - 1, 2**63 - 1, -(2**63))
_TEXTS = (
    "",
    " ",
    "/",
    "../../etc/passwd",
    "a/b/c",
    "*",
    "%s%n",
    "\x00",
    "\t\n\r",
    "0",
    "-1",
    "1e309",
    "NaN",
    "10.0.0.0/8",
    "::/0",
    "256.256.256.256/33",
    "ff:ff:ff:ff:ff:ff",
    "é€😀",
    "\u202e",
    "local",
    "eu.spfed.demo",
    "1.0",
    ">=1.0",
    "cache",
    "router",
    "dpi",
    "edge",
    "retail",
)
_SIGNED = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_ENUM: (-(2**31), 2**31 - 1),
}


class Mutator:
    """Bodies derived from valid messages, reproducibly from one seed."""

    def __init__(self, seed: int, *, max_bytes: int = 60_000) -> None:
        self.rng = random.Random(seed)
        self.max_bytes = max_bytes

    def body(self, seed: Message) -> bytes:
        """One body: random, broken bytes of ``seed``, or ``seed`` with mutated fields."""
        r = self.rng
        valid = seed.SerializeToString()
        kinds: list[Callable[[], bytes]] = [
            lambda: r.randbytes(r.randint(0, 64)),
            lambda: r.randbytes(r.randint(64, 2048)),
            lambda: valid[: r.randint(0, max(0, len(valid) - 1))],
            lambda: self._flip(valid),
            lambda: valid + r.randbytes(r.randint(1, 16)),
            lambda: valid + valid,  # protobuf merges: repeated fields double
            lambda: self.message(seed).SerializeToString(),
            lambda: self.message(seed).SerializeToString(),
            lambda: self.message(seed).SerializeToString(),
            lambda: self.message(seed).SerializeToString(),
        ]
        out = r.choice(kinds)()
        return out[: self.max_bytes]

    def message(self, seed: Message) -> Message:
        """A copy of ``seed`` with one to four fields mutated, anywhere in it."""
        msg = type(seed)()
        msg.CopyFrom(seed)
        for _ in range(self.rng.randint(1, 4)):
            self._mutate(msg, depth=0)
        if msg.ByteSize() > self.max_bytes:
            return seed
        return msg

    def _flip(self, data: bytes) -> bytes:
        if not data:
            return self.rng.randbytes(4)
        out = bytearray(data)
        for _ in range(self.rng.randint(1, 8)):
            i = self.rng.randrange(len(out))
            out[i] ^= 1 << self.rng.randrange(8)
        return bytes(out)

    def _text(self) -> str:
        r = self.rng
        choice = r.randrange(6)
        if choice == 0:
            return "".join(
                chr(r.choice((r.randint(0x20, 0x7E), r.randint(0xA0, 0xD7FF))))
                for _ in range(r.randint(1, 40))
            )
        if choice == 1:
            return r.choice(_TEXTS) * r.randint(1, 2000)
        if choice == 2:
            return r.choice("xé/.-") * r.choice((64, 129, 256, 1025, 4097))
        return r.choice(_TEXTS)

    def _scalar(self, field: FieldDescriptor) -> object:
        r = self.rng
        kind = field.type
        if kind == FieldDescriptor.TYPE_STRING:
            return self._text()
        if kind == FieldDescriptor.TYPE_BYTES:
            return r.randbytes(r.randint(0, 64))
        if kind == FieldDescriptor.TYPE_BOOL:
            return r.random() < 0.5
        if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            return r.choice((0.0, -1.0, 1e-300, 3.4e38, float("inf"), float("-inf"), float("nan")))
        low, high = _SIGNED[kind]
        if kind == FieldDescriptor.TYPE_ENUM and r.random() < 0.5:
            return r.choice([v.number for v in field.enum_type.values] + [99])
        picks = [i for i in _INTS if low <= i <= high]
        return r.choice(picks) if r.random() < 0.7 else r.randint(low, high)

    def _mutate(self, msg: Message, depth: int) -> None:
        r = self.rng
        fields = list(msg.DESCRIPTOR.fields)
        if not fields:
            return
        field = r.choice(fields)
        is_message = field.type == FieldDescriptor.TYPE_MESSAGE
        is_map = is_message and field.message_type.GetOptions().map_entry
        if is_map:
            self._mutate_map(getattr(msg, field.name), field)
        elif field.is_repeated:
            self._mutate_repeated(msg, field, depth)
        elif is_message:
            child = getattr(msg, field.name)
            if r.random() < 0.2:
                msg.ClearField(field.name)
            elif depth < 6:
                self._mutate(child, depth + 1)
                if r.random() < 0.1:
                    child.SetInParent()
        else:
            setattr(msg, field.name, self._scalar(field))

    def _mutate_repeated(self, msg: Message, field: FieldDescriptor, depth: int) -> None:
        r = self.rng
        items = getattr(msg, field.name)
        is_message = field.type == FieldDescriptor.TYPE_MESSAGE
        action = r.randrange(5)
        if action == 0:
            msg.ClearField(field.name)
        elif action == 1 and len(items) > 0:
            # Many copies of one entry: duplicates, and more of them than any bound.
            entry = items[r.randrange(len(items))]
            for _ in range(r.choice((1, 2, 100, 300))):
                if is_message:
                    items.add().CopyFrom(entry)
                else:
                    items.append(entry)
        elif is_message:
            if len(items) > 0 and r.random() < 0.7:
                target = items[r.randrange(len(items))]
            else:
                target = items.add()
            if depth < 6:
                self._mutate(target, depth + 1)
        else:
            items.append(self._scalar(field))

    def _mutate_map(self, entries: object, field: FieldDescriptor) -> None:
        key_field = field.message_type.fields_by_name["key"]
        value_field = field.message_type.fields_by_name["value"]
        key = self._scalar(key_field)
        if value_field.type == FieldDescriptor.TYPE_MESSAGE:
            target = entries[key]  # type: ignore[index]
            if self.rng.random() < 0.7:
                self._mutate(target, depth=1)
        else:
            entries[key] = self._scalar(value_field)  # type: ignore[index]
