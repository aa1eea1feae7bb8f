from django.core.management.base import BaseCommand

from portal.demo import DEMO_PASSWORD, demo_seed


class Command(BaseCommand):
    help = "Create the demo teams and users (idempotent) and print the logins."

    def handle(self, *args, **options):
        users = demo_seed()
        self.stdout.write("Demo logins (password for all: %s):" % DEMO_PASSWORD)
        for demo in users:
            roles = ", ".join(sorted(role.label for role in demo.roles)) or "site admin"
            self.stdout.write(f"  {demo.username:<12} {demo.team:<8} {roles}")
