"""The lead company-key index also holds the surname key (name_rev_key): an import looks for people
with a similar name at the same company in one index range. Rebuilt concurrently on PostgreSQL (the
table stays readable and writable); SQLite drops and builds it."""

from django.db import migrations, models

OLD = models.Index(
    fields=["organization", "company_key"],
    include=("id", "last_activity_at"),
    name="lead_company_key",
    opclasses=["", "varchar_pattern_ops"],
)
NEW = models.Index(
    fields=["organization", "company_key", "name_rev_key"],
    include=("id", "last_activity_at"),
    name="lead_company_key",
    opclasses=["", "varchar_pattern_ops", "varchar_pattern_ops"],
)


class RebuildIndex(migrations.operations.base.Operation):
    """Replace the index `old` of `model_name` by `new` (same name). On PostgreSQL the new one is built
    with CREATE INDEX CONCURRENTLY under a temporary name, the old one dropped concurrently, the new
    one renamed; elsewhere the old one is dropped and the new one created."""

    reduces_to_sql = False
    reversible = True

    def __init__(self, model_name, old, new):
        self.model_name, self.old, self.new = model_name, old, new

    def state_forwards(self, app_label, state):
        state.remove_index(app_label, self.model_name, self.old.name)
        state.add_index(app_label, self.model_name, self.new)

    def _replace(self, app_label, schema_editor, state, old, new):
        model = state.apps.get_model(app_label, self.model_name)
        if schema_editor.connection.vendor != "postgresql":
            schema_editor.remove_index(model, old)
            schema_editor.add_index(model, new)
            return
        quote = schema_editor.quote_name
        building = new.clone()
        building.name = f"{new.name}_new"
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {quote(building.name)}")  # a failed earlier try
        schema_editor.execute(building.create_sql(model, schema_editor, concurrently=True))
        schema_editor.execute(old.remove_sql(model, schema_editor, concurrently=True))
        schema_editor.execute(f"ALTER INDEX {quote(building.name)} RENAME TO {quote(new.name)}")

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._replace(app_label, schema_editor, to_state, self.old, self.new)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._replace(app_label, schema_editor, to_state, self.new, self.old)

    def describe(self):
        return f"Rebuild index {self.new.name} of {self.model_name}"

    def deconstruct(self):
        return (self.__class__.__qualname__, [], {"model_name": self.model_name, "old": self.old, "new": self.new})


class Migration(migrations.Migration):
    atomic = False  # CREATE/DROP INDEX CONCURRENTLY cannot run in a transaction
    dependencies = [("crm", "0004_covering_name_key_indexes")]

    operations = [RebuildIndex("lead", OLD, NEW)]
