"""Forms of the record pages. They parse and render; the services validate.

A service's `ValidationError.fields` (custom fields as `custom.<key>`) is put back on the form with
`add_service_errors`, so the user sees each message beside its field and keeps what they typed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from insidesales.core.errors import ValidationError
from insidesales.core.phones import format_phone
from insidesales.core.widgets import PreparedChoices, RememberedCheckboxSelectMultiple, RememberedSelect
from insidesales.crm import selectors
from insidesales.crm.models import CustomFieldType, DisqualifyReason, LeadSource, LeadStatus
from insidesales.orgs.models import TIMEZONE_CHOICES, Membership, Role
from insidesales.orgs.visibility import can_assign_to_others

# Service error keys that differ from our form field names.
FIELD_ALIASES = {"owner_id": "owner", "company_id": "company", "contact_id": "contact", "tag_ids": "tags"}
CHOOSER_LIMIT = 200  # companies/contacts offered in a select; more would make the page heavy


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's field errors on the form's fields (unknown fields become form-wide errors)."""
    for key, messages in exc.fields.items():
        name = f"custom_{key[7:]}" if key.startswith("custom.") else FIELD_ALIASES.get(key, key)
        for message in messages:
            form.add_error(name if name in form.fields else None, str(message))
    if not exc.fields:
        form.add_error(None, exc.message)


def user_choices(users: list) -> PreparedChoices:
    return PreparedChoices((str(u.pk), str(u)) for u in users)


def assignee_choices(
    membership: Membership, users: list, agencies: list, *, unassigned: bool = True
) -> PreparedChoices:
    """Targets for assigning records: "user:<id>", "agency:<id>" (managers), "none" (the pool)."""
    if not can_assign_to_others(membership):
        return PreparedChoices([(f"user:{membership.user_id}", pgettext_lazy("assign to", "Me"))])
    choices: list[Any] = [(f"user:{u.pk}", str(u)) for u in users]
    active = [a for a in agencies if a.is_active]
    if active:
        choices = [(_("People"), choices), (_("Agencies"), [(f"agency:{a.pk}", str(a)) for a in active])]
    if unassigned:
        choices = [("none", _("Unassigned (pool)")), *choices]
    return PreparedChoices(choices)


def parse_assignee(value: str) -> tuple[int | None, int | None]:
    """ "user:5" → (5, None); "agency:2" → (None, 2); "none" → (None, None)."""
    kind, _sep, pk = (value or "").partition(":")
    if kind in ("user", "agency") and pk.isdigit():
        return (int(pk), None) if kind == "user" else (None, int(pk))
    if kind == "none":
        return None, None
    raise ValidationError(fields={"target": [str(_("Choose who gets the records."))]})


# --- record create/edit ------------------------------------------------------------------------


