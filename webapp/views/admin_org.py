"""組織設定: the organization's name, time zone and plan (O1), reply address (V5) and the
sites that may frame its booking pages (O6). No billing."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.extensions import db
from webapp.forms.admin import PLAN_LABELS, OrganizationForm
from webapp.views.admin import bp


@bp.route("/organization", methods=["GET", "POST"])
def edit_organization():
    organization = current_user.organization
    form = OrganizationForm(obj=organization)
    if form.validate_on_submit():
        organization.name = form.name.data.strip()
        organization.timezone = form.timezone.data
        organization.plan = form.plan.data
        organization.reply_to = form.reply_to.data or ""
        organization.embed_origins = "\n".join(form.origins)
        if form.logo_png is not None:
            organization.logo_png, organization.logo_version = form.logo_png
        elif form.remove_logo.data:
            organization.logo_png, organization.logo_version = None, ""
        db.session.commit()
        flash(_("組織設定を保存しました。"), "success")
        return redirect(url_for("admin.edit_organization"))
    return render_template(
        "admin/org/edit.html", form=form, organization=organization, plan_labels=PLAN_LABELS
    )
