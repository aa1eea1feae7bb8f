from portal.notifications.models import Notification
from portal.notifications.services import notification_send, notifications_mark_read
from portal.realtime.models import Event


def test_sending_a_notification_publishes_the_unread_count_to_its_owner(researcher):
    notification_send(user=researcher, kind=Notification.Kind.JOB_ENDED, title="train-42 succeeded", url="/jobs/42/")
    event = Event.objects.get()
    assert event.topic == f"user.{researcher.pk}"
    assert event.payload["unread"] == 1
    assert event.payload["title"] == "train-42 succeeded"


def test_marking_all_read_clears_the_count_and_says_so(researcher):
    for n in range(3):
        notification_send(user=researcher, kind="message", title=f"n{n}")
    assert notifications_mark_read(user=researcher) == 3
    assert Event.objects.order_by("-id").first().payload == {"unread": 0}
    assert notifications_mark_read(user=researcher) == 0


def test_marking_one_read_leaves_the_others(researcher):
    first = notification_send(user=researcher, kind="message", title="first")
    notification_send(user=researcher, kind="message", title="second")
    notifications_mark_read(user=researcher, notification=first)
    assert list(Notification.objects.filter(read_at__isnull=True).values_list("title", flat=True)) == ["second"]
