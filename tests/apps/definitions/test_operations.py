"""The operation-name registry the upload validation checks service tasks against."""

from __future__ import annotations

import pytest

from apps.core import operations


def test_the_builtin_operations_of_the_api_contract_are_registered():
    assert {"core.echo", "core.fail", "http.request"} <= operations.operation_names()


def test_a_registered_operation_is_listed(monkeypatch):
    monkeypatch.setattr(operations, "_names", set(operations.operation_names()))

    operations.register_operation("billing.create_account")

    assert "billing.create_account" in operations.operation_names()


@pytest.mark.parametrize("name", ["", "echo", "Billing.Create", "billing.", ".x", "a.b c"])
def test_a_badly_spelt_operation_name_is_refused(name):
    with pytest.raises(ValueError, match="dotted snake_case"):
        operations.register_operation(name)
