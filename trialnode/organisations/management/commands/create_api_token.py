from django.core.management.base import BaseCommand, CommandError

from trialnode.organisations.models import User
from trialnode.organisations.services import api_token_create


class Command(BaseCommand):
    help = "Create a personal API token for a user and print it (it is shown only once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")

    def handle(self, *args, username: str, name: str, **options) -> None:
        try:
            user = User.objects.get(username=username, is_active=True)
        except User.DoesNotExist:
            raise CommandError(f"No active user {username!r}") from None
        _token, secret = api_token_create(user=user, name=name)
        self.stdout.write(secret)
