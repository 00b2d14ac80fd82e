"""The Django integration, in a small Django project (tests/djapp) whose
models use the mixin, against a real server."""

import uuid

import django
import pytest
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="test",
    ALLOWED_HOSTS=["testserver"],
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions", "djapp"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "eventlog.django.EventLogMiddleware",
    ],
    ROOT_URLCONF="djapp.urls",
    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    USE_TZ=True,
    EVENTLOG_URL="",
    EVENTLOG_LOG_FAILURES=True,
    EVENTLOG_LOG_AUTH=True,
)
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client as WebClient  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

import eventlog  # noqa: E402
import eventlog.django  # noqa: E402
from djapp.models import Entity, Note  # noqa: E402


@pytest.fixture(scope="module")
def db():
    call_command("migrate", run_syncdb=True, verbosity=0)


@pytest.fixture
def log(server, db):
    """The server's client; the settings point the project at the server."""
    with override_settings(EVENTLOG_URL=server.url):
        yield eventlog.Client(server.url)
        eventlog.django.flush(30)


@pytest.fixture
def alice(db):
    name = "alice-" + uuid.uuid4().hex[:8]
    return User.objects.create_user(name, password="secret")


def web(user=None, **extra):
    c = WebClient(REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="test-agent/1.0", **extra)
    if user is not None:
        assert c.post("/login", {"username": user.username, "password": "secret"}).status_code == 200
    return c


def entries(log, **filters):
    eventlog.django.flush(30)
    return list(log.list(filters, order_by="id asc"))


def test_create_edit_delete_in_the_log(log, alice):
    c = web(alice)
    entity = Entity.objects.create(name="APT-1")
    resp = c.post("/notes/", {"title": "first"}, HTTP_X_REQUEST_ID="req-1")
    assert resp.status_code == 201
    pk = resp.json()["id"]
    eventlog.django.flush(30)  # the create is stored before the relation exists
    # The note links to the entity: its edits and its deletion also
    # reach the entity's history, by the server's relation registry.
    log.put_relations([(("djapp.Note", pk), ("Entity", entity.pk), "links")])
    assert c.post(f"/notes/{pk}/edit", {"title": "second"}, HTTP_X_REQUEST_ID="req-2").status_code == 200
    assert c.get(f"/notes/{pk}/").status_code == 200
    assert c.post(f"/notes/{pk}/delete", HTTP_X_REQUEST_ID="req-3").status_code == 200

    got = entries(log, content_type="djapp.Note", object_id=str(pk))
    assert [(e["eventType"], e["objectRepr"]) for e in got] == [
        ("EVENT_TYPE_CREATE", "first"), ("EVENT_TYPE_EDIT", "second"),
        ("EVENT_TYPE_FETCH", "second"), ("EVENT_TYPE_DELETE", "second")]
    for e in got:
        assert e["actor"] == {"id": str(alice.pk), "name": alice.username, "kind": "ACTOR_KIND_USER"}
    assert got[0]["details"] == {"title": "first"}
    assert got[1]["details"] == {"field": "title", "old": "first", "new": "second"}
    assert got[0]["request"] == {"remoteAddr": "203.0.113.7", "method": "POST", "path": "/notes/",
                                 "protocol": "HTTP/1.1", "status": 201, "userAgent": "test-agent/1.0",
                                 "requestId": "req-1"}
    assert got[1]["request"]["path"] == f"/notes/{pk}/edit" and got[1]["request"]["requestId"] == "req-2"
    assert got[2]["request"]["method"] == "GET" and got[2]["request"]["status"] == 200
    assert "requestId" not in got[2]["request"]

    # Propagated children: the edit and the delete, not the create (made
    # before the relation) nor the fetch (fetches never propagate).
    children = entries(log, content_type="Entity", object_id=str(entity.pk))
    assert [(c["eventType"], c["sourceId"]) for c in children] == [
        ("EVENT_TYPE_EDIT", got[1]["id"]), ("EVENT_TYPE_EDIT", got[3]["id"])]
    assert children[0]["actor"] == got[1]["actor"] and children[0]["request"] == got[1]["request"]
    assert children[0]["details"]["propagated_from"]


def test_outside_a_request(log, alice):
    entity = Entity.objects.create(name="from a command")
    entity.log_create(None)
    entity.log_edit(alice, {"why": "script"})
    got = entries(log, content_type="Entity", object_id=str(entity.pk))
    assert [(e["eventType"], e["actor"].get("kind"), e["objectRepr"]) for e in got] == [
        ("EVENT_TYPE_CREATE", "ACTOR_KIND_SYSTEM", "from a command"),
        ("EVENT_TYPE_EDIT", "ACTOR_KIND_USER", "from a command")]
    assert all("request" not in e for e in got)
    with pytest.raises(ValueError):
        Entity(name="unsaved").log_create(alice)


def test_login_logout_and_failures(log, alice):
    c = web(alice)
    assert c.post("/logout").status_code == 200
    assert c.post("/login", {"username": alice.username, "password": "wrong"}).status_code == 401
    got = entries(log, content_type="auth.User", object_id=str(alice.pk))
    assert [e["eventType"] for e in got] == ["EVENT_TYPE_LOGIN", "EVENT_TYPE_LOGOUT"]
    assert got[0]["actor"]["name"] == alice.username and got[0]["request"]["path"] == "/login"
    assert got[0]["request"]["status"] == 200
    failed = entries(log, content_type="auth.User", object_id=alice.username)
    assert [(e["eventType"], e["actor"]["name"]) for e in failed] == [("EVENT_TYPE_LOGIN_FAILED", alice.username)]
    assert failed[0]["request"]["status"] == 401

    # A failed response itself is logged as a fetch of http.request, with
    # the path as object id: here a 404 of the logged-out user.
    miss = "/notes/999999999/"
    assert c.get(miss).status_code == 404
    failures = entries(log, content_type="http.request", object_id=miss)
    assert len(failures) == 1
    assert failures[0]["eventType"] == "EVENT_TYPE_FETCH"
    assert failures[0]["actor"] == {"name": "anonymous", "kind": "ACTOR_KIND_USER"}
    assert failures[0]["request"]["status"] == 404


def test_synchronous_mode(log, alice):
    with override_settings(EVENTLOG_BACKGROUND=False):
        resp = web(alice).post("/notes/", {"title": "sync"})
        pk = resp.json()["id"]
        # Stored before the response returned: no flush.
        got = list(log.list({"content_type": "djapp.Note", "object_id": str(pk)}))
        assert [e["eventType"] for e in got] == ["EVENT_TYPE_CREATE"]
    with override_settings(EVENTLOG_BACKGROUND=False, EVENTLOG_URL="http://127.0.0.1:1"):
        with pytest.raises(eventlog.Unavailable):
            Entity.objects.create(name="x").log_create(alice)
