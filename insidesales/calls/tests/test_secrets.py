"""Telephony credentials at rest: encrypted, readable after a key rotation, re-encrypted on demand."""

from __future__ import annotations

import io

from cryptography.fernet import Fernet
from django.core.management import call_command

from insidesales.calls.models import TelephonySettings
from insidesales.calls.secrets import decrypt_credentials, encrypt_credentials


def test_credentials_are_not_stored_in_the_clear(settings):
    settings.CREDENTIALS_KEY = ""
    token = encrypt_credentials({"auth_token": "s3cret-value"})
    assert "s3cret" not in token and decrypt_credentials(token) == {"auth_token": "s3cret-value"}


def test_rotation_keeps_old_values_readable_and_rotate_credentials_moves_them_to_the_new_key(cw, settings):
    settings.CREDENTIALS_KEY = ""
    row = TelephonySettings.objects.get(organization=cw.org)
    row.credentials_encrypted = encrypt_credentials({"sip_password": "trunk-pass"})  # the derived key
    row.save()
    from insidesales.mail.models import Mailbox

    mailbox = Mailbox.objects.create(
        organization=cw.org,
        user=cw.rep.user,
        email="rep@dialers.test",
        smtp_host="smtp.dialers.test",
        credentials=encrypt_credentials({"smtp_password": "mail-pass"}),
    )
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CREDENTIALS_KEY = first
    assert decrypt_credentials(row.credentials_encrypted) == {"sip_password": "trunk-pass"}
    out = io.StringIO()
    call_command("rotate_credentials", stdout=out)
    assert out.getvalue().strip() == "1 organization(s) and 1 mailbox(es) re-encrypted"
    row.refresh_from_db()
    mailbox.refresh_from_db()
    assert Fernet(first).decrypt(row.credentials_encrypted.encode())  # now under the configured key
    assert Fernet(first).decrypt(mailbox.credentials.encode())
    settings.CREDENTIALS_KEY = f"{second},{first}"
    assert decrypt_credentials(row.credentials_encrypted) == {"sip_password": "trunk-pass"}
