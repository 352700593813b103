"""The app as tests/scale/test_multiprocess.py serves it with gunicorn: the production Config, with the
database, search path, upload folder and Redis settings the test hands over in MP_* variables.

    MP_DATABASE_URL=... [MP_SEARCH_PATH=schema] gunicorn --chdir <repo> tests.scale.mp_app:app
"""
import os

from exchange import create_app
from exchange.config import Config


def build():
    overrides = {
        "SQLALCHEMY_DATABASE_URI": os.environ["MP_DATABASE_URL"],
        "UPLOAD_FOLDER": os.environ["MP_UPLOAD_FOLDER"],
        "MAIL_FOLDER": os.environ["MP_MAIL_FOLDER"],
        "SECRET_KEY": os.environ["MP_SECRET_KEY"],
        "REDIS_URL": os.environ.get("MP_REDIS_URL", ""),
        "RATELIMIT_STORAGE_URI": os.environ.get("MP_REDIS_URL") or "memory://",
        "RATELIMIT_KEY_PREFIX": os.environ.get("MP_KEY_PREFIX", ""),
        "RQ_QUEUE": os.environ.get("MP_QUEUE", "exchange"),
        "AUTH_RATE_LIMIT": os.environ.get("MP_AUTH_RATE_LIMIT", "1000 per minute"),
        "BASE_URL": "http://127.0.0.1",
    }
    options = {"pool_pre_ping": True}
    if os.environ.get("MP_SEARCH_PATH"):
        options["connect_args"] = {"options": f"-csearch_path={os.environ['MP_SEARCH_PATH']}"}
    overrides["SQLALCHEMY_ENGINE_OPTIONS"] = options
    return create_app(Config, **overrides)


app = build()
