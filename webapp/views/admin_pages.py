"""予約ページ: list, create, edit and delete pages, and order a team page's members (O3, O5)."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from webapp.extensions import db
from webapp.forms import EmptyForm
from webapp.forms.admin import (
    ATTEND_LABELS,
    KIND_LABELS,
    MemberShareForm,
    MoveForm,
    NewPageForm,
    PageForm,
    PageMemberForm,
    PersonalPageForm,
)
from webapp.models import BookingPage, Member
from webapp.services import booking_pages as page_service
from webapp.services import embedding, meetings
from webapp.services.members import list_members
from webapp.views.admin import bp, get_owned_or_404, org_id
from webapp.web.htmx import is_htmx, render_partial


def _member_choices() -> list[tuple[int, str]]:
    return [(m.id, f"{m.name} <{m.email}>") for m in list_members(org_id())]


@bp.get("/pages")
def list_pages():
    return render_template(
        "admin/pages/list.html", pages=page_service.list_pages(org_id()), kind_labels=KIND_LABELS
    )


@bp.route("/pages/new", methods=["GET", "POST"])
def new_page():
    form = NewPageForm()
    form.members.choices = _member_choices()
    if form.validate_on_submit():
        members = [get_owned_or_404(Member, member_id) for member_id in form.members.data]
        page = page_service.create_page(org_id(), form.kind.data, form.settings(), members)
        db.session.commit()
        flash(_("予約ページ「%(title)s」を作成しました。", title=page.title), "success")
        return redirect(url_for("admin.edit_page", page_id=page.id))
    return render_template("admin/pages/new.html", form=form)


@bp.route("/pages/<int:page_id>", methods=["GET", "POST"])
def edit_page(page_id: int):
    page = get_owned_or_404(BookingPage, page_id)
    form_class = PageForm if page.is_team else PersonalPageForm
    form = form_class(page_id=page.id, obj=page)
    if not page.is_team:
        form.member_id.choices = _member_choices()
        if not form.is_submitted() and page.members:
            form.member_id.data = page.members[0].id
    if form.validate_on_submit():
        page_service.update_page(page, form.settings())
        if not page.is_team:
            page_service.set_personal_member(page, get_owned_or_404(Member, form.member_id.data))
        db.session.commit()
        flash(_("予約ページを保存しました。"), "success")
        return redirect(url_for("admin.edit_page", page_id=page.id))
    return render_template(
        "admin/pages/edit.html", page=page, form=form, tab="basic", kind_labels=KIND_LABELS,
        attend_labels=ATTEND_LABELS, add_form=_add_member_form(page), move_form=MoveForm(),
        missing_accounts=meetings.members_missing_account(page),
        embed=_embed_snippets(page),
        allowed_sites=embedding.stored_origins(page.organization.embed_origins),
    )


def _embed_snippets(page: BookingPage) -> dict[str, str]:
    """O6: what the organization pastes into its own site for this page."""
    return embedding.snippets(
        url_for("public.booking_page", slug=page.slug, _external=True),
        url_for("static", filename="embed.js", _external=True),
        page.title, _("日程を予約する"))


@bp.route("/pages/<int:page_id>/delete", methods=["GET", "POST"])
def delete_page(page_id: int):
    """GET shows a confirm step (works without JS); POST deletes."""
    page = get_owned_or_404(BookingPage, page_id)
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            page_service.delete_page(page)
        except page_service.BookingPageError as refused:
            db.session.rollback()
            flash(str(refused.args[0]), "error")
            return redirect(url_for("admin.delete_page", page_id=page_id))
        db.session.commit()
        flash(_("予約ページ「%(title)s」を削除しました。", title=page.title), "success")
        return redirect(url_for("admin.list_pages"))
    return render_template("admin/pages/delete.html", page=page, form=form,
                           bookings=page_service.booking_count(page))


def _add_member_form(page: BookingPage) -> PageMemberForm:
    form = PageMemberForm()
    on_page = {m.id for m in page.members}
    form.member_id.choices = [c for c in _member_choices() if c[0] not in on_page]
    return form


def _members_response(page: BookingPage, change, saved: str):
    """Run a member-order change and answer with the partial (htmx) or a redirect."""
    error = None
    try:
        change()
        db.session.commit()
    except page_service.BookingPageError as refused:
        db.session.rollback()
        error = str(refused.args[0])
    if not is_htmx():
        flash(error or saved, "error" if error else "success")
        return redirect(url_for("admin.edit_page", page_id=page.id) + "#members")
    return render_partial(
        "admin/pages/_members.html", status=422 if error else 200,
        trigger=None if error else {"saved": saved}, page=page, error=error,
        add_form=_add_member_form(page), move_form=MoveForm(),
    )


def _invalid_request(page: BookingPage):
    return _members_response(page, _refuse(_("入力内容を確認してください。")), "")


def _refuse(message: str):
    def change():
        raise page_service.BookingPageError(message)
    return change


@bp.post("/pages/<int:page_id>/members")
def add_page_member(page_id: int):
    page = get_owned_or_404(BookingPage, page_id)
    form = _add_member_form(page)
    if not form.validate_on_submit():
        return _members_response(page, _refuse(_("追加する社員を選んでください。")), "")
    member = get_owned_or_404(Member, form.member_id.data)
    return _members_response(page, lambda: page_service.add_page_member(page, member),
                             _("メンバーを追加しました。"))


@bp.post("/pages/<int:page_id>/members/<int:member_id>/remove")
def remove_page_member(page_id: int, member_id: int):
    page = get_owned_or_404(BookingPage, page_id)
    member = get_owned_or_404(Member, member_id)
    if not EmptyForm().validate_on_submit():
        return _invalid_request(page)
    return _members_response(page, lambda: page_service.remove_page_member(page, member),
                             _("メンバーから外しました。"))


@bp.post("/pages/<int:page_id>/members/<int:member_id>/share")
def set_member_share(page_id: int, member_id: int):
    """R4: weight and daily cap of one member of a round-robin page."""
    page = get_owned_or_404(BookingPage, page_id)
    member = get_owned_or_404(Member, member_id)
    form = MemberShareForm()
    row = next((pm for pm in page.page_members if pm.member_id == member.id), None)
    if row is None or not form.validate_on_submit():
        refused = _("重みは1〜10、1日の上限は0〜50で入力してください。")
        return _members_response(page, _refuse(refused), "")

    def change():
        row.weight, row.daily_cap = form.weight.data, form.daily_cap.data

    return _members_response(page, change, _("%(name)sさんの配分を保存しました。",
                                             name=member.name))


@bp.post("/pages/<int:page_id>/members/<int:member_id>/move")
def move_page_member(page_id: int, member_id: int):
    page = get_owned_or_404(BookingPage, page_id)
    member = get_owned_or_404(Member, member_id)
    form = MoveForm()
    if not form.validate_on_submit():
        return _invalid_request(page)
    return _members_response(
        page, lambda: page_service.move_page_member(page, member, form.direction.data),
        _("メンバー並び順を変更しました。"),
    )

