"""The serving process: its long-lived objects kept out of the garbage collector's full passes.

A process of the app holds about 180,000 objects once warm: modules, the ORM's mappers, compiled templates,
statement caches. Python's full garbage collection walks all of them, about 80 ms in which the process answers
nothing, and a busy process ran one every few hundred requests. After the first requests have compiled the
templates and filled the caches, the process moves what it holds to the collector's permanent generation
(gc.freeze): later passes walk only what requests create. Nothing is freed that would otherwise have been, since
the frozen objects are the ones that live as long as the process.
"""
from __future__ import annotations

import gc

from flask import Flask


def init_app(app: Flask) -> None:
    after = app.config.get("GC_FREEZE_AFTER_REQUESTS") or 0
    if after <= 0:
        return
    served = 0

    @app.teardown_request
    def _freeze_when_warm(_exc=None) -> None:
        nonlocal served
        if served > after:
            return
        served += 1
        if served > after:
            freeze()


def freeze() -> None:
    """Collect what is garbage now, then keep everything left out of later collections."""
    gc.collect()
    gc.freeze()
