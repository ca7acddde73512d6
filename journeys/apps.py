from django.apps import AppConfig


class JourneysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "journeys"