class RecordForm(forms.Form):
    """A record type's editable fields, tags, owner (managers, on create) and typed custom fields."""

    def __init__(self, *args: Any, kind: Any, membership: Membership, record: Any = None, **kwargs: Any) -> None:
        self.kind, self.membership, self.record = kind, membership, record
        self.creating = record is None
        kwargs.setdefault("initial", self._initial())
        super().__init__(*args, **kwargs)
        for name in kind.form_fields:
            if name in ("pipeline", "stage") and not self.creating:
                continue  # a deal's pipeline and stage change through the stage verbs
            self.fields[name] = self._field(name)
        tags = list(selectors.tag_list(membership=membership))
        if tags:
            self.fields["tags"] = forms.MultipleChoiceField(
                label=_("Tags"),
                required=False,
                choices=[(str(t.pk), t.name) for t in tags],
                widget=forms.SelectMultiple(attrs={"size": str(min(len(tags), 6))}),
                help_text=_("Ctrl-click (⌘-click) to pick several."),
            )
        if self.creating and can_assign_to_others(membership):
            from insidesales.orgs.selectors import assignable_users

            self.fields["owner"] = forms.ChoiceField(
                label=_("Owner"),
                required=False,
                choices=PreparedChoices(
                    [("", _("Unassigned")), *user_choices(list(assignable_users(membership=membership)))]
                ),
            )
        self.custom_names: list[str] = []
        for definition in selectors.custom_field_list(membership=membership, record_type=kind.record_type):
            name = f"custom_{definition.key}"
            self.fields[name] = self._custom_field(definition)
            self.custom_names.append(name)
        for bound in self.fields.values():
            bound.widget.attrs.setdefault("class", "crm-input")

    @property
    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in self.custom_names]

    @property
    def custom_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.custom_names]

    def _initial(self) -> dict[str, Any]:
        record = self.record
        if record is None:
            return {"owner": str(self.membership.user_id), "source": LeadSource.OTHER}
        initial: dict[str, Any] = {name: getattr(record, name, None) for name in self.kind.form_fields}
        if hasattr(record, "phone"):
            initial["phone"] = record.phone_raw or format_phone(
                record.phone, self.membership.organization.default_region
            )
        for name in ("company", "contact"):
            if name in initial:
                initial[name] = str(getattr(record, f"{name}_id") or "")
        initial["tags"] = [str(t.pk) for t in selectors.record_tags(record)]
        initial.update({f"custom_{k}": v for k, v in (record.custom or {}).items()})
        return initial

    def _field(self, name: str) -> forms.Field:
        model_field = self.kind.model._meta.get_field(name)
        label = capfirst(model_field.verbose_name)
        required = name in {"contact": ("last_name",), "company": ("name",), "deal": ("name",)}.get(
            self.kind.record_type, ()
        )
        if name == "notes":
            return forms.CharField(label=label, required=False, widget=forms.Textarea(attrs={"rows": 3}))
        if name == "source":
            return forms.ChoiceField(label=label, choices=LeadSource.choices)
        if name == "time_zone":
            return forms.ChoiceField(label=label, required=False, choices=[("", "—"), *TIMEZONE_CHOICES])
        if name == "employees":
            return forms.IntegerField(label=label, required=False, min_value=0)
        if name == "expected_close":
            return forms.DateField(label=label, required=False, widget=DateInput())
        if name in ("company", "contact"):
            return forms.ChoiceField(label=label, required=False, choices=self._record_choices(name))
        if name == "pipeline":
            pipelines = [(str(p.pk), str(p)) for p in self._pipelines()]
            return forms.ChoiceField(label=label, required=False, choices=pipelines)
        if name == "stage":
            groups = [(str(p), [(str(s.pk), str(s)) for s in p.stages.all()]) for p in self._pipelines()]
            return forms.ChoiceField(label=label, required=False, choices=[("", _("First open stage")), *groups])
        attrs: dict[str, str] = {}
        if name == "email":
            attrs = {"type": "email", "autocomplete": "off"}
        elif name == "phone":
            attrs = {"type": "tel"}
        elif name == "amount":
            attrs = {"inputmode": "decimal"}
        elif name in ("country", "currency"):
            organization = self.membership.organization
            attrs = {
                "size": "3",
                "placeholder": organization.default_region if name == "country" else organization.default_currency,
            }
        max_length = getattr(model_field, "max_length", None) if name not in ("phone", "amount") else 64
        return forms.CharField(
            label=label, required=required, max_length=max_length, widget=forms.TextInput(attrs=attrs)
        )

    def _pipelines(self) -> list:
        if not hasattr(self, "_pipeline_cache"):
            self._pipeline_cache = list(selectors.pipeline_list(membership=self.membership))
        return self._pipeline_cache

    def _record_choices(self, name: str) -> list[tuple[str, str]]:
        from insidesales.crm.models import Company, Contact

        model = Company if name == "company" else Contact
        page = selectors.record_list(
            membership=self.membership, model=model, sort="name_key", limit=CHOOSER_LIMIT, with_tags=False
        )
        choices = [(str(r.pk), str(r)) for r in page.items]
        current = getattr(self.record, name, None) if self.record is not None else None
        if current is not None and str(current.pk) not in {c[0] for c in choices}:
            choices.insert(0, (str(current.pk), str(current)))
        return [("", "—"), *choices]

    def _custom_field(self, definition: Any) -> forms.Field:
        label, required = definition.label, definition.required
        kind = definition.field_type
        if kind == CustomFieldType.BOOLEAN:
            return forms.BooleanField(label=label, required=False)
        if kind == CustomFieldType.DATE:
            return forms.DateField(label=label, required=required, widget=DateInput())
        if kind == CustomFieldType.CHOICE:
            choices = [("", "—"), *[(str(c), str(c)) for c in definition.choices]]
            return forms.ChoiceField(label=label, required=required, choices=choices)
        attrs = {"inputmode": "decimal"} if kind == CustomFieldType.NUMBER else {}
        return forms.CharField(label=label, required=required, widget=forms.TextInput(attrs=attrs))

    def to_service_data(self) -> dict[str, Any]:
        """Cleaned values in the shape the create/update services take."""
        data: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            if name in self.custom_names:
                if isinstance(value, dt.date):
                    value = value.isoformat()
                data.setdefault("custom", {})[name[len("custom_") :]] = value
            elif name in ("company", "contact") and not self.creating and name not in self.changed_data:
                continue  # unchanged links are not re-checked (the linked record may be outside the user's scope)
            elif name in ("company", "contact", "pipeline", "stage", "owner"):
                data[f"{name}_id"] = int(value) if value else None
            elif name == "tags":
                data["tag_ids"] = [int(v) for v in value]
            else:
                data[name] = value
        if data.get("pipeline_id") is None:
            data.pop("pipeline_id", None)
        return data


