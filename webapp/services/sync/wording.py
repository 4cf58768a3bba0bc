"""The sync log's wording (S3): what a sync did, E2 choices, dropped fields, fixes, skip reasons.

The one home of these sentences. Sync records store codes (``errors``); the sentences are built
here in the admin's language. ``HELPERS`` become template globals once, in the app factory
(webapp/templating.py). Each fix points at the seed's 事前確認 item or troubleshooting list where
one applies.
"""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.integrations.salesforce import record_url
from webapp.services.sync import plan

FIXES = {
    "required_field": _l("Salesforce のリードに、値のない必須項目があります。Salesforce の設定 > "
                         "オブジェクトマネージャ > リード > 項目とリレーション で、必須項目に"
                         "デフォルト値を設定してください(事前確"
                         "認 4)。設定後に再実行してください。"),
    "field_access": _l("連携ユーザーが参照・編集できない項目があります。リードと行動の各項目の"
                       "「項目レベルセキュリティ」で、システム管理者に参照・編集の権限を付与して"
                       "ください(事前確認 3)。項目名が正し"
                       "いかも予約フォーム設定でご確認ください。"),
    "field_integrity": _l("Salesforce の入力規則や項目間のルールに合わない値です。エラーに示された"
                          "項目の値と、Salesforce 側の入力規則をご確認ください。"),
    "too_long": _l("Salesforce の項目の文字数上限を超える値です。項目の文字数を増やすか、"
                   "予約フォームの入力フィールドの連携先を見直してください。"),
    "picklist": _l("Salesforce の選択リストにない値です。予約フォームの選択肢と Salesforce の"
                   "選択リストの値をそろえてください。"),
    "email": _l("Salesforce がメールアドレスの形式を受け付けませんでした。"
                "予約内容をご確認ください。"),
    "duplicate_rule": _l("Salesforce の重複ルールがリードの作成をブロックしました。Salesforce の"
                         "設定 > 重複ルール で、API からの作成を許可するか、該当のリードを統合して"
                         "ください。Salesforce 管理者にご相談ください。"),
    "inactive_owner": _l("割り当て先の Salesforce ユーザーが無効です。参加する社員のメール"
                         "アドレスと Salesforce ユーザーの有効状態をご確認ください。連携ユーザー"
                         "自身が無効の場合は再連携が必要です。"),
    "api_disabled": _l("この Salesforce 組織では API が使えません。Enterprise 以上のエディション"
                       "か、連携ユーザーに「API の有効化」権"
                       "限があるかご確認ください(事前確認 1)。"),
    "event_deleted": _l("Salesforce 上の行動が見つかりません(削除された可能性があります)。"
                        "必要であれば Salesforce で行動を作成し直してください。"),
    "converted_lead": _l("リードはすでに取引開始済みのため更新できません。"),
    "unavailable": _l("Salesforce に繰り返し接続できませんでした。しばらくしてから再実行して"
                      "ください。"),
    "unknown": _l("Salesforce がエラーを返しました。エラー内容をご確認のうえ、解決しない場合は"
                  "【1】Salesforce 側での事前設定と事前確認の各項目をご確認ください。"),
}

DROP_REASONS = {
    "field_missing": _l("Salesforce "
    "のリードにこの項目が見つからないか、連携ユーザーが参照できません"
                        "(事前確認 3)。"),
    "incompatible_type": _l("予約フォームのフィールドタイプと Salesforce の項目のデータ型が"
                            "連携できない組み合わせです。"),
    "too_long": _l("Salesforce の項目の文字数上限を超えています。"),
    "unknown_choice": _l("Salesforce の選択リストにない値です。"),
    "not_a_number": _l("数値に変換できない値です。"),
    "not_boolean": _l("チェックボックスには true か false を設定してください。"),
    "unsupported_type": _l("この Salesforce のデータ型には連携できません。"),
}

