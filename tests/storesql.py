"""Reading a store's tables directly in tests, on either backend (what the Store API does
not show: first reports, raw columns)."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg

from lib.storedb import Address, is_postgres

# What a value the database cannot store raises (a program error, not a StoreError).
UNSTORABLE = (sqlite3.Error, psycopg.Error)


def query(address: Address, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The rows of one statement (written with `?` placeholders) run on the store."""
    if is_postgres(address):
        with psycopg.connect(str(address), autocommit=True) as db:
            return [tuple(row) for row in db.execute(sql.replace("?", "%s"), params).fetchall()]
    with sqlite3.connect(address) as db:
        return db.execute(sql, params).fetchall()


def execute(address: Address, sql: str, params: tuple[Any, ...] = ()) -> None:
    """Run one statement that returns no rows on the store, committed."""
    if is_postgres(address):
        with psycopg.connect(str(address), autocommit=True) as db:
            db.execute(sql.replace("?", "%s"), params)
        return
    with sqlite3.connect(address) as db:
        db.execute(sql, params)
