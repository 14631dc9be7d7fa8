"""Citizen enrollment pages under /<lang>/enroll/. Links in emails carry signed tokens; the
pages of an account take ``public_id`` UUIDs, looked up only among the signed-in enrollee's own
records (another's id is a 404)."""

from django.urls import path

from acs.enrollment.views import account

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
    # Retention: the yearly "do you still live here?" answer.
]
