from flask import Blueprint

bp = Blueprint("traceability", __name__)
