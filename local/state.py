"""The local stack's state on disk (flows, triggers, backfills, executions, logs, queued messages), so that a
restart, even after a SIGKILL, loses nothing a client was told was done and does nothing twice.

A state directory holds a snapshot of every table item and queued message and a journal of the changes
since: each DynamoDB write that succeeded (the request as sent) and each SQS change (a message added,
received, deleted, a queue purged), appended with one write(2) inside the lock local/moto_thread_safety.py
takes for the change, before moto answers. What write(2) returned is in the kernel's page cache and reaches
the file whatever then happens to the process, so every acknowledged change survives a SIGKILL; a record
cut short by the kill was never acknowledged and is dropped on load. (No fsync per record: an operating
system crash or a power cut can lose the last seconds; the stack's process dying cannot.)

At start the snapshot is loaded and the journal replayed through moto's own DynamoDB handler, then both
are compacted into a new snapshot and an empty journal; a journal that outgrows the snapshot is compacted
the same way. Tables and queues themselves are made from template.yaml at every start; only their contents
are kept. Messages come back visible (a restart ends every receive in flight: the environments that
received them died with the process) with their receive counts, so dead-lettering counts as before.
"""

import base64
import fcntl
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from moto.core.request import Request
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DDBType, DynamoType, Item
from moto.dynamodb.responses import DynamoHandler
from moto.sqs.models import Message, Queue, sqs_backends

from .moto_thread_safety import locked, observe

log = logging.getLogger("local.state")

SNAPSHOT = "snapshot.jsonl"
LOCK_FILE = "lock"
COMPACT_AT_LEAST_BYTES = 8 * 1024 * 1024  # the journal is compacted once it is this big and outgrows the snapshot


class StateError(RuntimeError):
    """The state directory cannot be used (another stack holds it, or it is damaged)."""


@dataclass(frozen=True)
class Loaded:
    resumed: bool  # an earlier state was found and loaded
    discarded: bool  # an earlier state was there and a fresh start was asked for
    items: int
    messages: int
    replayed: int  # journal records applied over the snapshot
    dropped_tail: bool  # the journal ended in a record cut short by a kill (never acknowledged)


def _message_record(message: Message) -> dict:
    return {
        "id": message.id,
        "body": message.body,
        "attributes": message.message_attributes,
        "system": message.system_attributes,
        "sender": message.sender_id,
        "sent": message.sent_timestamp,
        "received": message.approximate_receive_count,
        "firstReceived": message.approximate_first_receive_timestamp,
        "delayedUntil": message.delayed_until,
        "groupId": message.group_id,
        "deduplicationId": message.deduplication_id,
        "sequenceNumber": message.sequence_number,
    }


def _message(record: dict) -> Message:
    """The message as it was, visible now (no receive of it is still under way) unless it is delayed."""
    message = Message(record["id"], record["body"], record["system"])
    message.message_attributes = record["attributes"]
    message.sender_id = record["sender"]
    message.sent_timestamp = record["sent"]
    message.approximate_receive_count = record["received"]
    message.approximate_first_receive_timestamp = record["firstReceived"]
    message.delayed_until = record["delayedUntil"]
    message.group_id = record["groupId"]
    message.deduplication_id = record["deduplicationId"]
    message.sequence_number = record["sequenceNumber"]
    return message


def _queue_ref(queue: Queue) -> dict:
    return {"queue": queue.name, "account": queue.account_id, "region": queue.region}


