"""What the demo holds: the producers, households, products and variants `flask seed-demo`
creates (demo.py writes them). Real places, 2025 administrative units."""

from __future__ import annotations

from dataclasses import dataclass, field

from cooperatives.models import MemberRole

HELPER_PHONE = "+84912000002"  # Anh Tuấn, tổ công nghệ số cộng đồng Hoằng Hóa


@dataclass(frozen=True)
class DemoVariant:
    label: str
    pack_size: str
    unit: str
    price: int
    grams: int


@dataclass(frozen=True)
class DemoProduct:
    name: str
    category: str
    description: str
    variants: tuple[DemoVariant, ...]
    colour: tuple[int, int, int]
    photos: int = 1
    gtin: str = ""
    name_en: str = ""
    published: bool = True


@dataclass(frozen=True)
class DemoProducer:
    name: str
    kind: str
    province_code: int
    ward: str
    street: str
    manager: tuple[str, str]  # phone, name
    story: str
    products: tuple[DemoProduct, ...]
    members: tuple[tuple[str, str, str], ...] = ()  # phone, name, role
    tax_code: str = ""
    gs1_prefix: str = ""
    bank: tuple[str, str, str] = ("", "", "")
    extra: dict = field(default_factory=dict)


def _v(label: str, size: str, unit: str, price: int, grams: int) -> DemoVariant:
    return DemoVariant(label, size, unit, price, grams)


ORANGE, GREEN, MELON, GOURD = (240, 140, 20), (60, 150, 60), (200, 210, 90), (120, 170, 110)

HOUSEHOLDS = (
    (
        "+84912000003",
        "Nguyễn Văn A",
        "Hoằng Hóa",
        (
            DemoProduct(
                "Rau cải ngọt",
                "1.1",
                "Cải ngọt trồng theo hướng VietGAP, hái buổi sáng.",
                (_v("bó 500 g", "500", "g", 15000, 550),),
                GREEN,
            ),
            DemoProduct(
                "Mồng tơi",
                "1.1",
                "Mồng tơi xanh, lá dày, nấu canh cua.",
                (_v("bó 500 g", "500", "g", 12000, 550),),
                GREEN,
            ),
        ),
    ),
    (
        "+84912000011",
        "Lê Thị Bình",
        "Hoằng Tiến",
        (
            DemoProduct(
                "Dưa lê Hoằng Hóa",
                "1.1",
                "Dưa lê vỏ vàng, thơm, ngọt mát.",
                (_v("túi 2 kg", "2", "kg", 50000, 2100), _v("thùng 5 kg", "5", "kg", 120000, 5300)),
                MELON,
            ),
        ),
    ),
    (
        "+84912000012",
        "Trần Văn Cường",
        "Hoằng Lộc",
        (
            DemoProduct(
                "Bí đao",
                "1.1",
                "Bí đao xanh, ruột chắc, nấu canh hay ép nước.",
                (_v("quả 2–3 kg", "2.5", "kg", 30000, 2600),),
                GOURD,
            ),
        ),
    ),
    (
        "+84912000013",
        "Phạm Thị Dung",
        "Hoằng Thanh",
        (
            DemoProduct(
                "Rau muống",
                "1.1",
                "Rau muống ruộng, ngọn non.",
                (_v("bó 500 g", "500", "g", 10000, 550),),
                GREEN,
            ),
            DemoProduct(
                "Hành lá",
                "1.1",
                "Hành lá trồng xen vụ.",
                (_v("bó 200 g", "200", "g", 8000, 220),),
                GREEN,
                published=False,
            ),
        ),
    ),
)