SKIP_REASONS = {
    "plan": _l("Salesforce 連携はエンタープライズプラン以上で利用できます。"),
    "personal_page": _l("個人用の予約ページは Salesforce 連携の対象外です。"),
    "no_settings": _l("この予約ページでは Salesforce 連携の項目(②③④)がどれも有効ではありません。"),
    "no_match": _l("メールアドレスが一致する"
    "リード・取引先責任者がなく、「新規リードを自動作成する」"
                   "が無効のため、何もしませんでした。"),
    "nothing_to_do": _l("一致した取引先責"
    "任者に対して、この予約ページの設定で行うことはありません。"),
    "no_event": _l("この予約の行動は Salesforce に作成されていないため、変更はありません。"),
}

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
    """M3, M7: a field left out, with its value and the reason; R5: the Lead's owner."""
    if warning.get("code") == "lead_owner_rules":
        return _("担当社員と同じメールアドレスの有効なSalesforceユーザーがいないため、"
                 "リードの所有者は割り当てルールで決まりました。")
    if warning.get("sobject") == "Event":  # R6
        return _("行動の項目 %(field)s に値「%(value)s」を書き込みませんでした。%(reason)s",
                 field=warning.get("field", ""), value=warning.get("value", ""),
                 reason=str(DROP_REASONS.get(warning.get("reason", ""),
                                             warning.get("reason", ""))))
    return _("項目 %(field)s に値「%(value)s」を書き込みませんでした。%(reason)s",
             field=warning.get("field", ""), value=warning.get("value", ""),
             reason=str(DROP_REASONS.get(warning.get("reason", ""), warning.get("reason", ""))))


def sync_fix_text(key: str) -> str:
    """What the admin should do about an error (the fix key of ``errors.fix_key``)."""
    return str(FIXES.get(key, FIXES["unknown"]))


def sync_skip_text(reason: str) -> str:
    return str(SKIP_REASONS.get(reason, reason))


def sf_record_url(instance_url: str, kind: str, record_id: str) -> str:
    """The record's Lightning page at the real path."""
    return record_url(instance_url, _SOBJECTS.get(kind, kind), record_id)


def sync_status_label(status: str) -> str:
    labels = {
        "pending": _("同期待ち"),
        "running": _("処理中"),
        "succeeded": _("同期済み"),
        "partial": _("一部成功"),
        "failed": _("失敗"),
        "waiting_reconnect": _("要再連携"),
        "skipped": _("対象外"),
    }
    return labels.get(status, status)


def sync_status_class(status: str) -> str:
    return {
        "succeeded": "badge-ok",
        "partial": "badge-warn",
        "failed": "badge-err",
        "waiting_reconnect": "badge-err",
        "running": "badge-info",
    }.get(status, "badge-muted")


def sync_action_label(action: str) -> str:
    labels = {"create": _("予約の登録"), "reschedule": _("日時の変更"), "cancel": _("キャンセル"),
              "meeting": _("会議URLの反映"), "outcome": _("実施結果")}
    return labels.get(action, action)


def sync_record_name(kind: str, booking) -> str:
    """The name a synced record carries, known without asking Salesforce: the customer for a
    Lead or Contact (matched or created from this booking), the subject for the Event."""
    if kind == "event":
        return plan.event_subject(booking.page.title, booking)
    return plan.customer_name(booking)




ROUTING_REASONS = {
    "routed": _l("Salesforceの所有者に振り分けました"),
    "no_match": _l("一致するリード・取引先責任者がないため、通常の割り当て"),
    "not_member": _l("所有者がこのページのメンバーでないため、通常の割り当て"),
    "timeout": _l("Salesforceの応答が遅いため、通常の割り当て"),
    "error": _l("Salesforceでエラーが起きたため、通常の割り当て"),
    "not_connected": _l("Salesforceと連携していないため、通常の割り当て"),
    "email_changed": _l("予約時にメールアドレスが変更されたため、通常の割り当て"),
}


def routing_reason_text(reason: str) -> str:
    """R2: how the host was chosen, in words."""
    return str(ROUTING_REASONS.get(reason, reason))


HELPERS = (sync_record_name, sync_status_label, sync_status_class, sync_action_label,
           sync_done_text, sync_choice_text, sync_warning_text, sync_fix_text, sync_skip_text,
           sf_record_url, routing_reason_text)
