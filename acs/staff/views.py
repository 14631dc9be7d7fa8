from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_otp.decorators import otp_required


@staff_member_required
@otp_required
def home(request: HttpRequest) -> HttpResponse:
    """The staff landing page; the back office lives in the admin for now."""
    return redirect("admin:index")
