"""The demo's email backend: one ``.eml`` file per message, readable by any mail program.

Settings name it as ``acs.core.mail.EmlFileBackend`` (the package exports it)."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage
from django.utils import timezone


class EmlFileBackend(BaseEmailBackend):
    def __init__(self, *, file_path: str | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.directory = Path(file_path or settings.EMAIL_FILE_PATH)

    def send_messages(self, email_messages: list[EmailMessage]) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            name = f"{timezone.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:12]}.eml"
            # Write then rename, so a reader never sees half a message.
            partial = self.directory / f".{name}.part"
            partial.write_bytes(message.message().as_bytes(linesep="\r\n"))
            partial.rename(self.directory / name)
            sent += 1
        return sent
