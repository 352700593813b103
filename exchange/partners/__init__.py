from flask import Blueprint

bp = Blueprint("partners", __name__)
#: The factsheet pages, mounted under /placements (their addresses from before they moved here).
factsheets_bp = Blueprint("factsheets", __name__)
