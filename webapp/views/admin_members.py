"""社員: list, add, edit and remove the organization's members (O2, O4)."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.extensions import db
from webapp.forms import EmptyForm
from webapp.forms.admin import WEEKDAY_LABELS, MemberForm
from webapp.models import DEFAULT_WORKING_HOURS, Member
from webapp.services import members as member_service
from webapp.views.admin import bp, get_owned_or_404, org_id


def _member_data(form: MemberForm) -> dict:
    return {
        "name": form.name.data,
        "email": form.email.data,
        "timezone": form.timezone.data,
        "working_hours": form.working_hours,
    }


@bp.get("/members")
def list_members():
    members = member_service.list_members(org_id())
    return render_template(
        "admin/members/list.html", members=members, weekday_labels=WEEKDAY_LABELS,
        format_day=member_service.format_day_ranges,
    )


@bp.route("/members/new", methods=["GET", "POST"])
def new_member():
    form = MemberForm(org_id())
    if not form.is_submitted():
        # New members start in the organization's zone with the usual weekday hours (O4).
        form.fill_defaults(current_user.organization.timezone, DEFAULT_WORKING_HOURS)
    if form.validate_on_submit():
        member = member_service.create_member(org_id(), _member_data(form))
        db.session.commit()
        flash(_("社員「%(name)s」を追加しました。", name=member.name), "success")
        return redirect(url_for("admin.list_members"))
    return render_template("admin/members/form.html", form=form, member=None)


@bp.route("/members/<int:member_id>/edit", methods=["GET", "POST"])
def edit_member(member_id: int):
    member = get_owned_or_404(Member, member_id)
    form = MemberForm(org_id(), member.id)
    if not form.is_submitted():
        form.fill(member)
    if form.validate_on_submit():
        member_service.update_member(member, _member_data(form))
        db.session.commit()
        flash(_("社員「%(name)s」を保存しました。", name=member.name), "success")
        return redirect(url_for("admin.list_members"))
    return render_template("admin/members/form.html", form=form, member=member)


@bp.route("/members/<int:member_id>/remove", methods=["GET", "POST"])
def remove_member(member_id: int):
    """GET shows what removal does (a confirm step that works without JS); POST removes."""
    member = get_owned_or_404(Member, member_id)
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            member_service.remove_member(member)
        except member_service.MemberInUse as refused:
            db.session.rollback()
            flash(str(refused.args[0]), "error")
            return redirect(url_for("admin.remove_member", member_id=member_id))
        db.session.commit()
        flash(_("社員「%(name)s」を削除しました。", name=member.name), "success")
        return redirect(url_for("admin.list_members"))
    return render_template(
        "admin/members/remove.html", form=form, member=member,
        pages=member_service.pages_of(member),
        sole_pages=member_service.sole_member_pages(member),
        bookings=member_service.booking_count(member),
    )

