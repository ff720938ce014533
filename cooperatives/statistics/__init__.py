"""Statistics pages for authorities and cooperatives (and the open-data page /stats).

This package owns the pages and who sees what; the figures come from each package through the
registry in core.statistics: OCOP and participation from cooperatives, traceability from
traceability, selling from the shop (a declared section that shows its placeholder until the
shop provides it).
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    from cooperatives.ocop import statistics as ocop_statistics
    from cooperatives.statistics import participation, views
    from core.statistics import declare_section, provide_section, register_refresher

    declare_section(app, "ocop", _l("OCOP"), 10, "")
    declare_section(
        app,
        "selling",
        _l("Bán hàng"),
        20,
        _l(
            "Số liệu bán hàng (đơn hàng, doanh thu, thanh toán không dùng tiền mặt, thời gian "
            "giao hàng) sẽ có khi cửa hàng được bật."
        ),
    )
    declare_section(
        app,
        "traceability",
        _l("Truy xuất nguồn gốc"),
        30,
        _l("Số liệu truy xuất nguồn gốc sẽ có khi phần truy xuất được bật."),
    )
    declare_section(app, "participation", _l("Tham gia"), 40, "")
    provide_section(app, "ocop", ocop_statistics.build, "cooperatives")
    provide_section(app, "participation", participation.build, "cooperatives")
    register_refresher(app, participation.SOURCE, participation.refresh)
    app.register_blueprint(views.bp)
