from flask import Blueprint

bp = Blueprint("ocop", __name__)
