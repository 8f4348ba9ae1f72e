#!/usr/bin/env python3
"""Checks that TensorBoard reads the event files SRFuse's TensorBoardLog writes. CI has no
tensorboard, so this runs by hand after the writer changes, in a virtualenv that has it:

    python3 -m venv .venv-tensorboard && .venv-tensorboard/bin/pip install tensorboard
    .venv-tensorboard/bin/python scripts/check-tensorboard-fixture.py

Reads Tests/Fixtures/tensorboard/events.out.tfevents.1700000000.srfuse-fixture with the
tensorboard package's own readers: its RawEventFileLoader with its Event protobuf (the version
record first, every record's checksums, the fields as written) and its EventAccumulator, as TensorBoard's Python backend loads a run, and
compares every scalar's tag, step, wall time and value (as the float32 an event holds) with
expected.json beside it, in order. Then the same file cut short inside its last record must
still load, without that record. TensorBoardLogTests asserts the writer still produces exactly
that file and that JSON (re-record both with SRFUSE_WRITE_FIXTURES=1).

Exits 1 with the first difference, 0 with a one-line summary.
"""
import json
import os
import shutil
import struct
import sys
import tempfile

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
from tensorboard.compat.proto import event_pb2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOLDER = os.path.join(ROOT, "Tests", "Fixtures", "tensorboard")
FIXTURE = os.path.join(FOLDER, "events.out.tfevents.1700000000.srfuse-fixture")


def fail(message):
    print("check-tensorboard-fixture: " + message, file=sys.stderr)
    sys.exit(1)


def float32(value):
    return struct.unpack("<f", struct.pack("<f", value))[0]


def scalars(path):
    """(tag, step, wall_time, value) of every scalar, in the file's order, and the version."""
    accumulator = EventAccumulator(path, size_guidance={"scalars": 0})
    accumulator.Reload()
    events = []
    for tag in accumulator.Tags()["scalars"]:
        events += [(event.wall_time, event.step, tag, event.value) for event in accumulator.Scalars(tag)]
    # One event holds a step's values in the order logged; the accumulator groups them by tag.
    return accumulator.file_version, events


def main():
    with open(os.path.join(FOLDER, "expected.json")) as f:
        expected = json.load(f)

    # The records as written (EventFileLoader would migrate simple_value into tensors first).
    events = [event_pb2.Event.FromString(record) for record in RawEventFileLoader(FIXTURE).Load()]
    if not events or events[0].file_version != "brain.Event:2":
        fail("the first record is not the file version brain.Event:2: %r" % (events[:1],))
    if events[0].wall_time != expected[0]["wall_time"]:
        fail("the version record's wall time is %r, expected %r" % (events[0].wall_time, expected[0]["wall_time"]))
    raw = [(v.tag, e.step, e.wall_time, v.simple_value) for e in events[1:] for v in e.summary.value]
    want = [(x["tag"], x["step"], x["wall_time"], float32(x["value"])) for x in expected]
    if raw != want:
        fail("RawEventFileLoader read %r, expected %r" % (raw, want))

    version, accumulated = scalars(FIXTURE)
    if version != 2:
        fail("EventAccumulator's file_version is %r, expected 2" % version)
    order = {x["tag"]: i for i, x in enumerate(expected)}
    got = sorted([(tag, step, wall, value) for wall, step, tag, value in accumulated],
                 key=lambda e: (e[2], order[e[0]]))
    if got != want:
        fail("EventAccumulator read %r, expected %r" % (got, want))

    # A run killed while writing its last record: the whole records before it still load.
    with tempfile.TemporaryDirectory() as folder:
        cut = os.path.join(folder, os.path.basename(FIXTURE))
        shutil.copyfile(FIXTURE, cut)
        with open(cut, "r+b") as f:
            f.truncate(os.path.getsize(FIXTURE) - 5)
        _, partial = scalars(cut)
        last_step = expected[-1]["step"]
        if len(partial) != len([x for x in expected if x["step"] != last_step]):
            fail("a file cut inside its last record loads %d scalars" % len(partial))

    print("check-tensorboard-fixture: ok: %d scalars (%s) at steps %s read back by tensorboard's "
          "RawEventFileLoader and EventAccumulator; a file cut short keeps its whole records"
          % (len(want), ", ".join(sorted(set(x["tag"] for x in expected))),
             sorted(set(x["step"] for x in expected))))


if __name__ == "__main__":
    main()
