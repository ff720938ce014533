"""Demo accounts for `flask seed-demo` (idempotent) and `flask demo-logins`.

The demo password is demo data printed by `make run`, not a secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from accounts import roles, services
from accounts.identifiers import PHONE, Identifier, find_user
from accounts.models import CouncilLevel
from core.phones import display_phone

DEMO_PASSWORD = "choque-demo"  # noqa: S105  (demo data, printed by make run)


@dataclass(frozen=True)
class DemoUser:
    phone: str
    name: str
    role: str  # shown in demo_logins()
    email: str | None = None
    admin: bool = False
    council: tuple[str, int | None] | None = None


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser(
        "+84900000001",
        "Quản trị Chợ Quê",
        "quản trị nền tảng",
        email="admin@choque.local",
        admin=True,
    ),
    DemoUser("+84912000001", "Bà Lan", "quản lý HTX"),
    DemoUser("+84912000002", "Anh Tuấn", "tổ công nghệ số cộng đồng, Hoằng Hóa"),
    DemoUser("+84912000003", "Nguyễn Văn A", "hộ sản xuất, Hoằng Hóa"),
    DemoUser("+84912000004", "Chị Hạnh", "quản lý HTX, Cần Thơ"),
    DemoUser("+84912000005", "Anh Dũng", "quản lý cơ sở, Quảng Trị"),
    DemoUser("+84912000006", "Chị Thu", "thành viên HTX"),
    DemoUser(
        "+84912000007",
        "Ông Hùng",
        "hội đồng OCOP tỉnh Phú Thọ",
        council=(CouncilLevel.PROVINCE, 25),
    ),
    DemoUser(
        "+84912000008", "Bà Minh", "hội đồng OCOP trung ương", council=(CouncilLevel.CENTRAL, None)
    ),
)


def seed_demo() -> str:
    """Create the demo accounts that are missing (looked up by phone); flush, never commit."""
    created = 0
    for demo in DEMO_USERS:
        user = find_user(Identifier(PHONE, demo.phone))
        if user is None:
            user = services.create_user(
                demo.name,
                phone=demo.phone,
                email=demo.email,
                password=DEMO_PASSWORD,
                admin=demo.admin,
            )
            created += 1
        if demo.council is not None:
            roles.add_council_seat(user, *demo.council)
    return f"{len(DEMO_USERS)} tài khoản demo ({created} mới), mật khẩu {DEMO_PASSWORD}"


def demo_logins() -> list[str]:
    lines = [
        f"Tài khoản demo (mật khẩu {DEMO_PASSWORD}, hoặc đăng nhập bằng mã xem ở /dev/outbox):"
    ]
    for demo in DEMO_USERS:
        lines.append(f"{demo.name} ({demo.role}) {display_phone(demo.phone)} / {DEMO_PASSWORD}")
    return lines
