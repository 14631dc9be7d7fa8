"""Every change of state of enrollment, one module per area: ``accounts``, ``trips``,
``profile`` (the rest of the self-service), ``retention`` (periodic purges and reminders)."""
