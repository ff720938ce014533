"""OCOP product groups and sub-groups (reference data seeded into `ocop_category`).

Six groups per Decision 148/QĐ-TTg (2023); sub-groups follow the commonly published grouping of
the programme. The migration inserts the same rows; `load_ocop_categories` keeps a database in step.
"""

from __future__ import annotations

from sqlalchemy import select

from cooperatives.models import OcopCategory
from core.db import db

# (code, parent, Vietnamese, English)
OCOP_CATEGORIES: tuple[tuple[str, str | None, str, str], ...] = (
    ("1", None, "Thực phẩm", "Food"),
    ("1.1", "1", "Nông, thủy sản tươi sống", "Fresh agricultural and aquatic produce"),
    ("1.2", "1", "Nông, thủy sản thô, sơ chế", "Raw and pre-processed produce"),
    ("1.3", "1", "Thực phẩm chế biến", "Processed food"),
    ("1.4", "1", "Gia vị", "Condiments and spices"),
    ("1.5", "1", "Chè và sản phẩm từ chè", "Tea and tea products"),
    ("1.6", "1", "Cà phê, ca cao", "Coffee and cocoa"),
    ("2", None, "Đồ uống", "Beverages"),
    ("2.1", "2", "Đồ uống có cồn", "Alcoholic beverages"),
    ("2.2", "2", "Đồ uống không cồn", "Non-alcoholic beverages"),
    ("3", None, "Thảo dược", "Medicinal herbs and herbal products"),
    ("3.1", "3", "Thực phẩm chức năng, thuốc từ dược liệu", "Health foods and herbal medicines"),
    ("3.2", "3", "Mỹ phẩm từ thảo dược", "Herbal cosmetics"),
    ("3.3", "3", "Tinh dầu và sản phẩm thảo dược khác", "Essential oils and other herbal products"),
    ("4", None, "Thủ công mỹ nghệ", "Handicrafts"),
    ("4.1", "4", "Thủ công mỹ nghệ, trang trí, gia dụng", "Decorative and household handicrafts"),
    ("4.2", "4", "Vải, may mặc", "Textiles and garments"),
    ("5", None, "Sinh vật cảnh", "Ornamental plants and animals"),
    ("5.1", "5", "Hoa, cây cảnh", "Flowers and ornamental plants"),
    ("5.2", "5", "Động vật cảnh", "Ornamental animals"),
    (
        "6",
        None,
        "Dịch vụ du lịch cộng đồng, du lịch sinh thái và điểm du lịch",
        "Community tourism, eco-tourism services and sites",
    ),
    (
        "6.1",
        "6",
        "Dịch vụ du lịch cộng đồng, sinh thái và điểm du lịch",
        "Community and eco-tourism services and sites",
    ),
)


def load_ocop_categories() -> int:
    """Insert missing categories and refresh names; returns how many rows were added."""
    existing = {c.code: c for c in db.session.scalars(select(OcopCategory))}
    added = 0
    for position, (code, parent, name_vi, name_en) in enumerate(OCOP_CATEGORIES):
        row = existing.get(code)
        if row is None:
            db.session.add(
                OcopCategory(
                    code=code,
                    parent_code=parent,
                    name_vi=name_vi,
                    name_en=name_en,
                    position=position,
                )
            )
            added += 1
        else:
            row.name_vi, row.name_en, row.parent_code, row.position = (
                name_vi,
                name_en,
                parent,
                position,
            )
    db.session.flush()
    return added
