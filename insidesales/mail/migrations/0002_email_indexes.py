"""Indexes of emails: the outbox's queue as partial indexes per waiting status and of claims in flight
(no index leading with the status, which PostgreSQL's planner walked for updates by primary key), and no
index twice (lead and contact are covered by their timeline indexes; the thread root needs no LIKE index).

The three fields only lose their own indexes: done by dropping them (SQLite would otherwise copy the
whole table once per altered field)."""

from django.db import migrations, models

OWN_INDEXES = (
    ("mail_emailmessage_lead_id_051d51df", "lead_id", ""),
    ("mail_emailmessage_contact_id_3842ea12", "contact_id", ""),
    ("mail_emailmessage_thread_root_92a58055", "thread_root", ""),
    ("mail_emailmessage_thread_root_92a58055_like", "thread_root", "varchar_pattern_ops"),
)


def drop_own_indexes(apps, schema_editor):
    for name, _, _ in OWN_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def create_own_indexes(apps, schema_editor):
    for name, column, opclass in OWN_INDEXES:
        if opclass and schema_editor.connection.vendor != "postgresql":
            continue
        schema_editor.execute(
            f"CREATE INDEX {schema_editor.quote_name(name)} ON mail_emailmessage"
            f" ({schema_editor.quote_name(column)} {opclass})"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="emailmessage", name="email_due"),
        migrations.AddIndex(
            model_name="emailmessage",
            index=models.Index(
                condition=models.Q(("status", "queued")), fields=["scheduled_at", "id"], name="email_queued"
            ),
        ),
        migrations.AddIndex(
            model_name="emailmessage",
            index=models.Index(
                condition=models.Q(("status", "scheduled")), fields=["scheduled_at", "id"], name="email_scheduled"
            ),
        ),
        migrations.AddIndex(
            model_name="emailmessage",
            index=models.Index(
                condition=models.Q(("claimed_until__isnull", False)), fields=["claimed_until"], name="email_claimed"
            ),
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_own_indexes, create_own_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name="emailmessage",
                    name="lead",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=models.deletion.CASCADE,
                        related_name="+",
                        to="crm.lead",
                    ),
                ),
                migrations.AlterField(
                    model_name="emailmessage",
                    name="contact",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=models.deletion.CASCADE,
                        related_name="+",
                        to="crm.contact",
                    ),
                ),
                migrations.AlterField(
                    model_name="emailmessage", name="thread_root", field=models.CharField(max_length=255)
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="emailmessage",
            index=models.Index(fields=["thread_root"], name="email_thread_root"),
        ),
    ]