PRODUCERS = (
    DemoProducer(
        name="HTX Cam Cao Phong",
        kind="htx",
        province_code=25,
        ward="Cao Phong",
        street="Xóm Cải",
        manager=("+84912000001", "Bà Lan"),
        members=(("+84912000006", "Chị Thu", MemberRole.MEMBER),),
        tax_code="5400456789",
        gs1_prefix="8931234",
        bank=("970405", "3100205123456", "HTX CAM CAO PHONG"),
        story=(
            "Hợp tác xã của 42 hộ trồng cam trên các đồi đá vôi ở Cao Phong.\n"
            "Cam chín vào tháng 11, được hái bằng tay, phân loại và đóng thùng tại hợp tác xã."
        ),
        products=(
            DemoProduct(
                "Cam Cao Phong loại 1",
                "1.1",
                "Cam đường canh Cao Phong, vỏ mỏng, ngọt đậm, nhiều nước. "
                "Trồng theo VietGAP, thu hái khi chín cây.",
                (
                    _v("thùng 5 kg", "5", "kg", 250000, 5200),
                    _v("thùng 10 kg", "10", "kg", 480000, 10400),
                ),
                ORANGE,
                photos=3,
                gtin="8931234567897",  # the cooperative's licensed GS1 number in the demo
                name_en="Cao Phong orange, grade 1",
            ),
            DemoProduct(
                "Nước cam ép Cao Phong",
                "2.2",
                "Nước cam ép nguyên chất, không đường, thanh trùng.",
                (
                    _v("chai 330 ml", "330", "ml", 25000, 400),
                    _v("thùng 24 chai", "24", "chai", 560000, 9800),
                ),
                (250, 170, 40),
            ),
            DemoProduct(
                "Cam Cao Phong túi 3 kg",
                "1.1",
                "Cam loại 2, quả nhỏ hơn, cùng vị ngọt.",
                (_v("túi lưới 3 kg", "3", "kg", 120000, 3100),),
                ORANGE,
            ),
        ),
    ),
    DemoProducer(
        name="HTX Khóm Cầu Đúc Hỏa Lựu",
        kind="htx",
        province_code=92,
        ward="Hỏa Lựu",
        street="Ấp Thạnh Mỹ",
        manager=("+84912000004", "Chị Hạnh"),
        tax_code="6300123456",
        bank=("970446", "10023456789", "HTX KHOM CAU DUC HOA LUU"),
        story="Khóm Cầu Đúc trồng trên đất phèn Vị Thanh, trái nhỏ, thơm, ngọt thanh.",
        products=(
            DemoProduct(
                "Khóm Cầu Đúc",
                "1.1",
                "Khóm (dứa) Cầu Đúc, mắt cạn, ruột vàng, ngọt thanh.",
                (
                    _v("3 trái", "3", "qua", 45000, 3000),
                    _v("thùng 10 trái", "10", "qua", 140000, 10500),
                ),
                (230, 190, 40),
                photos=2,
            ),
            DemoProduct(
                "Bưởi Năm Roi",
                "1.1",
                "Bưởi Năm Roi ráo nước, múi không hạt.",
                (_v("trái 1,2–1,5 kg", "1.3", "kg", 60000, 1400),),
                (170, 200, 70),
            ),
        ),
    ),
    DemoProducer(
        name="Cơ sở nước mắm Bảo Ninh",
        kind="hkd",
        province_code=44,
        ward="Đồng Hới",
        street="Thôn Đồng Dương, Bảo Ninh",
        manager=("+84912000005", "Anh Dũng"),
        story="Nước mắm cá cơm ủ chượp trong thùng gỗ 12 tháng theo cách làng chài Bảo Ninh.",
        products=(
            DemoProduct(
                "Nước mắm cá cơm Bảo Ninh",
                "1.4",
                "Nước mắm nhĩ 35 độ đạm, ủ chượp truyền thống.",
                (
                    _v("chai 500 ml", "500", "ml", 85000, 800),
                    _v("can 2 lít", "2", "l", 300000, 2400),
                ),
                (150, 80, 30),
            ),
            DemoProduct(
                "Khoai deo",
                "1.3",
                "Khoai lang phơi gió biển, dẻo, ngọt tự nhiên.",
                (_v("gói 500 g", "500", "g", 70000, 550),),
                (180, 110, 60),
            ),
        ),
    ),
)
