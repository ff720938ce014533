from flask import Blueprint

bp = Blueprint("stamps", __name__)
