"""The demo organization's email: sending rules, the reps' mailboxes (switched off: the demo has no mail
server; a rep puts real settings in and switches theirs on), shared templates in English and Russian, a
sequence per desk with three weeks of history (emails sent, replies, an out-of-office, a bounce, an
unsubscribe) on the leads' timelines, and the report those make."""

from __future__ import annotations

import datetime as dt
import random

from insidesales.crm.models import Lead
from insidesales.mail import rendering
from insidesales.mail.models import (
    Direction,
    EmailMessage,
    EmailTemplate,
    EmailTemplateVariant,
    Enrollment,
    EnrollmentState,
    InboundKind,
    Mailbox,
    MailSettings,
    MessageStatus,
    Sequence,
    SequenceStep,
    StepKind,
    StepRun,
    StopReason,
    Suppression,
    SuppressionReason,
)
from insidesales.mail.outbox import timeline_log_sent
from insidesales.mail.services.timeline import email_timeline_log
from insidesales.orgs.models import Membership

FIRST_TOUCH = {
    "en": (
        "{{ lead.company | default('Your team') }} and freight costs",
        "Hi {{ lead.first_name | default('there') }},\n\nCompanies like {{ lead.company | default('yours') }} "
        "cut their shipping costs by a fifth with us.\nWould a 20-minute call next week work?\n\n"
        "{{ sender.name }}",
    ),
    "ru": (
        "{{ lead.company | default('Ваша компания') }} и расходы на доставку",
        "Здравствуйте, {{ lead.first_name | default('коллеги') }}!\n\nКомпании вроде "
        "{{ lead.company | default('вашей') }} снижают с нами расходы на доставку на пятую часть.\n"
        "Найдётся 20 минут на звонок на следующей неделе?\n\n{{ sender.name }}",
    ),
}
FOLLOW_UP = {
    "en": ("", "Hi {{ lead.first_name | default('there') }}, just bringing this to the top of your inbox."),
    "ru": ("", "{{ lead.first_name | default('Коллеги') }}, напоминаю о своём письме."),
}


def _template(org: int, owner, name: str, texts: dict) -> EmailTemplate:
    template = EmailTemplate.objects.create(organization_id=org, name=name, owner=owner, is_shared=True)
    for language, (subject, body) in texts.items():
        EmailTemplateVariant.objects.create(
            template=template, language=language, subject=subject or "(reply)", body=body
        )
    return template


def demo_mail(*, people: dict[str, Membership], now: dt.datetime, seed: int) -> dict[str, int]:
    rng = random.Random(f"mail:{seed}")
    admin = people["admin@demo.example"]
    org = admin.organization_id
    MailSettings.objects.update_or_create(
        organization_id=org,
        defaults={"company_name": "Demo Trading Co.", "physical_address": "1 Harbor Way, Newark, NJ 07102, USA"},
    )
    mailboxes = {}
    for email in ("rep@demo.example", "rep.ru@demo.example", "manager@demo.example"):
        member = people[email]
        mailboxes[email] = Mailbox.objects.create(
            organization_id=org,
            user=member.user,
            email=email,
            display_name=member.user.get_full_name(),
            smtp_host="smtp.demo.example",
            imap_host="imap.demo.example",
            is_active=False,
        )
    first = _template(org, admin.user, "First touch", FIRST_TOUCH)
    follow = _template(org, admin.user, "Follow-up", FOLLOW_UP)
    counts = {"sequences": 0, "enrollments": 0, "emails": 0}
    for desk_manager, rep_email, name in (
        ("manager@demo.example", "rep@demo.example", "Inbound follow-up"),
        ("manager.ru@demo.example", "rep.ru@demo.example", "Логистика: холодная цепочка"),
    ):
        manager, rep = people[desk_manager], people[rep_email]
        sequence = Sequence.objects.create(organization_id=org, name=name, owner=manager.user, team_id=manager.team_id)
        steps = [
            SequenceStep.objects.create(sequence=sequence, position=0, kind=StepKind.AUTO_EMAIL, template=first),
            SequenceStep.objects.create(
                sequence=sequence, position=1, kind=StepKind.WAIT, wait_days=2, business_days=True
            ),
            SequenceStep.objects.create(sequence=sequence, position=2, kind=StepKind.AUTO_EMAIL, template=follow),
            SequenceStep.objects.create(
                sequence=sequence, position=3, kind=StepKind.CALL, title="Call after two emails"
            ),
        ]
        leads = list(
            Lead.objects.filter(organization_id=org, owner=rep.user, status="new").exclude(email="").order_by("id")[:30]
        )
        for index, lead in enumerate(leads):
            _history(rng, sequence, steps, lead, mailboxes[rep_email], rep, now, index, counts)
        # The loader then gives these leads the time of their latest timeline entry (as for every record
        # the demo's stories touched).
        Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(last_activity_at=now)
        counts["sequences"] += 1
    return counts


