"""Mailboxes cannot point the server at its own network (loopback, private, link-local addresses) unless
the operator allows those hosts: not when saved, not when sending, not when testing the connection."""

from __future__ import annotations

import pytest

from insidesales.core.errors import ValidationError
from insidesales.core.testing import factories as f
from insidesales.mail.connection_check import check_smtp
from insidesales.mail.hosts import HostNotAllowed, ensure_host_allowed
from insidesales.mail.models import Security
from insidesales.mail.services.mailboxes import mailbox_create
from insidesales.mail.smtp import SendFailure, SmtpEndpoint, SmtpSession

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.1.2.3", "169.254.169.254", "::1", "192.168.0.10"])
def test_internal_hosts_are_refused_by_default(settings, host):
    settings.MAIL_ALLOWED_HOSTS = []
    with pytest.raises(HostNotAllowed):
        ensure_host_allowed(host, 25)


def test_public_and_allowed_hosts_pass(settings):
    settings.MAIL_ALLOWED_HOSTS = ["10.0.0.0/8", "mail.internal.example"]
    ensure_host_allowed("93.184.216.34", 587)
    ensure_host_allowed("10.20.30.40", 25)
    ensure_host_allowed("mail.internal.example", 25)
    with pytest.raises(HostNotAllowed):
        ensure_host_allowed("192.168.1.1", 25)


def test_saving_sending_and_testing_all_refuse_an_internal_host(settings):
    settings.MAIL_ALLOWED_HOSTS = []
    org = f.OrganizationFactory()
    rep = f.InsideRepMembershipFactory(organization=org)
    with pytest.raises(ValidationError) as refused:
        mailbox_create(actor=rep, data={"email": "rep@example.org", "smtp_host": "127.0.0.1", "smtp_port": 25})
    assert "smtp_host" in refused.value.fields
    with pytest.raises(SendFailure) as sending:
        SmtpSession(SmtpEndpoint(host="127.0.0.1", port=25, security=Security.NONE)).open()
    assert "own network" in str(sending.value)
    result = check_smtp(host="127.0.0.1", port=25, security=Security.NONE)
    assert not result.ok and result.code == "not_allowed"
