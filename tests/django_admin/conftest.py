"""Fixtures for the admin tests: a registry of five breakers on the memory store, users.

The helpers they use (and tests import) live in tests/django_admin/admin_helpers.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import count

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Permission
from django.test import Client
from pytest_django import Settings

from circuit_breaker_django import database, registry
from tests.django_admin.admin_helpers import INSTALLED, install_registry

_usernames = count(1)


@pytest.fixture(autouse=True)
def admin_settings(settings: Settings) -> None:
    settings.ROOT_URLCONF = "tests.django_admin.urls"
    # Test users need no costly password hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def breakers(transactional_db: None) -> Iterator[None]:
    """A fresh registry for each test, its rows in the table.

    The rows are created (here and by the list view) on the app's own connection, which
    commits: every admin test is transactional, or the rows would outlive the test and the
    test's open transaction would hide its rows from that connection.
    """
    install_registry()
    yield
    registry.configure(None)
    while INSTALLED:
        INSTALLED.pop().store.close()
    database.close_all()


@pytest.fixture
def client_for(transactional_db: None) -> Callable[..., Client]:
    """``client_for("view_breaker", ...)``: a logged-in staff user with exactly those perms."""

    def make(*codenames: str) -> Client:
        user: AbstractBaseUser = get_user_model().objects.create_user(
            username=f"operator{next(_usernames)}", password="unused", is_staff=True
        )
        permissions = Permission.objects.filter(
            content_type__app_label="circuit_breaker_django", codename__in=codenames
        )
        assert sorted(p.codename for p in permissions) == sorted(codenames)
        user.user_permissions.set(permissions)
        client = Client()
        client.force_login(user)
        return client

    return make
