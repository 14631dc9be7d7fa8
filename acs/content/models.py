"""Public information pages, editable by staff, in English and Spanish."""

from __future__ import annotations

from django.db import models
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from acs.content.rendering import render_body
from acs.core.i18n import localized
from acs.posts.models import Post


class Page(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="pages")
    slug = models.SlugField(
        _("address"), help_text=_("The last part of the page's address; “home” is the front page.")
    )
    order = models.PositiveSmallIntegerField(_("order in the navigation"), default=100)
    title_en = models.CharField(_("title (English)"), max_length=120)
    title_es = models.CharField(_("title (Spanish)"), max_length=120)
    summary_en = models.CharField(_("summary (English)"), max_length=250, blank=True)
    summary_es = models.CharField(_("summary (Spanish)"), max_length=250, blank=True)
    body_en = models.TextField(
        _("text (English)"),
        help_text=_(
            "HTML: headings from h2, paragraphs, lists, links. Link to another page with "
            "{page:slug}. Anything else is removed when the page is shown."
        ),
    )
    body_es = models.TextField(_("text (Spanish)"))
    updated_at = models.DateTimeField(_("last changed"), auto_now=True)

    class Meta:
        verbose_name = _("page")
        verbose_name_plural = _("pages")
        ordering = ["post", "order", "slug"]
        constraints = [
            models.UniqueConstraint(fields=["post", "slug"], name="page_unique_slug_per_post"),
        ]

    def __str__(self) -> str:
        return self.title_en

    @property
    def title(self) -> str:
        return localized(self, "title")

    @property
    def summary(self) -> str:
        return localized(self, "summary")

    @property
    def body_html(self) -> SafeString:
        return render_body(localized(self, "body"))
