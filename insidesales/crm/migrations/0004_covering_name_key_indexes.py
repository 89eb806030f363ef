"""The name-key indexes hold each row's id and last activity (INCLUDE) on PostgreSQL, for index-only
global searches. SQLite has no INCLUDE (its indexes hold the row id already) and builds the very same
index either way, so there the change is recorded without rebuilding anything."""

from django.conf import settings
from django.db import migrations, models

STATE = [
    migrations.RemoveIndex(
        model_name="company",
        name="company_name_key",
    ),
    migrations.RemoveIndex(
        model_name="contact",
        name="contact_name_key",
    ),
    migrations.RemoveIndex(
        model_name="contact",
        name="contact_name_rev_key",
    ),
    migrations.RemoveIndex(
        model_name="deal",
        name="deal_name_key",
    ),
    migrations.RemoveIndex(
        model_name="lead",
        name="lead_name_key",
    ),
    migrations.RemoveIndex(
        model_name="lead",
        name="lead_name_rev_key",
    ),
    migrations.RemoveIndex(
        model_name="lead",
        name="lead_company_key",
    ),
    migrations.AddIndex(
        model_name="company",
        index=models.Index(
            fields=["organization", "name_key"],
            include=("id", "last_activity_at"),
            name="company_name_key",
            opclasses=["", "varchar_pattern_ops"],
        ),
    ),
    migrations.AddIndex(
        model_name="contact",
        index=models.Index(
            fields=["organization", "name_key"],
            include=("id", "last_activity_at"),
            name="contact_name_key",
            opclasses=["", "varchar_pattern_ops"],
        ),
    ),
    migrations.AddIndex(
        model_name="contact",
        index=models.Index(
            fields=["organization", "name_rev_key"],
            include=("id", "last_activity_at"),
            name="contact_name_rev_key",
            opclasses=["", "varchar_pattern_ops"],
        ),
    ),
    migrations.AddIndex(
        model_name="deal",
        index=models.Index(
            fields=["organization", "name_key"],
            include=("id", "last_activity_at"),
            name="deal_name_key",
            opclasses=["", "varchar_pattern_ops"],
        ),
    ),
    migrations.AddIndex(
        model_name="lead",
        index=models.Index(
            fields=["organization", "name_key"],
            include=("id", "last_activity_at"),
            name="lead_name_key",
            opclasses=["", "varchar_pattern_ops"],
        ),
    ),
    migrations.AddIndex(
        model_name="lead",
        index=models.Index(
            fields=["organization", "name_rev_key"],
            include=("id", "last_activity_at"),
            name="lead_name_rev_key",
            opclasses=["", "varchar_pattern_ops"],
        ),
    ),
    migrations.AddIndex(
        model_name="lead",
        index=models.Index(
            fields=["organization", "company_key"],
            include=("id", "last_activity_at"),
            name="lead_company_key",
            opclasses=["", "varchar_pattern_ops"],
        ),
    ),
]


class OnlyWithCoveringIndexes(migrations.operations.base.Operation):
    """Runs `operation` in the database only where indexes can have INCLUDE columns."""

    reduces_to_sql = False
    reversible = True

    def __init__(self, operation):
        self.operation = operation

    def state_forwards(self, app_label, state):
        # Only the database operations' working state: the project state changes through
        # SeparateDatabaseAndState's state_operations.
        self.operation.state_forwards(app_label, state)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.features.supports_covering_indexes:
            self.operation.database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.features.supports_covering_indexes:
            self.operation.database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return f"{self.operation.describe()} (databases with covering indexes only)"

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.operation], {})


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0003_alter_activity_kind"),
        ("orgs", "0002_directory_version"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=STATE,
            database_operations=[OnlyWithCoveringIndexes(operation) for operation in STATE],
        ),
    ]
