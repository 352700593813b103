"""Certificates: participation in cultural events, placement letters and completed exchanges.

Each issued document has a unique number and an unguessable verification code; anyone can check it at
/verify/<code> (the `verify_bp` blueprint, mounted without a prefix). PDFs are rendered with WeasyPrint
from templates/certificates/pdf/*.html, fed a plain dict (see pdf.py and kinds.py).
"""
from flask import Blueprint

bp = Blueprint("certificates", __name__)
verify_bp = Blueprint("verification", __name__)
