"""What ``hub demo`` shows of patient communication: one planning and delivery round.

Channels configured in the environment (``HUB_SMTP_HOST``, ``HUB_GATEWAY_URL``) are used for
real; the others are replaced by a printing outbox, so the demo shows what would have been sent.
"""

from __future__ import annotations

from collections import Counter

from adapters.outbox import Outbox
from hub.notifications.center import channels_from, notification_center
from hub.notifications.settings import NotificationSettings
from hub.scheduling import Scheduling


def show_delivery(app: Scheduling, zone: str) -> None:
    settings = NotificationSettings()
    outbox = Outbox()
    channels = {"email": outbox, "sms": outbox, "phone": outbox, **channels_from(settings)}
    center = notification_center(app, settings, zone, channels=channels)
    report = center.run_once()
    where = {c: ("outbox" if channels[c] is outbox else "configured") for c in channels}
    print(f"\nPatient messages — one delivery round (channels: "
          + ", ".join(f"{c} → {w}" for c, w in where.items()) + ")")
    for message in outbox.messages[:12]:
        text = message.subject or message.text
        print(f"  {message.channel:<5} {message.address:<34} {text[:90]}")
    if len(outbox.messages) > 12:
        print(f"  ... and {len(outbox.messages) - 12} more")
    by_channel = Counter(m.channel for m in outbox.messages)
    print(f"sent {report.sent} (outbox: {dict(by_channel)}), retrying {report.retrying}, "
          f"failed {report.failed}, skipped {report.skipped}; phone calls wait for 09:00-20:00 "
          f"local time; reminders wait until 48 h before")
