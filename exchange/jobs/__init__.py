"""Background jobs: work that takes longer than a request (bulk certificates, bulk e-mails, exports).

With REDIS_URL set, jobs are queued on Redis (RQ) and run by `flask worker`; without it they run
in-process, at once, so the default set-up keeps working. Either way a Job row records progress and
results, and /jobs/<id> shows them.
"""
from flask import Blueprint

bp = Blueprint("jobs", __name__)
