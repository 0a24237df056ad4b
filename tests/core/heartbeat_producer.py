"""A watcher stand-in for the queue tests: produces a known stream of heartbeats through
tg_core.client.Client, printing each index once heartbeat() has returned.

    python heartbeat_producer.py PORT START COUNT INTERVAL

Heartbeat i is at BASE + i seconds with data {"n": i // 3}; after the last one it prints
"produced" and gives the client up to 120 s to deliver everything (exit 0, else 3).
"""

import sys
import time
from datetime import datetime, timedelta, timezone

from tg_core.client import Client

BASE = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
BUCKET = "produced"
PULSETIME = 1.5


def heartbeat_args(i: int) -> dict:
    return {"data": {"n": i // 3}, "timestamp": BASE + timedelta(seconds=i),
            "pulsetime": PULSETIME}


def main() -> int:
    port, start, count, interval = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                    float(sys.argv[4]))
    client = Client("tg-test-producer", port=port)
    client.create_bucket(BUCKET, "test.produced", "testhost")
    for i in range(start, start + count):
        client.heartbeat(BUCKET, **heartbeat_args(i))
        print(i, flush=True)
        time.sleep(interval)
    print("produced", flush=True)
    return 0 if client.close(timeout=120) else 3


if __name__ == "__main__":
    sys.exit(main())
