"""予約フォーム設定 (入力フィールド設定): the default fields and a page's custom fields (F1, F2)."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from webapp import settings as app_settings
from webapp.extensions import db
from webapp.forms import EmptyForm
from webapp.forms.admin import FIELD_TYPE_LABELS, FormFieldForm, MoveForm
from webapp.models import BookingPage, FormField
from webapp.services import booking_pages as page_service
from webapp.services.salesforce import page_settings
from webapp.views.admin import bp, get_owned_or_404, org_connection
from webapp.web.htmx import is_htmx, render_partial


def _get_field_or_404(page: BookingPage, field_id: int) -> FormField:
    """A field of this (already org-scoped) page; any other id answers 404 (O2)."""
    field = db.session.scalar(
        select(FormField).where(FormField.id == field_id, FormField.page_id == page.id)
    )
    if field is None:
        abort(404)
    return field


def _fields_context(page: BookingPage) -> dict:
    return {"page": page, "type_labels": FIELD_TYPE_LABELS, "move_form": MoveForm(),
            "delete_form": EmptyForm()}


@bp.get("/pages/<int:page_id>/form")
def page_form(page_id: int):
    page = get_owned_or_404(BookingPage, page_id)
    return render_template("admin/pages/form.html", tab="form",
                           default_fields=page_service.default_fields(page),
                           **_fields_context(page))


def _mapping_valid(form: FormFieldForm) -> tuple[bool, list[str]]:
    """The mapping verdict (M1-M5): errors go onto the form field, warnings to a flash."""
    check = page_settings.check_field_mapping(form.mapping_spec(), org_connection(),
                                              app_settings.current().salesforce)
    form.salesforce_field.errors = [*form.salesforce_field.errors,
                                    *(issue.message for issue in check.errors)]
    event = page_settings.check_event_mapping(form.event_mapping_spec(), org_connection(),
                                              app_settings.current().salesforce)  # R6
    form.sf_event_field.errors = [*form.sf_event_field.errors,
                                  *(issue.message for issue in event.errors)]
    return check.ok and event.ok, [issue.message for issue in check.warnings + event.warnings]


def _over_limit(page: BookingPage, form: FormFieldForm, field: FormField | None = None) -> bool:
    if not page_service.field_limit_reached(page, form.field_type.data, field):
        return False
    form.field_type.errors = [_(
        "1つのページに置ける入力フィールドは%(fields)d個まで、うち複数行テキストは%(areas)d個までです。",
        fields=page_service.MAX_CUSTOM_FIELDS, areas=page_service.MAX_TEXTAREA_FIELDS)]
    return True


def _field_saved(page: BookingPage, message: str, warnings: list[str]):
    flash(message, "success")
    for warning in warnings:
        flash(warning, "warning")
    return redirect(url_for("admin.page_form", page_id=page.id))


@bp.route("/pages/<int:page_id>/fields/new", methods=["GET", "POST"])
def new_field(page_id: int):
    page = get_owned_or_404(BookingPage, page_id)
    form = FormFieldForm()
    if form.validate_on_submit() and not _over_limit(page, form):
        ok, warnings = _mapping_valid(form)
        if ok:
            field = page_service.add_field(page, form.field_data())
            db.session.commit()
            return _field_saved(page, _("入力フィールド「%(label)s」を追加しました。",
                                        label=field.label), warnings)
    return render_template("admin/pages/field_form.html", page=page, form=form, form_field=None,
                           tab="form")


@bp.route("/pages/<int:page_id>/fields/<int:field_id>/edit", methods=["GET", "POST"])
def edit_field(page_id: int, field_id: int):
    page = get_owned_or_404(BookingPage, page_id)
    field = _get_field_or_404(page, field_id)
    form = FormFieldForm()
    if not form.is_submitted():
        form.fill(field)
    if form.validate_on_submit() and not _over_limit(page, form, field):
        ok, warnings = _mapping_valid(form)
        if ok:
            page_service.update_field(field, form.field_data())
            db.session.commit()
            return _field_saved(page, _("入力フィールド「%(label)s」を保存しました。",
                                        label=field.label), warnings)
    return render_template("admin/pages/field_form.html", page=page, form=form, form_field=field,
                           tab="form")


def _fields_response(page: BookingPage, saved: str | None):
    """Answer a list change with the partial (htmx) or a redirect to the form settings."""
    if not is_htmx():
        if saved:
            flash(saved, "success")
        else:
            flash(_("操作を完了できませんでした。もう一度お試しください。"), "error")
        return redirect(url_for("admin.page_form", page_id=page.id))
    return render_partial("admin/pages/_fields.html", status=200 if saved else 422,
                          trigger={"saved": saved} if saved else None, **_fields_context(page))


@bp.post("/pages/<int:page_id>/fields/<int:field_id>/delete")
def delete_field(page_id: int, field_id: int):
    page = get_owned_or_404(BookingPage, page_id)
    field = _get_field_or_404(page, field_id)
    if not EmptyForm().validate_on_submit():
        return _fields_response(page, None)
    page_service.delete_field(field)
    db.session.commit()
    return _fields_response(page, _("入力フィールドを削除しました。"))


@bp.post("/pages/<int:page_id>/fields/<int:field_id>/move")
def move_field(page_id: int, field_id: int):
    page = get_owned_or_404(BookingPage, page_id)
    field = _get_field_or_404(page, field_id)
    form = MoveForm()
    if not form.validate_on_submit():
        return _fields_response(page, None)
    page_service.move_field(field, form.direction.data)
    db.session.commit()
    return _fields_response(page, _("並び順を変更しました。"))
