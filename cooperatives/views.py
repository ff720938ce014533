from flask import Blueprint

bp = Blueprint("cooperatives", __name__)
