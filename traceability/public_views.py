from flask import Blueprint

bp = Blueprint("scan", __name__)
