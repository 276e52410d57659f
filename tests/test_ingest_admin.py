"""The drafts admin: inbound events by status and channel, the raw body readable."""

from __future__ import annotations

from django.contrib.auth.models import Permission

from drafts.models import InboundEvent
from tests.factories import MembershipFactory, UserFactory
from tests.webhooks import payload, post_signed


def test_events_filter_by_status_and_channel_and_show_the_raw_body(client, tenant, superadmin):
    post_signed(client, tenant.email_channel, payload())
    post_signed(client, tenant.email_channel, b'{"type": "<b>not json')
    post_signed(client, tenant.sms_channel, b"[]")
    rejected_email = InboundEvent.objects.get(channel=tenant.email_channel, status="rejected")
    client.force_login(superadmin)

    listing = client.get(
        "/admin/drafts/inboundevent/",
        {"status__exact": "rejected", "channel__id__exact": str(tenant.email_channel.pk)},
    )

    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [rejected_email]

    detail = client.get(f"/admin/drafts/inboundevent/{rejected_email.pk}/change/")
    assert detail.status_code == 200
    # Readable, and escaped: a body is data, never markup.
    assert "{&quot;type&quot;: &quot;&lt;b&gt;not json" in detail.content.decode()
    assert tenant.email_channel.secret not in detail.content.decode()


def test_staff_see_only_their_workspaces_events(client, tenant, other_tenant):
    post_signed(client, tenant.email_channel, payload())
    post_signed(client, other_tenant.email_channel, payload())
    staff = UserFactory(is_staff=True, is_superuser=False)
    MembershipFactory(user=staff, workspace=tenant.workspace)
    staff.user_permissions.add(Permission.objects.get(codename="view_inboundevent"))
    client.force_login(staff)

    listing = client.get("/admin/drafts/inboundevent/")

    assert listing.status_code == 200
    assert [e.channel for e in listing.context["cl"].result_list] == [tenant.email_channel]
