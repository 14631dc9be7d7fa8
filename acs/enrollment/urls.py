"""Citizen enrollment pages under /<lang>/enroll/. Links in emails carry signed tokens; the
pages of an account take ``public_id`` UUIDs, looked up only among the signed-in enrollee's own
records (another's id is a 404)."""

from django.urls import path

from acs.enrollment.views import account, public
from acs.enrollment.views import retention as retention_views

app_name = "enrollment"

urlpatterns = [
    # Accounts: sign up, verify, sign in (password or emailed link), reset, sign out.
    path("", account.start, name="start"),
    path("sign-up/", account.sign_up, name="sign-up"),
    path("check-email/", account.check_email, name="check-email"),
    path("verify/<str:token>/", account.verify, name="verify"),
    path("sign-in/", account.sign_in, name="sign-in"),
    path("sign-in/link/", account.sign_in_link, name="sign-in-link"),
    path("sign-in/link/<str:token>/", account.sign_in_link_use, name="sign-in-link-use"),
    path("password/forgot/", account.password_forgot, name="password-forgot"),
    path("password/reset/<str:token>/", account.password_reset, name="password-reset"),
    path("sign-out/", account.sign_out, name="sign-out"),
    path("account/security/", account.security, name="security"),
    path("account/password/", account.password_change, name="password-change"),
    path("account/sign-out-everywhere/", account.sign_out_everywhere, name="sign-out-everywhere"),
    # Self-service: profile, trips, residence, contacts, privacy, preferences, download, delete.
    path("account/", public.home, name="home"),
    path("account/profile/", public.profile, name="profile"),
    path("account/phones/", public.phones, name="phones"),
    path("account/trips/", public.trips, name="trips"),
    path("account/trips/new/", public.trip_new, name="trip-new"),
    path("account/trips/<uuid:trip>/", public.trip, name="trip"),
    path("account/trips/<uuid:trip>/end/", public.trip_end, name="trip-end"),
    path("account/trips/<uuid:trip>/delete/", public.trip_delete, name="trip-delete"),
    path("account/residence/", public.residence, name="residence"),
    path("account/residence/end/", public.residence_end, name="residence-end"),
    path("account/contacts/", public.contacts, name="contacts"),
    path("account/contacts/<uuid:contact>/", public.contact, name="contact"),
    path("account/contacts/<uuid:contact>/delete/", public.contact_delete, name="contact-delete"),
    path("account/privacy/", public.privacy, name="privacy"),
    path("account/messages/", public.preferences, name="preferences"),
    path("account/my-data.json", public.download, name="download"),
    path("account/delete/", public.delete, name="delete"),
    path("account/deleted/", public.deleted, name="deleted"),
    # Retention: the yearly "do you still live here?" answer.
    path(
        "account/residence/keep/<str:token>/",
        retention_views.residence_keep,
        name="residence-keep",
    ),
]