class StateDir:
    """One stack's state directory: locked while the stack runs, so two stacks never share it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.generation = 0
        self.journal_fd: int | None = None
        self.journal_bytes = 0
        self.snapshot_bytes = 0
        self.lock_fd: int | None = None

    # -- opening and loading ------------------------------------------------------------------------------

    def lock(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.path.chmod(0o700)  # every tenant's data: not for flow commands, which run as another user
        fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise StateError(
                f"{self.path} is in use by another local stack (pid {holder}); stop it, or pass --state-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self.lock_fd = fd

    def has_state(self) -> bool:
        return (self.path / SNAPSHOT).exists() or any(self.path.glob("journal-*.jsonl"))

    def discard(self) -> None:
        for stale in [self.path / SNAPSHOT, *self.path.glob("journal-*.jsonl"), *self.path.glob("*.tmp")]:
            stale.unlink(missing_ok=True)

    def load(self, fresh: bool = False) -> Loaded:
        """Put the locked directory's state into moto (whose tables and queues must exist by now), compact it,
        and journal every later change. With `fresh`, the earlier state is deleted instead."""
        if self.lock_fd is None:
            self.lock()
        discarded = fresh and self.has_state()
        if fresh:
            self.discard()
        resumed = self.has_state()
        items = messages = replayed = 0
        dropped_tail = False
        with locked():
            snapshot = self.path / SNAPSHOT
            if snapshot.exists():
                header, *records = self._read_lines(snapshot, allow_torn_tail=False)[0]
                self.generation = header["generation"]
                for record in records:
                    if "item" in record:
                        self._put_item(record)
                        items += 1
                    else:
                        self._append_message(record, _message(record["message"]))
                        messages += 1
            journal = self._journal_path(self.generation)
            if journal.exists():
                records, dropped_tail = self._read_lines(journal, allow_torn_tail=True)
                for record in records:
                    self._apply(record)
                replayed = len(records)
            self.compact()
            observe(self)
        return Loaded(resumed, discarded, items, messages, replayed, dropped_tail)

    def _read_lines(self, path: Path, allow_torn_tail: bool) -> tuple[list[dict], bool]:
        data = path.read_bytes()
        lines = data.split(b"\n")
        tail = lines.pop()  # after the last newline: empty, or a record the kill cut short
        records = []
        for number, line in enumerate(lines, 1):
            try:
                records.append(json.loads(line))
            except ValueError as exc:
                raise StateError(f"{path} line {number} is damaged ({exc}); start with --fresh to discard it") from exc
        if tail and not allow_torn_tail:
            raise StateError(f"{path} is incomplete; start with --fresh to discard it")
        return records, bool(tail)

    def _journal_path(self, generation: int) -> Path:
        return self.path / f"journal-{generation}.jsonl"

    # -- applying records ---------------------------------------------------------------------------------

    @staticmethod
    def _put_item(record: dict) -> None:
        """Table.put_item without its checks (they passed when the item was written), which cost most of a
        restart: moto re-sums an item's size at each attribute it sets."""
        table = dynamodb_backends[record["account"]][record["region"]].tables.get(record["table"])
        if table is None:
            log.warning("table %s is not in template.yaml any more: its items are dropped", record["table"])
            return
        attributes = record["item"]
        hash_value = DynamoType(attributes[table.hash_key_attr])
        range_value = DynamoType(attributes[table.range_key_attr]) if table.range_key_attr else None
        item = Item(hash_value, range_value, {})
        dict.update(item.attrs, {name: DynamoType(value) for name, value in attributes.items()})
        if range_value is not None:
            table.items[hash_value][range_value] = item
        else:
            table.items[hash_value] = item

    def _append_message(self, record: dict, message: Message) -> None:
        queue = sqs_backends[record["account"]][record["region"]].queues.get(record["queue"])
        if queue is None:
            log.warning("queue %s is not in template.yaml any more: message %s dropped", record["queue"], message.id)
            return
        for other in self._queues():  # a message added to a second queue moved there (dead-lettered)
            if other is not queue:
                other._messages = [m for m in other._messages if m.id != message.id]
        queue._messages.append(message)

    @staticmethod
    def _queues() -> list[Queue]:
        return [
            queue
            for regional in dict.values(sqs_backends)
            for backend in dict.values(regional)
            for queue in backend.queues.values()
        ]

    def _apply(self, record: dict) -> None:
        if "dynamodb" in record:
            request = Request.from_primitives(
                "POST",
                f"https://dynamodb.{record['region']}.amazonaws.com/",
                {
                    "X-Amz-Target": f"DynamoDB_20120810.{record['dynamodb']}",
                    "Content-Type": "application/x-amz-json-1.0",
                    "x-moto-account-id": record["account"],
                },
                record["body"].encode(),
            )
            status, _, body = DynamoHandler.dispatch(request)
            if status != 200 and "ResourceNotFoundException" in str(body):
                log.warning("a %s of a table no longer in template.yaml is dropped", record["dynamodb"])
            elif status != 200:  # the same request on the same state succeeded before: a bug in the replay
                raise StateError(f"replaying {record['dynamodb']} failed ({status}): {str(body)[:300]}")
            return
        change = record["sqs"]
        if change == "add":
            self._append_message(record, _message(record["message"]))
        elif change == "receive":
            for queue in self._queues():
                for message in queue._messages:
                    if message.id == record["id"]:
                        message.approximate_receive_count += 1
                        message.approximate_first_receive_timestamp = (
                            message.approximate_first_receive_timestamp or record["at"]
                        )
        elif change == "delete":
            queue = sqs_backends[record["account"]][record["region"]].queues.get(record["queue"])
            if queue is not None:
                gone = set(record["ids"])
                queue._messages = [m for m in queue._messages if m.id not in gone]
        elif change == "purge":
            queue = sqs_backends[record["account"]][record["region"]].queues.get(record["queue"])
            if queue is not None:
                queue._messages = []

    def queued_bodies(self, queue_name: str) -> list[str]:
        """The bodies of the messages a queue holds (visible, in flight or delayed), read without receiving them."""
        with locked():
            return [m.body for queue in self._queues() if queue.name == queue_name for m in queue._messages]

    # -- the journal (ChangeObserver: each call arrives inside moto_thread_safety's lock) --------------------

    def _record(self, record: dict) -> None:
        line = (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode()
        written = os.write(self.journal_fd, line)
        while written < len(line):  # a short write (a signal): finish it, or the record is not acknowledged
            written += os.write(self.journal_fd, line[written:])
        self.journal_bytes += len(line)
        if self.journal_bytes > max(COMPACT_AT_LEAST_BYTES, self.snapshot_bytes):
            self.compact()

    def dynamodb_written(self, action: str, body: str, region: str, account: str) -> None:
        self._record({"dynamodb": action, "body": body, "region": region, "account": account})

    def message_added(self, queue: Queue, message: Message) -> None:
        self._record({"sqs": "add", **_queue_ref(queue), "message": _message_record(message)})

    def message_received(self, message: Message) -> None:
        self._record({"sqs": "receive", "id": message.id, "at": message.approximate_first_receive_timestamp})

    def messages_deleted(self, queue: Queue, message_ids: list[str]) -> None:
        self._record({"sqs": "delete", **_queue_ref(queue), "ids": message_ids})

    def queue_purged(self, queue: Queue) -> None:
        self._record({"sqs": "purge", **_queue_ref(queue)})

    # -- compaction -----------------------------------------------------------------------------------------

    def compact(self) -> None:
        """Write everything to a new snapshot (generation n+1) and start its empty journal. The rename is the
        switch: before it, the old snapshot and journal are whole; after it, the new snapshot is."""
        with locked():
            generation = self.generation + 1
            temporary = self.path / f"{SNAPSHOT}.tmp"
            with temporary.open("wb") as out:
                out.write(json.dumps({"generation": generation, "written": time.time()}).encode() + b"\n")
                for account, regional in dict.items(dynamodb_backends):
                    for region, backend in dict.items(regional):
                        for table in backend.tables.values():
                            for item in table.all_items():
                                record = {"table": table.name, "account": account, "region": region}
                                record["item"] = _attributes(item)
                                out.write(json.dumps(record, separators=(",", ":")).encode() + b"\n")
                for queue in self._queues():
                    for message in queue._messages:
                        record = {**_queue_ref(queue), "message": _message_record(message)}
                        out.write(json.dumps(record, separators=(",", ":"), default=str).encode() + b"\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path / SNAPSHOT)
            directory = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
            self.snapshot_bytes = (self.path / SNAPSHOT).stat().st_size
            if self.journal_fd is not None:
                os.close(self.journal_fd)
            self.generation = generation
            self.journal_fd = os.open(self._journal_path(generation), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            self.journal_bytes = 0
            for stale in self.path.glob("journal-*.jsonl"):  # what the new snapshot holds
                if stale != self._journal_path(generation):
                    stale.unlink()

    def close(self) -> None:
        """Stop journaling (the files stay, whole) and unlock the directory."""
        with locked():
            observe(None)
            if self.journal_fd is not None:
                os.close(self.journal_fd)
                self.journal_fd = None
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None


def _attributes(item: Item) -> dict:
    """The item's attributes as DynamoDB's JSON says them: a binary one (an execution's compressed body) as
    base64 text, which moto may hold as bytes."""
    attributes = item.to_json()["Attributes"]
    for name, value in attributes.items():
        if isinstance(value.get(DDBType.BINARY), bytes):
            attributes[name] = {DDBType.BINARY: base64.b64encode(value[DDBType.BINARY]).decode()}
    return attributes
