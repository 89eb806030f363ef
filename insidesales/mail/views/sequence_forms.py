"""Forms of the sequence pages: a sequence's settings, one step (each kind shows its own fields), picking a
sequence to enroll in. They only shape input; the services check and write it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from insidesales.mail.models import EmailTemplate, Sequence, SequenceStatus, SequenceStep, StepKind
from insidesales.orgs.models import Agency, Membership, Role, Team
from insidesales.orgs.visibility import managed_team_ids

STATUS_CHOICES = [(s, SequenceStatus(s).label) for s in SequenceStatus.values]
# The fields each kind of step shows, in order.
STEP_FIELDS = {
    StepKind.AUTO_EMAIL: ("template", "subject", "body", "reply_in_thread", "window_start", "window_end"),
    StepKind.MANUAL_EMAIL: ("title", "template", "subject", "body", "reply_in_thread", "window_start", "window_end"),
    StepKind.CALL: ("title", "window_start", "window_end"),
    StepKind.TASK: ("title", "window_start", "window_end"),
    StepKind.WAIT: ("wait_days", "business_days"),
}


class SequenceForm(forms.Form):
    """A sequence's name, description, who it is for, and (when editing) its status."""

    name = forms.CharField(label=_("Name"), max_length=150)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    team = forms.ChoiceField(label=_("Team"), required=False)
    agency = forms.ChoiceField(label=_("Agency"), required=False)
    allow_parallel = forms.BooleanField(
        label=_("Leads in it may be in other sequences at the same time"), required=False
    )
    status = forms.ChoiceField(label=_("Status"), required=False, choices=STATUS_CHOICES)

    def __init__(self, *args: Any, membership: Membership, sequence: Sequence | None = None, **kwargs: Any) -> None:
        if sequence is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": sequence.name,
                "description": sequence.description,
                "team": str(sequence.team_id or ""),
                "agency": str(sequence.agency_id or ""),
                "allow_parallel": sequence.allow_parallel,
                "status": sequence.status,
            }
        super().__init__(*args, **kwargs)
        teams = Team.objects.filter(organization_id=membership.organization_id).order_by("name")
        if membership.role == Role.ADMIN:
            self.fields["team"].choices = [("", _("Every team")), *((str(t.pk), t.name) for t in teams)]
            agencies = Agency.objects.filter(organization_id=membership.organization_id).order_by("name")
            self.fields["agency"].choices = [("", "—"), *((str(a.pk), a.name) for a in agencies)]
        else:
            mine = teams.filter(pk__in=managed_team_ids(membership))
            self.fields["team"].choices = [(str(t.pk), t.name) for t in mine]
            self.fields["team"].required = True
            del self.fields["agency"]
        if sequence is None:
            del self.fields["status"]
        elif sequence.status != SequenceStatus.DRAFT:
            self.fields["status"].choices = [c for c in STATUS_CHOICES if c[0] != SequenceStatus.DRAFT]

    def to_service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "description": data.get("description", ""),
            "team_id": data.get("team") or None,
            "agency_id": data.get("agency") or None,
            "allow_parallel": data.get("allow_parallel", False),
        }


class StepForm(forms.Form):
    """One step. Only the fields of its kind are kept (see `STEP_FIELDS`)."""

    kind = forms.ChoiceField(label=_("Kind of step"), choices=StepKind.choices)
    title = forms.CharField(label=_("Task title"), max_length=255, required=False)
    template = forms.ChoiceField(label=_("Template"), required=False)
    subject = forms.CharField(label=_("Subject"), max_length=255, required=False)
    body = forms.CharField(
        label=_("Body"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Merge fields such as {{ lead.first_name }}; leave empty when a template is chosen."),
    )
    reply_in_thread = forms.BooleanField(label=_("Send as a reply to the previous email"), required=False)
    wait_days = forms.IntegerField(label=_("Days to wait"), min_value=1, max_value=365, required=False)
    business_days = forms.BooleanField(label=_("Business days only"), required=False)
    window_start = forms.TimeField(
        label=_("Not before"), required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    window_end = forms.TimeField(
        label=_("Not after"), required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )

    def __init__(
        self, *args: Any, membership: Membership, kind: str, step: SequenceStep | None = None, **kwargs: Any
    ) -> None:
        if step is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "kind": step.kind,
                "title": step.title,
                "template": str(step.template_id or ""),
                "subject": step.subject,
                "body": step.body,
                "reply_in_thread": step.reply_in_thread,
                "wait_days": step.wait_days or None,
                "business_days": step.business_days,
                "window_start": step.window_start,
                "window_end": step.window_end,
            }
        elif "initial" not in kwargs:
            kwargs["initial"] = {"kind": kind, "reply_in_thread": True, "wait_days": 2}
        super().__init__(*args, **kwargs)
        self.kind = kind if kind in StepKind.values else StepKind.AUTO_EMAIL
        self.chosen_kind = str(self.kind)  # templates read `form.kind` as the field, this as the value
        templates = EmailTemplate.objects.filter(organization_id=membership.organization_id).filter(
            Q(is_shared=True) | Q(owner_id=membership.user_id)
        )
        self.fields["template"].choices = [
            ("", _("(none: write the subject and body below)")),
            *((str(t.pk), t.name) for t in templates.order_by("name", "id")),
        ]
        if self.kind == StepKind.WAIT:
            self.fields["wait_days"].required = True
        if self.kind == StepKind.TASK:
            self.fields["title"].required = True
        keep = {"kind", *STEP_FIELDS[self.kind]}
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]

    def to_service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if "template" in data:
            data["template_id"] = data.pop("template") or None
        return data


class EnrollForm(forms.Form):
    """Pick one of the active sequences the member may enroll in."""

    sequence = forms.ChoiceField(label=_("Sequence"))

    def __init__(self, *args: Any, sequences: list[Sequence], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sequence"].choices = [(str(s.pk), s.name) for s in sequences]
