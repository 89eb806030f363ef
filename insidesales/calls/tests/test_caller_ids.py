"""Which number a callee sees: the campaign's, else one of ours in the callee's area (local presence),
else the rep's team's, else the organization's default."""

from __future__ import annotations

from insidesales.calls.gate import local_presence
from insidesales.calls.models import CallerId
from insidesales.calls.services import dialing


def test_local_presence_prefers_the_closest_region():
    owned = [("+12125550100", "US"), ("+14155550100", "US-415"), ("+74955550100", "RU"), ("+13125550100", "")]
    assert local_presence("+14155552671", owned) == "+14155550100"  # same area code
    assert local_presence("+16505552671", owned) == "+12125550100"  # same country only
    assert local_presence("+79165550105", owned) == "+74955550100"
    assert local_presence("+442079460958", owned) is None
    assert local_presence("not a number", owned) is None


def test_the_number_shown_to_a_callee(cw):
    org = cw.org.pk
    default = CallerId.objects.create(organization=cw.org, number="+12125550100", is_default=True)
    team = CallerId.objects.create(organization=cw.org, number="+13125550100", team=cw.team)
    local = CallerId.objects.create(organization=cw.org, number="+14155550100", region="US-415")

    def shown(to, team_id=None, preferred=None):
        return dialing.caller_id_for(organization_id=org, team_id=team_id, to_number=to, preferred=preferred)

    assert shown("+14155552671", cw.team.pk) == local.number  # local presence first
    assert shown("+16505552671", cw.team.pk) == team.number  # then the rep's team's
    assert shown("+16505552671", cw.other_team.pk) == default.number  # then the default
    assert shown("+14155552671", cw.team.pk, preferred=default) == default.number  # the campaign's wins
    CallerId.objects.all().delete()
    assert shown("+14155552671") == ""
