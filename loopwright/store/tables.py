"""The one ``MetaData`` every platform table is declared on (see the package docstring)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
