"""Shared building blocks of every domain: mixins, types, errors, forms, i18n, mail, uploads, template filters.

The core imports no domain (the home pages, which show every domain's panels, live in ``exchange.home``).
"""
