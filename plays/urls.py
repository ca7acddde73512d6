"""Pages of plays: /tasks/… and the account timeline and notes under /accounts/<id>/."""

from django.urls import path

from plays import views

app_name = "plays"

urlpatterns = [
    path("tasks/", views.task_list, name="tasks"),
    path("tasks/export.csv", views.task_export, name="tasks-export"),
    path("tasks/<int:pk>/<slug:action>/", views.task_action, name="task-action"),
    path("accounts/<int:account_pk>/tasks/", views.task_create, name="task-create"),
    path("accounts/<int:account_pk>/notes/", views.note_create, name="note-create"),
    path("accounts/<int:account_pk>/timeline/", views.timeline, name="timeline"),
]
