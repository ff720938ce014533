"""Producer profiles: create, edit, validate. Slugs are made once and never change.

Plain arguments in, domain objects out; Invalid (with per-field messages) on bad input. Flushes,
never commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import IO, Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, literal, select

from accounts.audit import record
from accounts.models import User
from cooperatives.access import Acting
from cooperatives.labels import KIND_LABELS
from cooperatives.models import MemberRole, Membership, OcopCategory, Producer, Product
from core import places
from core.db import after_commit, after_rollback, db
from core.errors import Invalid
from core.images import StoredImage, delete_image, store_image
from core.phones import normalize_phone
from core.text import clean, clean_multiline, fold, slugify

# C0 controls other than tab and newline: PostgreSQL refuses NUL, and no form needs the others.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str | None) -> str:
    """One line as typed: control characters dropped, white space collapsed, NFC."""
    return clean(CONTROL_CHARACTERS.sub("", text or ""))


def clean_long(text: str | None) -> str:
    """Several lines as typed (descriptions, stories)."""
    return clean_multiline(CONTROL_CHARACTERS.sub("", text or ""))


TAX_CODE = re.compile(r"^[0-9]{10}(-[0-9]{3})?$")
BANK_BIN = re.compile(r"^[0-9]{6}$")
BANK_ACCOUNT = re.compile(r"^[0-9]{6,19}$")
GS1_PREFIX = re.compile(r"^[0-9]{7,12}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")

NAME_MAX, STREET_MAX, STORY_MAX, ACCOUNT_NAME_MAX = 200, 200, 5000, 120


@dataclass
class ProducerData:
    """A profile as typed: raw strings are cleaned and checked by `check_producer`."""

    name: str = ""
    kind: str = ""
    tax_code: str = ""
    province_code: int | None = None
    ward_code: int | None = None
    street: str = ""
    phone: str = ""
    email: str = ""
    story: str = ""
    bank_bin: str = ""
    bank_account: str = ""
    bank_account_name: str = ""
    gs1_prefix: str = ""


def _digits_only(text: str) -> str:
    """'0101 234 567' -> '0101234567': phones type spaces and dots into numbers."""
    return re.sub(r"[\s.]", "", text)


def check_producer(data: ProducerData) -> ProducerData:  # noqa: C901, PLR0915 - a flat list of field checks, all errors at once
    """Clean and validate every field; raise Invalid with all field errors at once."""
    errors: dict[str, str] = {}
    out = ProducerData()
    out.name = clean_text(data.name)
    if not out.name:
        errors["name"] = _l("Vui lòng nhập tên cơ sở sản xuất.")
    elif len(out.name) > NAME_MAX:
        errors["name"] = _l("Tên dài quá %(n)s ký tự.", n=NAME_MAX)

    out.kind = data.kind
    if data.kind not in KIND_LABELS:
        errors["kind"] = _l("Vui lòng chọn loại hình.")

    out.tax_code = _digits_only(clean_text(data.tax_code))
    if out.tax_code and not TAX_CODE.match(out.tax_code):
        errors["tax_code"] = _l(
            "Mã số thuế gồm 10 chữ số, hoặc 10 chữ số, dấu gạch và 3 chữ số (0101234567-001)."
        )

    out.province_code, out.ward_code = data.province_code, data.ward_code
    if places.province(data.province_code) is None:
        errors["province_code"] = _l("Vui lòng chọn tỉnh, thành phố.")
    else:
        ward = places.ward(data.ward_code)
        if ward is None:
            errors["ward_code"] = _l("Vui lòng chọn xã, phường.")
        elif ward.province_code != data.province_code:
            errors["ward_code"] = _l("Xã, phường này không thuộc tỉnh, thành phố đã chọn.")

    out.street = clean_text(data.street)
    if len(out.street) > STREET_MAX:
        errors["street"] = _l("Địa chỉ dài quá %(n)s ký tự.", n=STREET_MAX)

    phone = clean_text(data.phone)
    out.phone = ""
    if phone:
        normalised = normalize_phone(phone)
        if normalised is None:
            errors["phone"] = _l("Số điện thoại Việt Nam chưa đúng (ví dụ 0912 345 678).")
        else:
            out.phone = normalised

    out.email = clean_text(data.email).lower()
    if out.email and (len(out.email) > 254 or not EMAIL.match(out.email)):
        errors["email"] = _l("Địa chỉ e-mail chưa đúng.")

    out.story = clean_long(data.story)
    if len(out.story) > STORY_MAX:
        errors["story"] = _l("Câu chuyện dài quá %(n)s ký tự.", n=STORY_MAX)

    out.bank_bin = _digits_only(clean_text(data.bank_bin))
    out.bank_account = _digits_only(clean_text(data.bank_account))
    out.bank_account_name = clean_text(data.bank_account_name)
    if out.bank_bin and not BANK_BIN.match(out.bank_bin):
        errors["bank_bin"] = _l("Mã ngân hàng (BIN) gồm 6 chữ số, ví dụ 970405 (Agribank).")
    if out.bank_account and not BANK_ACCOUNT.match(out.bank_account):
        errors["bank_account"] = _l("Số tài khoản gồm 6 đến 19 chữ số.")
    if len(out.bank_account_name) > ACCOUNT_NAME_MAX:
        errors["bank_account_name"] = _l("Tên tài khoản dài quá %(n)s ký tự.", n=ACCOUNT_NAME_MAX)
    bank_parts = (out.bank_bin, out.bank_account, out.bank_account_name)
    if any(bank_parts) and not all(bank_parts):
        for name, value in zip(
            ("bank_bin", "bank_account", "bank_account_name"), bank_parts, strict=True
        ):
            if not value:
                errors.setdefault(
                    name,
                    _l("Nhập đủ mã ngân hàng, số tài khoản và tên tài khoản, hoặc bỏ trống cả ba."),
                )

    out.gs1_prefix = _digits_only(clean_text(data.gs1_prefix))
    if out.gs1_prefix and not GS1_PREFIX.match(out.gs1_prefix):
        errors["gs1_prefix"] = _l(
            "Mã doanh nghiệp GS1 gồm 7 đến 12 chữ số (của Việt Nam bắt đầu bằng 893)."
        )

    if errors:
        raise Invalid(fields=errors)
    return out


# ---- GS1 company prefixes: a prefix belongs to one producer, and so do the GTINs under it ----


def prefix_holder(gtin: str, exclude_producer_id: int | None = None) -> Producer | None:
    """The other producer whose GS1 company prefix the GTIN-14 `gtin` falls under, if any."""
    gtin13 = gtin[1:]  # indicator digit off: the company prefix starts the GTIN-13
    query = select(Producer).where(
        Producer.gs1_prefix.is_not(None),
        literal(gtin13).startswith(Producer.gs1_prefix),
    )
    if exclude_producer_id is not None:
        query = query.where(Producer.id != exclude_producer_id)
    return db.session.scalars(query.limit(1)).first()


def check_prefix_free(prefix: str, producer_id: int | None) -> None:
    """Invalid if another producer holds an overlapping prefix or has GTINs under this one."""
    if not prefix:
        return
    others = select(Producer.id).where(Producer.gs1_prefix.is_not(None))
    if producer_id is not None:
        others = others.where(Producer.id != producer_id)
    overlapping = others.where(
        Producer.gs1_prefix.startswith(prefix) | literal(prefix).startswith(Producer.gs1_prefix)
    )
    used = select(Product.id).where(
        Product.gtin.is_not(None), func.substr(Product.gtin, 2).startswith(prefix)
    )
    if producer_id is not None:
        used = used.where(Product.producer_id != producer_id)
    if db.session.scalar(overlapping.limit(1)) is not None or (
        db.session.scalar(used.limit(1)) is not None
    ):
        message = _l(
            "Mã doanh nghiệp GS1 này đã thuộc một cơ sở khác trên Chợ Quê. "
            "Nếu đây đúng là mã của bạn, hãy liên hệ quản trị Chợ Quê kèm giấy chứng nhận của GS1."
        )
        raise Invalid(message, fields={"gs1_prefix": message})


def unique_slug(model: type[Producer] | type[Product], text: str, max_length: int = 80) -> str:
    """'HTX Cam Cao Phong' -> 'htx-cam-cao-phong', or '…-2', '…-3' when taken."""
    base = slugify(text, max_length=max_length - 4)
    taken = set(
        db.session.scalars(
            select(model.slug).where(
                (model.slug == base) | model.slug.startswith(base + "-", autoescape=True)
            )
        )
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _apply(producer: Producer, data: ProducerData) -> dict[str, tuple[Any, Any]]:
    changes: dict[str, tuple[Any, Any]] = {}
    for f in fields(ProducerData):
        new = getattr(data, f.name)
        if f.name in {
            "tax_code",
            "phone",
            "email",
            "bank_bin",
            "bank_account",
            "bank_account_name",
            "gs1_prefix",
        }:
            new = new or None
        old = getattr(producer, f.name)
        if old != new:
            changes[f.name] = (old, new)
            setattr(producer, f.name, new)
    return changes


def store_logo(stream: IO[bytes] | None) -> StoredImage | None:
    """Store an uploaded logo (validated, metadata stripped); the error is the logo field's.

    Its files are removed again if the unit of work rolls back."""
    if stream is None:
        return None
    try:
        logo = store_image(stream)
    except Invalid as error:
        raise Invalid(fields={"logo": error.message}, code=error.code) from error
    after_rollback(lambda: delete_image(logo.key))
    return logo


def create_producer(
    user: User, data: ProducerData, logo_stream: IO[bytes] | None = None
) -> Producer:
    """Any signed-in user may create a producer profile; they become its manager."""
    data = check_producer(data)
    check_prefix_free(data.gs1_prefix, None)
    logo = store_logo(logo_stream)  # only once every other field is right: nothing kept on error
    producer = Producer(slug=unique_slug(Producer, data.name), street="", story="")
    _apply(producer, data)
    if logo is not None:
        producer.logo_key = logo.key
    db.session.add(producer)
    db.session.flush()
    db.session.add(
        Membership(
            user_id=user.id,
            producer_id=producer.id,
            role=MemberRole.MANAGER,
            invited_by_id=user.id,
        )
    )
    audit(
        user.id,
        MemberRole.MANAGER,
        producer.id,
        "producer.create",
        "producer",
        producer.id,
        {"name": producer.name},
    )
    db.session.flush()
    return producer


# Changes worth an exact before/after in the history (money goes to this account).
_SENSITIVE = {"bank_bin", "bank_account", "bank_account_name", "tax_code", "gs1_prefix"}


def update_producer(
    acting: Acting, data: ProducerData, logo_stream: IO[bytes] | None = None
) -> tuple[Producer, str | None]:
    """Save the profile. Returns the producer and the replaced logo key (its files go after
    commit)."""
    data = check_producer(data)
    check_prefix_free(data.gs1_prefix, acting.producer.id)
    logo = store_logo(logo_stream)
    producer = acting.producer
    old_name, old_province = producer.name, producer.province_code
    changes = _apply(producer, data)
    old_logo = None
    if logo is not None:
        old_logo = producer.logo_key
        producer.logo_key = logo.key
        if old_logo:
            replaced = old_logo
            after_commit(lambda: delete_image(replaced))
        changes["logo_key"] = (old_logo, logo.key)
    if not changes:
        return producer, None
    if producer.name != old_name or producer.province_code != old_province:
        refresh_search_text(producer)
    details: dict[str, Any] = {"fields": sorted(changes)}
    details.update({k: [v[0], v[1]] for k, v in changes.items() if k in _SENSITIVE})
    audit(
        acting.user.id,
        acting.role,
        producer.id,
        "producer.update",
        "producer",
        producer.id,
        details,
    )
    db.session.flush()
    return producer, old_logo


def product_search_text(product: Product, producer: Producer) -> str:
    """What the accent-insensitive search box matches: names, producer and its province."""
    province = places.province(producer.province_code)
    parts = [
        product.name_vi,
        product.name_en or "",
        producer.name,
        province.name if province else "",
    ]
    category = (
        db.session.get(OcopCategory, product.category_code) if product.category_code else None
    )
    if category is not None:
        parts.append(category.name_vi)
    return fold(" ".join(p for p in parts if p))


def refresh_search_text(producer: Producer) -> None:
    for product in db.session.scalars(select(Product).where(Product.producer_id == producer.id)):
        product.search_text = product_search_text(product, producer)


def audit(
    actor_id: int,
    role: str,
    producer_id: int,
    action: str,
    subject_type: str,
    subject_id: int | None,
    details: dict[str, Any],
) -> None:
    """Record one change; the summary is kept in Vietnamese (the log's language of record)."""
    from cooperatives.history import describe_action

    with force_locale("vi"):
        summary = describe_action(action, details)
    record(
        actor_id,
        action,
        producer_id=producer_id,
        actor_role=role,
        subject_type=subject_type,
        subject_id=subject_id,
        summary=summary,
        details=details,
    )
