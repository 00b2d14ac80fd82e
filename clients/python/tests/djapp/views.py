from django.contrib.auth import authenticate, login, logout
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .models import Note


@csrf_exempt
def create(request):
    note = Note.objects.create(title=request.POST["title"])
    note.log_create(request.user, {"title": note.title})
    return JsonResponse({"id": note.pk}, status=201)


def _note(pk):
    try:
        return Note.objects.get(pk=pk)
    except Note.DoesNotExist:
        raise Http404("no such note")


@csrf_exempt
def edit(request, pk):
    note = _note(pk)
    old, note.title = note.title, request.POST["title"]
    note.save()
    note.log_edit(request.user, {"field": "title", "old": old, "new": note.title})
    return JsonResponse({"id": note.pk})


@csrf_exempt
def delete(request, pk):
    note = _note(pk)
    note.log_delete(request.user)
    note.delete()
    return JsonResponse({})


def show(request, pk):
    note = _note(pk)
    note.log_fetch(request.user)
    return JsonResponse({"id": note.pk, "title": note.title})


@csrf_exempt
def sign_in(request):
    user = authenticate(request, username=request.POST["username"], password=request.POST["password"])
    if user is None:
        return JsonResponse({"error": "wrong username or password"}, status=401)
    login(request, user)
    return JsonResponse({})


@csrf_exempt
def sign_out(request):
    logout(request)
    return JsonResponse({})
