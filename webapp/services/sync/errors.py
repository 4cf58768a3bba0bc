"""Salesforce errors and sync warnings translated into what the admin should do (S3).

A sync record stores codes (``result["error"]["fix"]``, ``warnings[i]["reason"]``), never
sentences, so the sync log shows them in the admin's language. Each fix points at the seed's
事前確認 item or troubleshooting list where one applies.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from webapp.integrations import salesforce as sf

# Salesforce error code -> fix key. Codes not listed fall back to "unknown".
_FIX_BY_CODE = {
    "REQUIRED_FIELD_MISSING": "required_field",
    "INVALID_FIELD": "field_access",
    "INVALID_FIELD_FOR_INSERT_UPDATE": "field_access",
    "INSUFFICIENT_ACCESS_OR_READONLY": "field_access",
    "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY": "field_access",
    "FIELD_INTEGRITY_EXCEPTION": "field_integrity",
    "STRING_TOO_LONG": "too_long",
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": "picklist",
    "INVALID_EMAIL_ADDRESS": "email",
    "DUPLICATES_DETECTED": "duplicate_rule",
    "DUPLICATE_VALUE": "duplicate_rule",
    "INACTIVE_OWNER_OR_USER": "inactive_owner",
    "API_DISABLED_FOR_ORG": "api_disabled",
    "ENTITY_IS_DELETED": "event_deleted",
    "NOT_FOUND": "event_deleted",
    "CANNOT_UPDATE_CONVERTED_LEAD": "converted_lead",
    "TOO_MANY_ATTEMPTS": "unavailable",
}
RETRY_CODES = {"TIMEOUT", "CONNECTION_ERROR", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION",
               "UNABLE_TO_LOCK_ROW", "SERVER_ERROR"}

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


def error_entry(exc: sf.SalesforceError) -> dict:
    """What the sync record keeps about an error: code, Salesforce's message, fields, fix."""
    return {"code": exc.code or "", "message": (exc.message or "")[:500],
            "fields": list(getattr(exc, "fields", None) or []), "fix": fix_key(exc.code)}


def fix_key(code: str | None) -> str:
    if code in RETRY_CODES:
        return "unavailable"
    return _FIX_BY_CODE.get(code or "", "unknown")


def fix_text(key: str) -> str:
    return str(FIXES.get(key, FIXES["unknown"]))


def drop_reason_text(reason: str) -> str:
    return str(DROP_REASONS.get(reason, reason))


def skip_reason_text(reason: str) -> str:
    return str(SKIP_REASONS.get(reason, reason))
