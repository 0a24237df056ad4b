"""The durable queue: on its own, and between a real producer process and a real tg-server
that are started late, killed and restarted. What arrives is counted against what was
produced: nothing missing, nothing duplicated."""

from __future__ import annotations

import logging
import signal
import sqlite3
import subprocess
import sys

from delivery_helpers import REPO, Producer, expected_events, queued_entries, stored_events
from tgtest import wait_until
from tg_core.queue import DurableQueue

FAST_RETRY = {"client": {"retry_max": 0.5}}


# -- the queue on its own ---------------------------------------------------------------------

def test_batches_survive_reopening_in_order(tmp_path):
    queue = DurableQueue(tmp_path / "q.sqlite")
    for i in range(3):
        queue.put("b", 2.0, [{"n": i}])
    queue.close()
    again = DurableQueue(tmp_path / "q.sqlite")
    batch = again.peek()
    assert batch.bucket == "b" and batch.pulsetime == 2.0
    assert batch.heartbeats == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert again.path.stat().st_size > 0 and len(again) == 3


def test_peek_joins_only_consecutive_entries_of_one_bucket_and_pulsetime(tmp_path):
    queue = DurableQueue(tmp_path / "q.sqlite")
    queue.put("a", 2.0, [{"n": 1}])
    queue.put("a", 2.0, [{"n": 2}, {"n": 3}])
    queue.put("a", 9.0, [{"n": 4}])
    queue.put("b", 2.0, [{"n": 5}])
    first = queue.peek()
    assert first.heartbeats == [{"n": 1}, {"n": 2}, {"n": 3}] and len(first.ids) == 2
    assert queue.peek(max_entries=1).heartbeats == [{"n": 1}]
    queue.remove(first.ids)
    assert queue.peek().heartbeats == [{"n": 4}] and queue.peek().pulsetime == 9.0
    queue.remove(queue.peek().ids)
    assert queue.peek().bucket == "b"
    queue.remove(queue.peek().ids)
    assert queue.peek() is None and len(queue) == 0


def test_full_queue_drops_the_oldest_with_one_warning_per_episode(tmp_path, caplog):
    queue = DurableQueue(tmp_path / "q.sqlite", max_entries=3)
    with caplog.at_level(logging.WARNING, logger="tg_core.queue"):
        for i in range(6):
            queue.put("b", 1.0, [{"n": i}])
    assert queue.peek().heartbeats == [{"n": 3}, {"n": 4}, {"n": 5}]
    warnings = [r for r in caplog.records if "is full" in r.getMessage()]
    assert len(warnings) == 1 and "3 batches" in warnings[0].getMessage()
    queue.remove(queue.peek().ids)
    with caplog.at_level(logging.WARNING, logger="tg_core.queue"):
        for i in range(5):
            queue.put("b", 1.0, [{"n": 10 + i}])
    assert len([r for r in caplog.records if "is full" in r.getMessage()]) == 2


def test_pending_heartbeat_is_queued_at_the_next_start(tmp_path):
    queue = DurableQueue(tmp_path / "q.sqlite")
    queue.put("b", 1.0, [{"n": 1}])
    queue.set_pending("b", 1.0, {"n": 2})
    queue.set_pending("c", 5.0, {"n": 3})
    queue.close()  # as if killed: the pending heartbeats were never queued
    again = DurableQueue(tmp_path / "q.sqlite")
    assert again.recover_pending() == 2
    assert again.recover_pending() == 0
    assert again.peek().heartbeats == [{"n": 1}, {"n": 2}]
    again.remove(again.peek().ids)
    assert (again.peek().bucket, again.peek().heartbeats) == ("c", [{"n": 3}])


def test_queueing_a_batch_clears_the_pending_heartbeat_in_the_same_transaction(tmp_path):
    queue = DurableQueue(tmp_path / "q.sqlite")
    queue.set_pending("b", 1.0, {"n": 1})
    queue.put("b", 1.0, [{"n": 1}])
    assert queue.recover_pending() == 0 and len(queue) == 1


WRITER = """
import sys
from tg_core.queue import DurableQueue
queue = DurableQueue(sys.argv[1])
i = 0
while True:
    queue.put("b", 1.0, [{"n": i}], pending={"n": i})
    print(i, flush=True)
    i += 1
"""


def test_queue_survives_its_writer_being_sigkilled(tmp_path):
    path = tmp_path / "q.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE,
                            text=True, cwd=REPO)
    seen = [proc.stdout.readline() for _ in range(300)]
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    last = int((seen + proc.stdout.read().split())[-1])  # the last batch it saw committed
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    queue = DurableQueue(path)
    numbers = [hb["n"] for hb in queue.peek(max_entries=10**6, max_heartbeats=10**6).heartbeats]
    # Everything acknowledged is there, in order, once; at most the one being written extra.
    assert numbers == list(range(len(numbers))) and len(numbers) - 1 in (last, last + 1)
    assert queue.recover_pending() == 1


# -- a real producer against a real server ----------------------------------------------------

def test_server_down_from_the_start_gets_everything_once_it_starts(server_factory):
    server = server_factory(config=FAST_RETRY, start=False)
    producer = Producer(server, 0, 60, 0.005)
    assert producer.done.wait(60), "the producer did not finish producing"
    assert producer.produced == list(range(60))
    assert queued_entries(server) > 0
    server.start()
    assert producer.wait() == 0, producer.stderr
    assert stored_events(server) == expected_events(60)
    assert queued_entries(server) == 0


def test_server_sigkilled_mid_stream_and_restarted_loses_nothing(server_factory):
    server = server_factory(config=FAST_RETRY)
    producer = Producer(server, 0, 300, 0.01)
    wait_until(lambda: len(producer.produced) >= 80, 60, message="80 heartbeats")
    server.kill()
    wait_until(lambda: len(producer.produced) >= 160, 60, message="160 heartbeats")
    server.start()
    assert producer.wait() == 0, producer.stderr
    assert producer.produced == list(range(300))
    assert stored_events(server) == expected_events(300)


def test_producer_sigkilled_mid_stream_and_restarted_loses_nothing(server_factory):
    server = server_factory(config=FAST_RETRY)
    first = Producer(server, 0, 300, 0.01)
    wait_until(lambda: len(first.produced) >= 100, 60, message="100 heartbeats")
    first.kill()
    resume = first.produced[-1] + 1
    assert resume < 300
    second = Producer(server, resume, 300 - resume, 0.001)
    assert second.wait() == 0, second.stderr
    assert stored_events(server) == expected_events(300)


def test_producer_sigkilled_while_the_server_is_down_delivers_at_its_next_start(server_factory):
    server = server_factory(config=FAST_RETRY)
    first = Producer(server, 0, 120, 0.005)
    wait_until(lambda: len(first.produced) >= 30, 60, message="30 heartbeats")
    server.kill()
    assert first.done.wait(60)
    first.kill()
    server.start()
    second = Producer(server, 120, 0, 0)  # produces nothing: only delivers what is queued
    assert second.wait() == 0, second.stderr
    assert stored_events(server) == expected_events(120)
