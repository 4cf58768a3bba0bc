"""予約ページ > 詳細設定 > Salesforce: ①-④, mapping overview, field autocomplete (P1-P5, M5)."""


from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp import settings as app_settings
from webapp.extensions import db
from webapp.forms import EmptyForm
from webapp.forms.admin import FIELD_TYPE_LABELS, FieldOptionsQuery, PageSalesforceForm
from webapp.models import BookingPage
from webapp.services.salesforce import page_settings
from webapp.views.admin import bp, get_owned_or_404, org_connection
from webapp.web.htmx import is_htmx, render_partial


def _outcome_field_refused(form: PageSalesforceForm) -> bool:
    """R7: an outcome field that cannot take the values is refused at save time, not found
    out at the next sync."""
    problem = page_settings.outcome_field_problem(
        form.sf_outcome_field.data, form.sf_outcome_held.data, form.sf_outcome_no_show.data,
        org_connection(), app_settings.current().salesforce)
    if problem:
        form.sf_outcome_field.errors = [problem]
    return bool(problem)


def _availability(page: BookingPage) -> page_settings.Availability:
    return page_settings.availability(current_user.organization, page, org_connection())


def _settings_context(page: BookingPage, form: PageSalesforceForm | None = None, **extra):
    return {"page": page, "form": form or PageSalesforceForm(obj=page),
            "allowed": _availability(page), **extra}


# The side menu's sections of 詳細設定, in the seed's order; one is shown at a time so the
# screen is as long as the section the admin chose, not the sum of all of them.
SECTIONS = ("salesforce", "reminders")


def _screen(page: BookingPage, form: PageSalesforceForm | None = None, status: int = 200,
            section: str = "salesforce"):
    """The 詳細設定 screen: Salesforce (settings partial, P5 table, mapping) or リマインダー."""
    describe, problem = (None, None)
    if section == "salesforce" and page.is_team and page.fields:
        describe, problem = page_settings.lead_describe(org_connection(),
                                                        app_settings.current().salesforce)
    return render_template(
        "admin/pages/advanced.html", tab="advanced", section=section, refresh_form=EmptyForm(),
        rows=page_settings.mapping_overview(page, describe), describe_problem=problem,
        type_labels=FIELD_TYPE_LABELS, **_settings_context(page, form)), status


@bp.get("/pages/<int:page_id>/advanced")
def page_advanced(page_id: int):
    section = request.args.get("section", SECTIONS[0])
    if section not in SECTIONS:
        abort(404)
    return _screen(get_owned_or_404(BookingPage, page_id), section=section)


@bp.post("/pages/<int:page_id>/salesforce")
def update_page_salesforce(page_id: int):
    page = get_owned_or_404(BookingPage, page_id)
    form = PageSalesforceForm()
    allowed = _availability(page)
    if not allowed.enabled:
        form.form_errors.append(_("この予約ページのSalesforce設定は現在変更できません。"))
    elif form.validate_on_submit() and not _outcome_field_refused(form):
        page_settings.update_salesforce_settings(page, form.data, allowed)
        db.session.commit()
        saved = _("Salesforce設定を保存しました。")
        if not is_htmx():
            flash(saved, "success")
            return redirect(url_for("admin.page_advanced", page_id=page.id))
        return render_partial("admin/pages/_salesforce_settings.html", trigger={"saved": saved},
                              saved=True, **_settings_context(page, PageSalesforceForm(obj=page)))
    db.session.rollback()
    if not is_htmx():
        return _screen(page, form, 422)
    return render_partial("admin/pages/_salesforce_settings.html", status=422,
                          **_settings_context(page, form))


@bp.post("/pages/<int:page_id>/salesforce/refresh")
def refresh_page_salesforce_fields(page_id: int):
    """Re-read the Lead fields from Salesforce now instead of waiting for the TTL (M5)."""
    page = get_owned_or_404(BookingPage, page_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    describe, _problem = page_settings.lead_describe(
        org_connection(), app_settings.current().salesforce, refresh=True)
    if describe is None:
        flash(_("Salesforceからフィールドを読み込めませんでした。"), "error")
    else:
        flash(_("Salesforceのフィールドを読み込み直しました。"), "success")
    return redirect(url_for("admin.page_advanced", page_id=page.id) + "#mapping")


@bp.get("/pages/<int:page_id>/salesforce/field-options")
def salesforce_field_options(page_id: int):
    """The <datalist> fragment of the Salesforce field-name input; never an error page."""
    page = get_owned_or_404(BookingPage, page_id)
    query = FieldOptionsQuery(formdata=request.args)
    options, problem = [], "invalid"
    if query.validate():
        options, problem = page_settings.field_options(
            org_connection(), app_settings.current().salesforce,
            query.field_type.data or "text",
            (query.sf_event_field.data if query.sobject.data == "Event"
             else query.salesforce_field.data) or "", query.sobject.data or "Lead")
    key = f"ev{page.id}" if query.sobject.data == "Event" else page.id
    return render_partial("admin/pages/_field_options.html", page=page, options=options,
                          problem=problem, key=key)
