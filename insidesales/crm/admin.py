from django.contrib import admin

from insidesales.crm.models import (
    Activity,
    Company,
    Contact,
    CustomField,
    Deal,
    Lead,
    Pipeline,
    SavedView,
    Stage,
    Tag,
    Task,
)


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["__str__", "company_name", "email", "phone", "status", "owner", "organization"]
    list_filter = ["organization", "status", "source"]
    search_fields = ["email", "phone", "name_key"]
    raw_id_fields = ["owner", "team", "agency", "converted_contact", "converted_company", "converted_deal"]
    show_full_result_count = False


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["__str__", "company", "email", "phone", "owner", "organization"]
    list_filter = ["organization"]
    search_fields = ["email", "phone", "name_key"]
    raw_id_fields = ["owner", "team", "agency", "company"]
    show_full_result_count = False


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "domain", "country", "owner", "organization"]
    list_filter = ["organization"]
    search_fields = ["name_key", "domain"]
    raw_id_fields = ["owner", "team", "agency"]
    show_full_result_count = False


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0
    fields = ["name", "kind", "probability", "position", "organization"]


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "is_default"]
    inlines = [StageInline]


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    list_display = ["name", "company", "stage", "amount", "currency", "owner", "organization"]
    list_filter = ["organization", "stage__kind"]
    search_fields = ["name_key"]
    raw_id_fields = ["owner", "team", "agency", "company", "contact"]
    show_full_result_count = False


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "kind", "subject", "actor", "organization"]
    list_filter = ["organization", "kind"]
    raw_id_fields = ["actor", "lead", "contact", "company", "deal"]
    show_full_result_count = False


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "assignee", "due_at", "completed_at", "organization"]
    raw_id_fields = ["assignee", "created_by", "lead", "contact", "company", "deal"]


admin.site.register(Tag)
admin.site.register(CustomField)
admin.site.register(SavedView)
