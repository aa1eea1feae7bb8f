from django.apps import AppConfig


class SchedulerConfig(AppConfig):
    name = "scheduler"
    verbose_name = "GPUs, bookings and jobs"

    def ready(self):
        from celery.signals import worker_shutdown

        from portal.demo import demo_seeded
        from portal.ops.worker import register_worker_tick
        from portal.realtime.topics import register_topic_guard
        from scheduler.access import may_watch_job
        from scheduler.demo import demo_fleet_and_job_seed
        from scheduler.execution.node_serving import node_serving_clear, node_serving_record
        from scheduler.execution.orphans import orphans_kill

        register_topic_guard("job", may_watch_job)
        demo_seeded.connect(demo_fleet_and_job_seed, dispatch_uid="scheduler-demo")
        from scheduler.demo_bookings import demo_bookings_seed

        demo_seeded.connect(demo_bookings_seed, dispatch_uid="scheduler-demo-bookings")  # after the GPUs exist
        register_worker_tick(orphans_kill)
        register_worker_tick(node_serving_record)
        worker_shutdown.connect(node_serving_clear, dispatch_uid="scheduler-node-serving-clear")
