"""Forms of the import pages: the upload, and the column mapping with the import's options."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from insidesales.core.widgets import PreparedChoices
from insidesales.crm.models import LeadSource
from insidesales.imports.models import DuplicatePolicy, RecordType


class UploadForm(forms.Form):
    record_type = forms.ChoiceField(
        label=_("Import"), choices=RecordType.choices, initial=RecordType.LEAD, required=False
    )
    file = forms.FileField(
        label=_("CSV or XLSX file"),
        help_text=_(
            "UTF-8, Windows-1251 or Latin-1; comma, semicolon or tab separated; the first row names the columns."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}),
    )


MATCH_LABELS = {
    RecordType.LEAD: _("When a row matches an existing lead (same email or phone)"),
    RecordType.CONTACT: _("When a row matches an existing contact (same email or phone)"),
    RecordType.COMPANY: _("When a row matches an existing company (same website, name or phone)"),
}

SIMILAR_LABELS = {
    RecordType.LEAD: _(
        "When a row looks like an existing lead (similar name at the same company, no shared email or phone)"
    ),
    RecordType.CONTACT: _(
        "When a row looks like an existing contact (similar name at the same company, no shared email or phone)"
    ),
}


class MappingForm(forms.Form):
    """One select per column of the file, then what to do with duplicates, whom to assign, the source."""

    def __init__(
        self,
        *args: Any,
        headers: list[str],
        mapping: list[str],
        targets: list,
        assignees: list,
        record_type: str = "lead",
        **kwargs: Any,
    ):
        super().__init__(*args, auto_id="import_%s", **kwargs)
        choices = PreparedChoices([("", _("— do not import —")), *[(key, label) for key, label in targets]])
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header or _("Column %(n)d") % {"n": index + 1},
                choices=choices,
                required=False,
                initial=mapping[index] if index < len(mapping) else "",
            )
        self.fields["duplicate_policy"] = forms.ChoiceField(
            label=MATCH_LABELS[record_type],
            choices=DuplicatePolicy.choices,
            initial=DuplicatePolicy.SKIP,
            widget=forms.RadioSelect,
        )
        if record_type in SIMILAR_LABELS:
            self.fields["similar_policy"] = forms.ChoiceField(
                label=SIMILAR_LABELS[record_type],
                choices=DuplicatePolicy.choices,
                initial=DuplicatePolicy.CREATE,
                widget=forms.RadioSelect,
                required=False,  # not sent: create and flag
            )
        if assignees:
            self.fields["assign"] = forms.ChoiceField(
                label=_("Assign rows without an owner column to"),
                choices=PreparedChoices(assignees),
                required=False,
            )
        if record_type == RecordType.LEAD:
            self.fields["source"] = forms.ChoiceField(
                label=_("Lead source (where the file has no source column)"),
                choices=PreparedChoices(LeadSource.choices),
                initial=LeadSource.COLD_LIST,
            )
        self.column_count = len(headers)

    def mapping(self) -> list[str]:
        return [self.cleaned_data.get(f"col_{i}", "") for i in range(self.column_count)]

    def column_fields(self) -> list:
        return [self[f"col_{i}"] for i in range(self.column_count)]
