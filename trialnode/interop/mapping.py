"""Reading and mapping registry records in a second process while the import writes.

An import spends about as much time reading, parsing, hashing and mapping records as it
does writing them, and Python runs one of those at a time. For a long file the import
forks a mapping process after its first records: the child reads the rest of the input,
premaps each record (``upsert.premap``) against the registry numbers stored when it
started, and sends the results in batches through a pipe; the parent places them against
what is stored now and writes them, so both cores work.

The child never touches the database: it leaves the parent's connections alone (closing
one would end the parent's session) and any attempt to connect fails. A failure in the
child is raised in the parent; the parent stopping ends the child.
"""

from __future__ import annotations

import multiprocessing
import pickle
import signal
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from django.db import connections

from trialnode.interop.upsert import (
    OUTSIDE,
    UNCHANGED,
    Context,
    Premapped,
    RegistryFormat,
    SiteMatcher,
    premap,
)
from trialnode.studies.models import Study

MAX_STORED = 1_000_000
"""Above this many stored studies of the registry, their numbers and hashes are not
copied to the mapping process: the import maps in one process."""


class MappingProcessFailed(RuntimeError):
    """The mapping process ended without reading the whole input."""


def available(context: Context) -> bool:
    """Whether this import may fork a mapping process: the platform forks, this process
    runs no other thread (a fork copies none of them, and the locks they hold stay held
    in the child), and the registry's stored numbers fit in memory."""
    registry = context.registry
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and _no_other_thread()
        and Study.objects.filter(source=registry.source).count() <= MAX_STORED
    )


def _no_other_thread() -> bool:
    return threading.active_count() == 1


@dataclass
class MappedBatch:
    """One batch of records premapped in the mapping process: those that may write
    (``items``, each also ``blobs``: pickled, to be read again if its batch fails to
    write) and how many were only counted; ``fraction``: the share of the input read."""

    items: list[Premapped]
    blobs: list[bytes]
    outside_sweden: int
    unchanged: int
    fraction: float


def mapped_elsewhere(
    records: Iterator[dict[str, Any]],
    context: Context,
    position: Callable[[], float],
    batch_size: int,
) -> Generator[MappedBatch, None, None]:
    """The rest of ``records``, premapped in a mapping process, in batches of
    ``batch_size`` records read. ``records`` must not be read in this process any more."""
    registry = context.registry
    stored: dict[str, str] = dict(
        Study.objects.filter(source=registry.source).values_list(registry.key_field, "source_hash")
    )
    fork = multiprocessing.get_context("fork")
    receiver, sender = fork.Pipe(duplex=False)
    process = fork.Process(
        target=_map_records,
        args=(records, registry, context.matcher, stored, position, sender, batch_size),
        name="trialnode-mapping",
        daemon=True,
    )
    process.start()
    sender.close()
    del stored
    inbox = _Inbox(INBOX_BYTES)
    reader = threading.Thread(
        target=inbox.fill_from, args=(receiver,), name="trialnode-mapping-inbox", daemon=True
    )
    reader.start()
    try:
        while True:
            raw = inbox.get()
            if raw is None:
                process.join()
                raise MappingProcessFailed(
                    f"The mapping process ended (exit code {process.exitcode}) before the "
                    "end of the input; the records read before were imported."
                )
            message = pickle.loads(raw)
            if message is None:
                return
            if isinstance(message, BaseException):
                raise message
            blobs, outside_sweden, unchanged, fraction = message
            items = [pickle.loads(blob) for blob in blobs]
            yield MappedBatch(items, blobs, outside_sweden, unchanged, fraction)
    finally:
        inbox.close()
        if process.is_alive():
            process.terminate()
        process.join()
        reader.join()
        receiver.close()


INBOX_BYTES = 32 << 20
"""The most of the mapping process's messages waiting to be read here: what lets the
child read on while this process writes (a file of the world's studies writes in bursts)."""


class _Inbox:
    """Messages from the mapping process, received on a thread of their own, up to a
    number of bytes; None once the pipe has ended."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.messages: deque[bytes | None] = deque()
        self.closed = False
        self.changed = threading.Condition()

    def fill_from(self, receiver: Connection) -> None:
        while True:
            message: bytes | None
            try:
                message = receiver.recv_bytes()
            except Exception:  # the pipe ended, or broke: the reader learns it from None
                message = None
            size = len(message) if message is not None else 0
            with self.changed:
                while self.size and self.size + size > self.limit and not self.closed:
                    self.changed.wait()
                if self.closed:
                    return
                self.messages.append(message)
                self.size += size
                self.changed.notify_all()
            if message is None:
                return

    def get(self) -> bytes | None:
        with self.changed:
            while not self.messages:
                self.changed.wait()
            message = self.messages.popleft()
            self.size -= len(message) if message is not None else 0
            self.changed.notify_all()
            return message

    def close(self) -> None:
        with self.changed:
            self.closed = True
            self.changed.notify_all()


_inherited: list[Any] = []
"""The parent's database connections, kept referenced in the child: freed, a connection
would say goodbye to the server on the socket the parent still uses."""


def _no_database(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("The mapping process does not use the database.")


def _leave_the_database() -> None:
    for wrapper in connections.all(initialized_only=True):
        _inherited.append(wrapper.connection)
        wrapper.connection = None
        wrapper.connect = _no_database  # type: ignore[method-assign]


def _map_records(
    records: Iterator[dict[str, Any]],
    registry: RegistryFormat,
    matcher: SiteMatcher,
    stored: dict[str, str],
    position: Callable[[], float],
    sender: Connection,
    batch_size: int,
) -> None:
    """The mapping process: premap every record and send them in batches, then None (or
    the exception that stopped it). Records outside Sweden or unchanged are only counted
    (most of a file of the world's studies)."""
    _leave_the_database()
    # Ctrl+C reaches the whole process group: the parent stops the child itself. The
    # parent's handlers (a job worker's, say) are not the child's.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)
    try:
        blobs: list[bytes] = []
        counted = {OUTSIDE: 0, UNCHANGED: 0}
        for read, record in enumerate(records, start=1):
            item = premap(record, registry, matcher, stored)
            if item.outcome in counted:
                counted[item.outcome] += 1
            else:
                blobs.append(pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL))
            if read % batch_size == 0:
                sender.send((blobs, counted[OUTSIDE], counted[UNCHANGED], position()))
                blobs, counted = [], dict.fromkeys(counted, 0)
        sender.send((blobs, counted[OUTSIDE], counted[UNCHANGED], position()))
        sender.send(None)
    except Exception as exc:
        try:
            sender.send(exc)
        except Exception:
            sender.send(MappingProcessFailed(f"The mapping process failed: {exc!r:.500}"))
    finally:
        sender.close()
