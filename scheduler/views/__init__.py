"""Pages (HTML) of the scheduler, one module per feature: bookings, jobs, fleet."""
