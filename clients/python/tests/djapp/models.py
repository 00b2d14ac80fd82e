from django.db import models

from eventlog.django import EventLogMixin


class Note(EventLogMixin, models.Model):
    title = models.CharField(max_length=200)

    def __str__(self):
        return self.title


class Entity(EventLogMixin, models.Model):
    eventlog_content_type = "Entity"  # as CRADLE's rules name it
    name = models.CharField(max_length=200)

    def __str__(self):
        return self.name
