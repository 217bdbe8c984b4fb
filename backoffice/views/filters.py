"""List filters that take only the values they offer."""

from __future__ import annotations

from flask_admin.contrib.sqla.filters import FilterEqual


class OptionFilter(FilterEqual):
    """An "equals" filter over a drop-down: a value it does not offer the current user
    (``?flt0_2=abc`` on an integer column, a block outside their units) is refused
    with Flask-Admin's "invalid filter value" message instead of reaching the query,
    where PostgreSQL fails on the type (a 500) and SQLite quietly finds nothing."""

    def validate(self, value) -> bool:
        return any(str(option) == value for option, _label in self.get_options(None) or ())

    def clean(self, value):
        """The value as the column holds it: PostgreSQL compares no integer with text."""
        return self.column.type.python_type(value)