# --- list pages ----------------------------------------------------------------------------------


class FilterForm(forms.Form):
    """The filters of a FilterSet plus search, sort and the column chooser, for the list page."""

    def __init__(self, *, state: Any, options: Any, membership: Membership) -> None:
        filterset = state.filterset
        initial = {**state.filters, "sort": state.sort, "cols": state.columns}
        super().__init__(initial=initial, auto_id="filter_%s")
        self.fields["q"] = forms.CharField(
            label=_("Search"),
            required=False,
            widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Name, email or phone")}),
        )
        managers = can_assign_to_others(membership)
        for spec in filterset.filters:
            field = self._filter_field(spec, options, managers)
            if field is not None:
                self.fields[spec.name] = field
        self.fields["sort"] = forms.ChoiceField(
            label=_("Sort"),
            choices=[
                choice
                for key, label in filterset.sorts.items()
                for choice in ((f"-{key}", f"{label} ↓"), (key, f"{label} ↑"))
            ],
            widget=RememberedSelect,
        )
        self.fields["cols"] = forms.MultipleChoiceField(
            label=_("Columns"),
            required=False,
            choices=state.column_choices,
            widget=RememberedCheckboxSelectMultiple,
        )
        # Filters the form cannot show (e.g. a company picked from its page) ride along as hidden inputs.
        self.hidden_pairs = [
            (key, str(v))
            for key, value in state.filters.items()
            if key not in self.fields
            for v in (value if isinstance(value, list) else [value])
        ]

    @staticmethod
    def _filter_field(spec: Any, options: Any, managers: bool) -> forms.Field | None:
        any_choice = ("", _("Any"))
        if spec.kind == "user":
            users = user_choices(options.users)
            return forms.ChoiceField(
                label=spec.label,
                required=False,
                choices=PreparedChoices([any_choice, ("me", _("Me")), ("none", _("Unassigned")), *users]),
                widget=RememberedSelect,
            )
        if spec.kind == "multichoice":
            return forms.MultipleChoiceField(
                label=spec.label, required=False, choices=spec.choices, widget=RememberedCheckboxSelectMultiple
            )
        if spec.kind == "choice":
            return forms.ChoiceField(
                label=spec.label, required=False, choices=[any_choice, *spec.choices], widget=RememberedSelect
            )
        if spec.kind in ("date_from", "date_to"):
            return forms.DateField(label=spec.label, required=False, widget=DateInput())
        if spec.kind == "text":
            return forms.CharField(label=spec.label, required=False, widget=forms.TextInput(attrs={"size": "8"}))
        lookups = {
            "team": options.teams if managers else [],
            "agency": options.agencies if managers else [],
            "tag": options.tags,
            "pipeline": options.pipelines if len(options.pipelines) > 1 else [],
        }
        if spec.name == "stage":
            groups = [(str(p), [(str(s.pk), str(s)) for s in p.stages.all()]) for p in options.pipelines]
            return forms.ChoiceField(
                label=spec.label,
                required=False,
                choices=PreparedChoices([any_choice, *groups]),
                widget=RememberedSelect,
            )
        items = lookups.get(spec.name)
        if not items:
            return None
        return forms.ChoiceField(
            label=spec.label,
            required=False,
            choices=PreparedChoices([any_choice, *[(str(i.pk), str(i)) for i in items]]),
            widget=RememberedSelect,
        )


