"""Storage.get_spans (the reports' fast read) equals Storage.get_events, uncropped."""

from datetime import datetime, timedelta, timezone

from tg_core.event import Event
from tg_core.storage import Storage

T0 = datetime(2024, 5, 6, 10, tzinfo=timezone.utc)


def test_get_spans_matches_get_events(tmp_path):
    storage = Storage(tmp_path / "t.db")
    try:
        storage.create_bucket("w", "currentwindow", hostname="h")
        storage.insert_events("w", [
            Event(T0 - timedelta(hours=2), 3 * 3600, {"app": "long"}),  # starts before
            Event(T0 + timedelta(minutes=5), 60, {"app": "a"}),
            Event(T0 + timedelta(minutes=6), 30.5, {"app": "a"}),
            Event(T0 + timedelta(hours=5), 60, {"app": "after"}),
        ])
        start, end = T0, T0 + timedelta(hours=1)
        spans = storage.get_spans("w", start, end)
        # get_events crops to the range; spans are uncropped (the report clips them).
        cropped = [(max(s, start.timestamp()), min(e, end.timestamp()), d) for s, e, d in spans]
        expected = [(e.timestamp.timestamp(), e.timestamp.timestamp() + e.duration, e.data)
                    for e in storage.get_events("w", start, end)]
        assert cropped == expected
        assert [d["app"] for _, _, d in spans] == ["long", "a", "a"]
    finally:
        storage.close()
