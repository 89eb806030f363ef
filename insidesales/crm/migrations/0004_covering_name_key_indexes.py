"""The name-key indexes hold each row's id and last activity (INCLUDE) on PostgreSQL, for index-only
global searches; rebuilt concurrently there (see RebuildIndexesConcurrently). SQLite has no INCLUDE
(its indexes hold the row id already) and builds the very same index either way, so there the change
is recorded without rebuilding anything."""

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


INDEXES = [
    ("company", "company_name_key"),
    ("contact", "contact_name_key"),
    ("contact", "contact_name_rev_key"),
    ("deal", "deal_name_key"),
    ("lead", "lead_name_key"),
    ("lead", "lead_name_rev_key"),
    ("lead", "lead_company_key"),
]


class RebuildIndexesConcurrently(migrations.operations.base.Operation):
    """Where indexes can have INCLUDE columns (PostgreSQL): each index is built anew under a temporary
    name with CREATE INDEX CONCURRENTLY, the old one dropped CONCURRENTLY and the new one renamed, so
    the tables stay readable and writable throughout (a plain DROP/CREATE would lock the four record
    tables until all seven indexes were rebuilt). Elsewhere the index is the same: nothing to do."""

    reduces_to_sql = False
    reversible = True

    def state_forwards(self, app_label, state):
        # The working state of the database operations only (the project state changes through
        # SeparateDatabaseAndState's state_operations).
        for operation in STATE:
            operation.state_forwards(app_label, state)

    def _rebuild(self, app_label, schema_editor, old_state, new_state):
        if not schema_editor.connection.features.supports_covering_indexes:
            return
        for model_name, name in INDEXES:
            model = new_state.apps.get_model(app_label, model_name)
            old = old_state.models[app_label, model_name].get_index_by_name(name)
            new = new_state.models[app_label, model_name].get_index_by_name(name).clone()
            new.name = f"{name}_new"
            quote = schema_editor.quote_name
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {quote(new.name)}")  # a failed earlier try
            schema_editor.execute(new.create_sql(model, schema_editor, concurrently=True))
            schema_editor.execute(old.remove_sql(model, schema_editor, concurrently=True))
            schema_editor.execute(f"ALTER INDEX {quote(new.name)} RENAME TO {quote(name)}")

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._rebuild(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._rebuild(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return "Rebuild the name-key indexes with INCLUDE columns, concurrently (PostgreSQL)"

    def deconstruct(self):
        return (self.__class__.__qualname__, [], {})


class Migration(migrations.Migration):
    atomic = False  # CREATE/DROP INDEX CONCURRENTLY cannot run in a transaction
    dependencies = [
        ("crm", "0003_alter_activity_kind"),
        ("orgs", "0002_directory_version"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=STATE,
            database_operations=[RebuildIndexesConcurrently()],
        ),
    ]
