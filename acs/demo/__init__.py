"""Seeding: the shipped posts and the demo, in one place.

This is the only code in ``acs`` that imports every app (``tests/test_layers.py`` holds it to
that): seeding a post touches posts, content and appointments, and the demo adds staff,
travellers and messages on top, always through each app's services, as people would.

- ``shipped``: the posts the product ships with (``LIMA``) and ``post_seed``, which writes one
  post with its regions, public pages and appointment services (no demo data: production
  runs it too, docs/deployment.md);
- ``travellers`` and ``messages``: the demo's made-up travellers and published messages;
- ``management/commands``: ``manage.py post_seed <slug>`` and ``manage.py demo_seed``
  (``make demo`` runs the latter).

The data files stay with the app whose service reads them, each in a folder called ``seed``:
``acs/posts/seed/posts.json`` (the posts), ``acs/content/seed/`` (the public pages, EN and ES)
and ``acs/appointments/seed/<post>.json`` (each post's services and opening hours). Whoever
changes a page or a service finds its shipped text next to its model.
"""