def _history(rng, sequence, steps, lead, mailbox, rep, now, index, counts) -> None:
    """One lead's story in the sequence: enrolled some days ago, the first email sent, then one of: still
    waiting for the follow-up, replied, out of office, bounced, unsubscribed, finished."""
    org = lead.organization_id
    started = now - dt.timedelta(days=rng.randint(3, 20), hours=rng.randint(0, 8))
    story = ["waiting", "waiting", "replied", "replied", "finished", "out_of_office", "bounced", "unsubscribed"]
    fate = story[index % len(story)]
    enrollment = Enrollment.objects.create(
        organization_id=org,
        sequence=sequence,
        lead=lead,
        email=lead.email.lower(),
        mailbox=mailbox,
        owner_id=lead.owner_id,
        team_id=lead.team_id,
        agency_id=lead.agency_id,
        enrolled_by=rep.user,
        position=2,
        next_run_at=now + dt.timedelta(days=rng.randint(1, 3)),
    )
    Enrollment.objects.filter(pk=enrollment.pk).update(created_at=started)
    message_id = f"demo-{sequence.pk}-{lead.pk}-1@demo.example"
    language = rendering.language_for(lead)
    variant = rendering.template_variant_for(steps[0].template, language)
    rendered = rendering.render_email(
        subject=variant.subject,
        body=variant.body,
        context=rendering.merge_context(organization=lead.organization, lead=lead, sender=mailbox),
    )
    sent = EmailMessage.objects.create(
        organization_id=org,
        mailbox=mailbox,
        direction=Direction.OUT,
        status=MessageStatus.SENT,
        message_id=message_id,
        thread_root=message_id,
        from_address=mailbox.email,
        from_name=mailbox.display_name,
        to_addresses=[enrollment.email],
        subject=rendered.subject,
        body_text=rendered.text,
        body_html=rendered.html,
        template=steps[0].template,
        lead=lead,
        owner_id=lead.owner_id,
        team_id=lead.team_id,
        agency_id=lead.agency_id,
        enrollment=enrollment,
        step=steps[0],
        scheduled_at=started,
        sent_at=started,
    )
    EmailMessage.objects.filter(pk=sent.pk).update(created_at=started)  # listed when it was sent
    StepRun.objects.create(organization_id=org, enrollment=enrollment, step=steps[0], outcome="sent", message=sent)
    StepRun.objects.create(organization_id=org, enrollment=enrollment, step=steps[1], outcome="waited")
    timeline_log_sent([sent], now=started)
    enrollment.thread_root = enrollment.last_message_id = message_id
    counts["enrollments"] += 1
    counts["emails"] += 1
    later = started + dt.timedelta(hours=rng.randint(2, 40))
    if fate in ("replied", "out_of_office", "bounced"):
        kind = {"replied": InboundKind.MESSAGE, "out_of_office": InboundKind.AUTO_REPLY, "bounced": InboundKind.BOUNCE}
        russian = language == "ru"
        subject = {
            "replied": f"Re: {sent.subject}",
            "out_of_office": f"{'Автоответ' if russian else 'Automatic reply'}: {sent.subject}",
            "bounced": "Undelivered Mail Returned to Sender",
        }
        text = {
            "replied": "Спасибо, давайте созвонимся во вторник." if russian else "Thanks, let's talk on Tuesday.",
            "out_of_office": "Я в отпуске до понедельника." if russian else "I am away until Monday.",
            "bounced": f"<{enrollment.email}>: host mail.example said: 550 5.1.1 User unknown",
        }
        received = EmailMessage.objects.create(
            organization_id=org,
            mailbox=mailbox,
            direction=Direction.IN,
            status=MessageStatus.RECEIVED,
            kind=kind[fate],
            message_id=f"demo-{fate}-{lead.pk}@mail.example",
            in_reply_to=message_id,
            references=message_id,
            thread_root=message_id,
            from_address="mailer-daemon@mail.example" if fate == "bounced" else enrollment.email,
            to_addresses=[mailbox.email],
            subject=subject[fate],
            body_text=text[fate],
            content_hash=f"demo-{lead.pk}",
            lead=lead,
            owner_id=lead.owner_id,
            team_id=lead.team_id,
            agency_id=lead.agency_id,
            received_at=later,
            bounce=(
                {
                    "recipient": enrollment.email,
                    "action": "failed",
                    "status": "5.1.1",
                    "hard": True,
                    "verified_hard": [enrollment.email],
                }
                if fate == "bounced"
                else {}
            ),
        )
        EmailMessage.objects.filter(pk=received.pk).update(created_at=later)
        email_timeline_log(message=received)
    if fate == "replied":
        enrollment.state, enrollment.stop_reason = EnrollmentState.STOPPED, StopReason.REPLIED
    elif fate == "out_of_office":
        enrollment.state, enrollment.stop_reason = EnrollmentState.PAUSED, StopReason.OUT_OF_OFFICE
    elif fate in ("bounced", "unsubscribed"):
        reason = SuppressionReason.HARD_BOUNCE if fate == "bounced" else SuppressionReason.UNSUBSCRIBED
        Suppression.objects.get_or_create(organization_id=org, email=enrollment.email, defaults={"reason": reason})
        enrollment.state = EnrollmentState.STOPPED
        enrollment.stop_reason = StopReason.BOUNCED if fate == "bounced" else StopReason.UNSUBSCRIBED
    elif fate == "finished":
        enrollment.state, enrollment.position = EnrollmentState.FINISHED, len(steps)
    if enrollment.state != EnrollmentState.ACTIVE:
        enrollment.finished_at = later if enrollment.state != EnrollmentState.PAUSED else None
        if enrollment.state != EnrollmentState.PAUSED:
            enrollment.next_run_at = None
    enrollment.save()
