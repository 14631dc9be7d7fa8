from django.contrib import admin

from acs.appointments.models import Booking, BookingPerson, Closure, OpeningRule, Service
from acs.posts.admin_scope import PostScopedAdmin


class OpeningRuleInline(admin.TabularInline):
    model = OpeningRule
    extra = 0


@admin.register(Service)
class ServiceAdmin(PostScopedAdmin):
    list_display = ("name_en", "post", "duration_minutes", "seats_per_slot", "max_people", "active")
    list_filter = ("post", "active")
    inlines = [OpeningRuleInline]
    fieldsets = (
        (None, {"fields": ("post", "slug", "order", "active")}),
        ("English", {"fields": ("name_en", "description_en", "checklist_en")}),
        ("Español", {"fields": ("name_es", "description_es", "checklist_es")}),
        (
            "Capacity",
            {
                "fields": (
                    "duration_minutes",
                    "seats_per_slot",
                    "max_people",
                    "horizon_days",
                    "min_notice_hours",
                    "requires_benefits_ack",
                )
            },
        ),
    )


@admin.register(Closure)
class ClosureAdmin(PostScopedAdmin):
    list_display = ("starts_at", "ends_at", "post", "service", "reason_en")
    list_filter = ("post",)

    def has_add_permission(self, request):
        # A closure made here would cancel and email no one: use Back office › Closures.
        return False


class BookingPersonInline(admin.TabularInline):
    model = BookingPerson
    extra = 0
    fields = ("full_name", "date_of_birth", "passport_number", "active")
    readonly_fields = fields
    can_delete = False


@admin.register(Booking)
class BookingAdmin(PostScopedAdmin):
    personal_data = True  # emails, phones, names and passport numbers: every look is recorded
    list_display = ("code", "starts_at", "service", "people_count", "status", "email")
    list_filter = ("post", "service", "status")
    search_fields = ("code", "email", "people__full_name")
    date_hierarchy = "starts_at"
    inlines = [BookingPersonInline]
    readonly_fields = ("token", "code", "created_at", "cancelled_at", "reminder_sent_at")

    def has_add_permission(self, request):
        return False  # bookings are made through the booking service, which counts seats
