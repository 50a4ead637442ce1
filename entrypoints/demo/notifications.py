"""What ``hub demo`` shows of patient communication: one planning and delivery round.

Channels configured in the environment (``HUB_SMTP_HOST``, ``HUB_GATEWAY_URL``) are used for
real; the others are replaced by a printing outbox, so the demo shows what would have been sent.
"""

from __future__ import annotations

from collections import Counter

from adapters.outbox import Outbox
from aggregates.notification import Notification
from hub.bootstrap import channels_from, notification_center
from hub.scheduling.service import Scheduling
from hub.settings import Settings


def show_delivery(app: Scheduling, zone: str) -> None:
    settings = Settings()
    outbox = Outbox()
    channels = {"email": outbox, "sms": outbox, "phone": outbox, **channels_from(settings)}
    center = notification_center(app, settings, zone, channels=channels)
    report = center.run_once()
    where = {c: ("outbox" if channels[c] is outbox else "configured") for c in channels}
    print("\nPatient messages — one delivery round (channels: "
          + ", ".join(f"{c} → {w}" for c, w in where.items()) + ")")
    kinds = {m.key: app.load(Notification, m.key, "notification").kind for m in outbox.messages}
    shown: set[tuple[str, str]] = set()
    for message in outbox.messages:  # one example of each kind on each channel
        kind = kinds[message.key]
        if (kind, message.channel) in shown:
            continue
        shown.add((kind, message.channel))
        text = message.subject or message.text
        print(f"  {kind:<13} {message.channel:<5} {message.address:<32} {text[:84]}")
    counts = Counter((kinds[m.key], m.channel) for m in outbox.messages)
    print("sent " + ", ".join(f"{n} {k}/{c}" for (k, c), n in sorted(counts.items()))
          + f" (total {report.sent}); retrying {report.retrying}, failed {report.failed}, "
          f"skipped {report.skipped}. Phone calls wait for 09:00-20:00 local time, reminders "
          f"for 48 h before.")
