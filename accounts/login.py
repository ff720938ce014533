"""Flask-Login wiring (placeholder until the accounts work lands)."""

from flask import Flask
from flask_login import LoginManager

login_manager = LoginManager()


def init_app(app: Flask) -> None:
    login_manager.init_app(app)

    @login_manager.user_loader
    def _load(identity: str):
        return None
