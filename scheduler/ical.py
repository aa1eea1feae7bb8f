"""Bookings as an iCalendar document (RFC 5545), for calendar apps subscribing to a user's feed."""

from icalendar import Calendar, Event

PRODID = "-//Atelier//GPU bookings//EN"


def bookings_to_ical(*, bookings, host: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "Atelier GPU bookings")
    for booking in bookings:
        calendar.add_component(_event(booking, host=host))
    return calendar.to_ical()


def _event(booking, *, host: str) -> Event:
    gpus = ", ".join(str(gpu) for gpu in booking.gpus.all())
    event = Event()
    event.add("uid", f"booking-{booking.pk}@{host}")
    event.add("dtstamp", booking.updated_at)
    event.add("dtstart", booking.start)  # UTC instants: calendar apps show them in the reader's zone
    event.add("dtend", booking.end)
    event.add("summary", f"GPUs: {gpus}")
    event.add("description", booking.note or f"Booked for {booking.team.name}")
    return event