class BulkActionForm(forms.Form):
    """The action bar under a list: assign, tag, change status (leads), delete."""

    ACTIONS = (
        ("assign", _("Assign to")),
        ("tag", _("Add tag")),
        ("status", _("Change status")),
        ("delete", _("Delete")),
    )
    STATUSES = [(s, LeadStatus(s).label) for s in (LeadStatus.WORKING, LeadStatus.QUALIFIED, LeadStatus.DISQUALIFIED)]

    def __init__(self, *args: Any, kind: Any, options: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, auto_id="bulk_%s", **kwargs)
        actions = [a for a in self.ACTIONS if a[0] != "status" or kind.record_type == "lead"]
        if kind.record_type == "lead" and membership.role in (Role.ADMIN, Role.MANAGER):
            actions.insert(-1, ("campaign", _("Add to call campaign")))
        if membership.role == Role.AGENCY_REP:
            actions = [a for a in actions if a[0] != "assign"]  # agency reps cannot reassign
        if not options.tags:
            actions = [a for a in actions if a[0] != "tag"]
        self.fields["action"] = forms.ChoiceField(label=_("Action"), choices=actions, widget=RememberedSelect)
        self.fields["target"] = forms.ChoiceField(
            label=_("Assign to"),
            required=False,
            choices=assignee_choices(membership, options.users, options.agencies),
            widget=RememberedSelect,
        )
        self.fields["tag"] = forms.ChoiceField(
            label=_("Tag"),
            required=False,
            choices=PreparedChoices((str(t.pk), t.name) for t in options.tags),
            widget=RememberedSelect,
        )
        if kind.record_type == "lead":
            self.fields["status"] = forms.ChoiceField(
                label=_("Status"), required=False, choices=self.STATUSES, widget=RememberedSelect
            )
            self.fields["reason"] = forms.ChoiceField(
                label=_("Reason"),
                required=False,
                choices=[("", "—"), *DisqualifyReason.choices],
                widget=RememberedSelect,
            )


class SaveViewForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("name of a thing", "Name"), max_length=100)
    team = forms.ChoiceField(label=_("Share with"), required=False, widget=RememberedSelect)

    def __init__(self, *args: Any, teams: list, **kwargs: Any) -> None:
        super().__init__(*args, auto_id="saveview_%s", **kwargs)
        self.fields["team"].choices = PreparedChoices([("", _("Only me")), *[(str(t.pk), str(t)) for t in teams]])


# --- detail-page verbs ---------------------------------------------------------------------------


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Note"),
        widget=forms.Textarea(attrs={"rows": 3, "class": "crm-input", "placeholder": _("Write a note…")}),
    )


class AssignForm(forms.Form):
    target = forms.ChoiceField(label=_("Owner"), widget=RememberedSelect)

    def __init__(self, *args: Any, choices: list, **kwargs: Any) -> None:
        super().__init__(*args, auto_id="assign_%s", **kwargs)
        self.fields["target"].choices = choices


class DisqualifyForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason"), choices=[("", "—"), *DisqualifyReason.choices], widget=RememberedSelect
    )
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ConvertForm(forms.Form):
    create_deal = forms.BooleanField(label=_("Create a deal"), required=False, initial=True)
    deal_name = forms.CharField(label=_("Deal name"), required=False, max_length=255)
    # localize: a Russian user types "1500,50".
    amount = forms.DecimalField(
        label=_("Amount"), required=False, min_value=0, max_digits=14, decimal_places=2, localize=True
    )
    pipeline = forms.ChoiceField(label=_("Pipeline"), required=False, widget=RememberedSelect)

    def __init__(self, *args: Any, pipelines: list, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pipeline"].choices = [(str(p.pk), str(p)) for p in pipelines]
        if len(pipelines) < 2:
            del self.fields["pipeline"]


class StageForm(forms.Form):
    stage = forms.ChoiceField(label=_("Stage"), widget=RememberedSelect)
    lost_reason = forms.CharField(label=_("Lost reason"), required=False, max_length=255)

    def __init__(self, *args: Any, stages: list, **kwargs: Any) -> None:
        super().__init__(*args, auto_id="stage_%s", **kwargs)
        self.fields["stage"].choices = [(str(s.pk), str(s)) for s in stages]


class TaskForm(forms.Form):
    """A task's fields; the assignee select appears for managers and admins only."""

    title = forms.CharField(label=_("Title"), max_length=255)
    due_at = forms.DateTimeField(label=_("Due"), widget=DateTimeInput())
    remind_at = forms.DateTimeField(label=_("Remind at"), required=False, widget=DateTimeInput())
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    assignee = forms.ChoiceField(label=_("Assignee"), required=False, widget=RememberedSelect)

    def __init__(self, *args: Any, membership: Membership, users: list, **kwargs: Any) -> None:
        if "initial" not in kwargs:
            tomorrow = timezone.localtime() + dt.timedelta(days=1)
            kwargs["initial"] = {"due_at": tomorrow.replace(hour=10, minute=0, second=0, microsecond=0)}
        kwargs["initial"].setdefault("assignee", str(membership.user_id))
        super().__init__(*args, **kwargs)
        if can_assign_to_others(membership):
            self.fields["assignee"].choices = user_choices(users)
        else:
            del self.fields["assignee"]
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "crm-input")

    def to_service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if "assignee" in data:
            assignee = data.pop("assignee")
            data["assignee_id"] = int(assignee) if assignee else None
        return data
