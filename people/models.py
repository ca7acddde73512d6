from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A member of the CS team who logs in: a CSM, a CS leader or an admin.

    Not to be confused with `accounts.Account`, the customer companies the team looks after.
    Roles are Django groups (see `people.roles`).
    """

    email = models.EmailField("email address", blank=True, db_index=True)

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.email or self.username
