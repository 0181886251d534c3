"""DynamoDB's capacity units, counted as DynamoDB counts them on an on-demand table (read and write request
units), from the items' sizes in DynamoDB's wire format and the table's indexes as template.yaml declares them.

- Item size: each attribute's name (UTF-8 bytes) plus its value: a string its UTF-8 bytes, a number about one
  byte per two significant digits plus one, binary its bytes, a boolean or null 1, a list or map 3 plus 1 per
  element plus the elements (a map's keys too), a set its elements.
- Write: 1 unit per 1 KB (rounded up, at least 1) of the larger of the item before and after; a delete, the item
  before; a write whose condition failed, the item found (1 when none). In a transaction, 2 per 1 KB.
- Index write: each global secondary index whose keys the item carries before or after is written with the
  projected item (keys plus ALL / INCLUDE's attributes): a new entry 1 write, a removed entry 1, a change of
  the index's keys 2 (delete and put), a change of the projected attributes 1, nothing if the projection is
  unchanged. Index writes are counted at the standard rate, in transactions too.
- Read: 1 unit per 4 KB (rounded up, at least 1) of what was read: a GetItem its item (or nothing), a Query the
  sum of the items returned; strongly consistent reads count 1 a unit, eventually consistent 0.5, transactional
  2. A Query's items are counted as returned (a projection or filter shrinking them is not added back).
"""

import base64
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

KB = 1024
READ_UNIT = 4 * KB
Image = dict[str, Any]  # an item's attributes in DynamoDB's wire format


def value_size(value: dict[str, Any]) -> int:
    ((kind, content),) = value.items()
    if kind == "S":
        return len(content.encode())
    if kind == "N":
        return number_size(content)
    if kind == "B":
        return len(content) if isinstance(content, bytes) else len(base64.b64decode(content))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + value_size(element) for element in content)
    if kind == "M":
        return 3 + sum(1 + len(key.encode()) + value_size(element) for key, element in content.items())
    if kind == "SS":
        return sum(len(element.encode()) for element in content)
    if kind == "NS":
        return sum(number_size(element) for element in content)
    if kind == "BS":
        return sum(
            len(element) if isinstance(element, bytes) else len(base64.b64decode(element)) for element in content
        )
    raise ValueError(f"unknown DynamoDB type {kind}")


def number_size(text: str) -> int:
    digits = Decimal(text).normalize().as_tuple().digits
    return math.ceil(len(digits) / 2) + 1


def item_size(image: Image | None) -> int:
    if not image:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in image.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / KB))


def read_units(size: int) -> int:
    return max(1, math.ceil(size / READ_UNIT))


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    included: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableShape:
    keys: tuple[str, ...]
    indexes: tuple[Index, ...] = ()

    def key_of(self, image: Image) -> Image | None:
        """The item's primary key; None when it lacks one (DynamoDB refuses such a write)."""
        if any(name not in image for name in self.keys):
            return None
        return {name: image[name] for name in self.keys}

    def projected(self, index: Index, image: Image | None) -> Image | None:
        """The index's entry for the item, None when the item lacks one of the index's keys (a sparse index)."""
        if image is None or any(name not in image for name in index.keys):
            return None
        if index.projection == "ALL":
            return dict(image)
        kept = set(self.keys) | set(index.keys) | set(index.included)
        return {name: value for name, value in image.items() if name in kept}


def shapes_from_template(template: dict[str, Any]) -> dict[str, TableShape]:
    """Each table's key and global secondary indexes, by the logical id the local resources name it after."""
    shapes = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        indexes = tuple(
            Index(
                index["IndexName"],
                tuple(key["AttributeName"] for key in index["KeySchema"]),
                index["Projection"]["ProjectionType"],
                tuple(index["Projection"].get("NonKeyAttributes", ())),
            )
            for index in props.get("GlobalSecondaryIndexes", []) + props.get("LocalSecondaryIndexes", [])
        )
        shapes[name] = TableShape(tuple(key["AttributeName"] for key in props["KeySchema"]), indexes)
    return shapes


@dataclass
class Units:
    """Capacity units consumed, by table (the index writes apart)."""

    read: float = 0.0
    write: float = 0.0
    index_write: float = 0.0
    by_index: dict[str, float] = field(default_factory=dict)

    def add(self, other: "Units") -> None:
        self.read += other.read
        self.write += other.write
        self.index_write += other.index_write
        for name, units in other.by_index.items():
            self.by_index[name] = self.by_index.get(name, 0.0) + units


def item_write(shape: TableShape, before: Image | None, after: Image | None, succeeded: bool, factor: int) -> Units:
    """The units of one item's write (put, update, delete or a transaction's condition check)."""
    if not succeeded:
        return Units(write=factor * write_units(item_size(before)))
    units = Units(write=factor * write_units(max(item_size(before), item_size(after))))
    for index in shape.indexes:
        old, new = shape.projected(index, before), shape.projected(index, after)
        if old is None and new is None or old == new:
            continue
        if old is None:
            written = write_units(item_size(new))
        elif new is None:
            written = write_units(item_size(old))
        elif any(old[key] != new[key] for key in index.keys):
            written = write_units(item_size(old)) + write_units(item_size(new))
        else:
            written = write_units(item_size(new))
        units.index_write += written
        units.by_index[index.name] = units.by_index.get(index.name, 0.0) + written
    return units


def read(sizes: list[int], consistent: bool, transactional: bool = False) -> float:
    """A GetItem, BatchGetItem or TransactGetItems: each item apart; their units added."""
    factor = 2.0 if transactional else 1.0 if consistent else 0.5
    return factor * sum(read_units(size) for size in sizes)


def query(sizes: list[int], consistent: bool) -> float:
    """A Query or Scan page: the items' sizes added, then rounded up to 4 KB."""
    return (1.0 if consistent else 0.5) * read_units(sum(sizes))
