from flask import Blueprint

bp = Blueprint("traceability_api", __name__)
