"""組織設定: name, time zone and plan (O1)."""

from webapp.extensions import db
from webapp.models import Organization, Plan

URL = "/admin/organization"


def _post(client, **overrides):
    data = {"name": "株式会社サンプル", "timezone": "Asia/Tokyo", "plan": "standard", **overrides}
    return client.post_form(URL, data)


def test_O1_admin_changes_plan_name_and_timezone(admin_client, org):
    response = _post(admin_client, plan="enterprise", timezone="America/New_York")
    assert response.status_code == 302 and response.headers["Location"] == URL
    db.session.expire_all()
    stored = db.session.get(Organization, org.id)
    assert (stored.name, stored.plan, stored.timezone) == (
        "株式会社サンプル", "enterprise", "America/New_York")
    assert "組織設定を保存しました。" in admin_client.get(URL).get_data(as_text=True)


def test_O1_plans_are_offered_in_order(admin_client):
    html = admin_client.get(URL).get_data(as_text=True)
    positions = [html.index(f'value="{plan.value}"') for plan in Plan]
    assert positions == sorted(positions)
    assert [p.value for p in Plan] == ["free", "standard", "enterprise", "premium"]
    assert Plan.PREMIUM.at_least(Plan.ENTERPRISE) and not Plan.STANDARD.at_least(Plan.ENTERPRISE)


def test_O1_unknown_plan_is_refused_and_changes_nothing(admin_client, org):
    response = _post(admin_client, plan="platinum", name="変更後")
    assert response.status_code == 200
    db.session.expire_all()
    stored = db.session.get(Organization, org.id)
    assert stored.plan == "premium" and stored.name != "変更後"


def test_unknown_timezone_is_refused_with_a_message(admin_client, org):
    response = _post(admin_client, timezone="Mars/Olympus")
    assert "タイムゾーンを一覧から選んでください。" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Organization, org.id).timezone == "Asia/Tokyo"


def test_blank_name_is_refused(admin_client, org):
    response = _post(admin_client, name="  ")
    assert response.status_code == 200
    assert "has-error" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Organization, org.id).plan == "premium"
