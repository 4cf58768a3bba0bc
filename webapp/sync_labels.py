"""The sync log's wording (S3): what a sync did, E2 choices, dropped fields, fixes, skip reasons.

Template globals, registered by the 同期ログ views (views/admin_syncs.py). Sync records store
codes; the sentences are built here in the admin's language.
"""

from flask_babel import gettext as _

from webapp.integrations.salesforce import record_url
from webapp.services import sync_errors, sync_plan

_SOBJECTS = {"lead": "Lead", "contact": "Contact", "event": "Event"}


def sync_done_text(kind: str, action: str) -> str:
    """What the sync did to a Salesforce record."""
    labels = {
        ("lead", "created"): _("リードを作成しました:"),
        ("lead", "found"): _("既存のリードが一致しました:"),
        ("lead", "updated"): _("既存のリードの項目を更新しました:"),
        ("contact", "found"): _("既存の取引先責任者が一致しました:"),
        ("event", "created"): _("行動を作成しました:"),
        ("event", "found"): _("作成済みの行動が見つかりました(重複作成なし):"),
        ("event", "moved"): _("行動の日時を変更しました:"),
        ("event", "cancelled"): _("行動をキャンセル済みにしました:"),
        ("event", "deleted"): _("行動を削除しました:"),
    }
    return labels.get((kind, action), f"{kind} {action}:")


def sync_choice_text(who: dict) -> str:
    """E2: which of several matching records got the Event, and why."""
    if who.get("sobject") == "Lead":
        return _("メールアドレスが一致するリードが %(n)s 件あったため、最終更新日時が最も新しい"
                 "リードを選びました。", n=who.get("candidates"))
    return _("メールアドレスが一致する取引先責任者が %(n)s 件あったため、最終更新日時が最も"
             "新しい取引先責任者を選びました。", n=who.get("candidates"))


def sync_warning_text(warning: dict) -> str:
    """M3, M7: a field left out, with its value and the reason."""
    return _("項目 %(field)s に値「%(value)s」を書き込みませんでした。%(reason)s",
             field=warning.get("field", ""), value=warning.get("value", ""),
             reason=sync_errors.drop_reason_text(warning.get("reason", "")))


def sync_fix_text(key: str) -> str:
    return sync_errors.fix_text(key)


def sync_skip_text(reason: str) -> str:
    return sync_errors.skip_reason_text(reason)


def sf_record_url(instance_url: str, kind: str, record_id: str) -> str:
    """The record's Lightning page at the real path."""
    return record_url(instance_url, _SOBJECTS.get(kind, kind), record_id)


def sync_record_name(kind: str, booking) -> str:
    """The name a synced record carries, known without asking Salesforce: the customer for a
    Lead or Contact (matched or created from this booking), the subject for the Event."""
    if kind == "event":
        return sync_plan.event_subject(booking.page.title, booking)
    return sync_plan.customer_name(booking)


HELPERS = (sync_record_name, sync_done_text, sync_choice_text, sync_warning_text, sync_fix_text,
           sync_skip_text, sf_record_url)
