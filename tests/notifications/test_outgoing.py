"""One rule picks a party's channel and says why a party cannot be reached (R-N3): they never disagree."""

from __future__ import annotations

import itertools

import pytest

from backend.models import Party
from backend.models.enums import ChannelPreference, NotificationChannel, PartyKind
from notifications import outgoing

COMBINATIONS = list(itertools.product(ChannelPreference, [None, "13800000000"], [None, "o-openid"]))


@pytest.mark.parametrize(("preference", "phone", "openid"), COMBINATIONS)
def test_a_party_is_reported_unreachable_exactly_when_no_message_would_be_written(preference, phone, openid):
    party = Party(kind=PartyKind.PERSON, name="王一", phone=phone, wechat_openid=openid,
                  channel_preference=preference)
    channel = outgoing.channel_for(party)
    reason = outgoing.unreachable_reason(party)
    assert (reason is None) == (channel is not None)
    if preference is ChannelPreference.NONE:
        assert reason == outgoing.OPTED_OUT
    elif reason is not None:
        assert reason == outgoing.NO_CONTACT and outgoing.UNREACHABLE_WORDS[reason]


def test_wechat_goes_only_to_a_bound_account_that_wants_it_and_sms_needs_a_phone():
    def party(pref, phone=None, openid=None):
        return Party(kind=PartyKind.PERSON, name="王一", phone=phone, wechat_openid=openid, channel_preference=pref)

    assert outgoing.channel_for(party(ChannelPreference.BOTH, "13800000000", "o1")) is NotificationChannel.WECHAT
    assert outgoing.channel_for(party(ChannelPreference.SMS, "13800000000", "o1")) is NotificationChannel.SMS
    assert outgoing.channel_for(party(ChannelPreference.WECHAT, "13800000000")) is NotificationChannel.SMS
    assert outgoing.channel_for(party(ChannelPreference.SMS, None, "o1")) is None
