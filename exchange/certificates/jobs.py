"""The bulk action as a background job: issue the certificates of a whole event or call, render them,
and offer one merged PDF and a ZIP of the individual PDFs (see exchange/jobs)."""
from flask_babel import force_locale
from ..core.i18n import gettext as _
from ..core.i18n import ngettext

from ..auth.models import User
from ..extensions import db
from ..core import mail
from ..core.urls import site_path
from ..jobs.services import report_progress, store_result_file
from . import services
from .kinds import spec_of
from .models import CertificateKind

FUNC = "exchange.certificates.jobs:bulk_issue"


def bulk_issue(job_id: str, kind: str, scope_id: int, by_id: int | None, notify: bool = True) -> dict:
    by = db.session.get(User, by_id) if by_id else None
    locale = services.default_language(by)
    kind = CertificateKind(kind)
    with force_locale(locale):
        ids = services.eligible_subject_ids(kind, scope_id)
        report_progress(job_id, 0, len(ids), _("Issuing certificates…"))
        new = services.issue_many(kind, ids, by)
        db.session.commit()
        certificates = services.valid_in_scope(kind, scope_id)
        total = len(certificates)

        def progress(done, total_):
            report_progress(job_id, done, total_, _("%(done)d of %(total)d certificates ready",
                                                    done=done, total=total_))
        rendered = services.render_certificates(certificates, progress=progress)
        db.session.commit()
        if notify and new:
            with mail.connection():
                services.notify_issued(new)
        scope = spec_of(kind).scope_column.removesuffix("_id")
        base = f"{kind.value}-{scope}-{scope_id}"
        files = {}
        if certificates:
            report_progress(job_id, total, total, _("Putting the files together…"))
            files["pdf"] = store_result_file(rendered.merged(), f"certificates-{base}.pdf", "application/pdf")
            files["zip"] = store_result_file(services.zip_of(rendered), f"certificates-{base}.zip",
                                             "application/zip")
        message = ngettext("%(num)d new certificate issued.", "%(num)d new certificates issued.", len(new)) + " " + \
            ngettext("%(num)d certificate in the files.", "%(num)d certificates in the files.", total)
        report_progress(job_id, total, total, message)
    if kind is CertificateKind.participation:
        back = site_path("certificates.event", event_id=scope_id)
    else:
        back = site_path("certificates.call", call_id=scope_id)
    return {"files": files, "back_url": back, "issued": len(new), "total": total, "rendered": rendered.rendered,
            "pool_cpu_seconds": round(rendered.pool_cpu_seconds, 2)}
