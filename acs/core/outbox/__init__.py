"""The transactional-email outbox: every email the product sends to one person (a booking
confirmation, a reminder, a sign-in link, …) is a row of ``OutgoingEmail`` first.

- ``queue``: what the apps' services call, inside their transaction (``email_queue``);
- ``registry``: which function builds each kind of email (the apps register theirs);
- ``services``: the changes of state of a row (claim, sent, failed, sweep, purge);
- ``sending``: the worker's side (claim one row, build it, send it, record the outcome).

The tasks are in ``acs.core.tasks``. docs/mail.md tells the whole story.
"""
