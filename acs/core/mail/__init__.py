"""The mail kit: what every email the product sends has in common, whichever app writes it.

- ``addresses``: the site's address for links (``site_url``), the mail domain, Message-IDs;
- ``letters``: a ``Letter`` (subject, plain text, HTML) rendered in the recipient's language
  in the one email layout (``core/email/_layout.html`` and ``.txt``), and the email it makes;
- ``eml``: the demo's backend, one ``.eml`` file per email.

Sending is elsewhere: transactional emails go through the outbox (``acs.core.outbox``),
messages to many through their own (``acs.alerts``). docs/mail.md tells how to add an email.
"""

# The settings name the backend by this path (``EMAIL_BACKEND``); keep it working.
from acs.core.mail.eml import EmlFileBackend

__all__ = ["EmlFileBackend"]
