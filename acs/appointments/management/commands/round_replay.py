"""Replay a request round's draw from its publication and say whether it matches.

    manage.py round_replay --file draw.json     # the JSON the round page offers
    manage.py round_replay --round <token>      # the same, read from this database

It checks the seed against the commitment published when the window opened, recomputes the
order and the allocation (``acs.appointments.draw``, documented in docs/release-rounds.md)
and prints every request's id and the time it got. Exit status 1 when anything differs.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from acs.appointments import draw, requestpages, selectors


class Command(BaseCommand):
    help = "Replay a request round's draw from its published data and compare."

    def add_arguments(self, parser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--file", help="the round's published JSON (draw.json)")
        source.add_argument(
            "--round", help="the round's token (the last part of its page's address)"
        )

    def handle(self, *args, **options) -> None:
        data = self._data(options)
        if not data.get("seed"):
            raise CommandError("This round is not drawn yet: only its commitment is published.")
        replayed, problems = draw.published_check(data)
        locals_ = {slot["start"]: slot["local"] for slot in data["slots"]}
        for request_id in draw.order(bytes.fromhex(data["seed"]), list(replayed)):
            start = replayed[request_id]
            self.stdout.write(f"{request_id}  {locals_[start] if start else '-'}")
        served = sum(1 for start in replayed.values() if start)
        self.stdout.write(
            f"{len(replayed)} requests, {data.get('seats_count')} seats, {served} served; "
            f"commitment {data['commitment']}"
        )
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(
                f"The replay differs from the publication ({len(problems)} problems)."
            )
        self.stdout.write(self.style.SUCCESS("The replay matches the published allocation."))

    def _data(self, options) -> dict:
        if options["file"]:
            try:
                return json.loads(Path(options["file"]).read_text())
            except (OSError, ValueError) as error:
                raise CommandError(f"Cannot read {options['file']}: {error}") from error
        round_ = selectors.round_by_token(options["round"], published=True)
        if round_ is None:
            raise CommandError("No round has this token.")
        return requestpages.round_json(round_)
