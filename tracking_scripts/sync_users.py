"""Makes MLflow's auth database hold exactly the declared users and passwords, then exits.

Runs as the tracking server pod's init container, before `mlflow server`, with the auth config and the passwords
from the tracking namespace's Secret. It writes the auth store directly instead of calling the REST API, so the
admin password rotates too: MLflow itself only reads its bootstrap admin password when the admin does not exist yet,
and the API would need the old password to change it. Idempotent: a rerun with the same passwords changes nothing
that a caller can see.

Environment: MLFLOW_AUTH_CONFIG_PATH (database_uri, admin_username), MLFLOW_AUTH_ADMIN_PASSWORD,
MLSTACK_READER_USERNAME and MLSTACK_READER_PASSWORD (the model server's user: no admin, the default permission).
"""
import os
import sys

from mlflow.server.auth.config import read_auth_config
from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore


def declare_user(store: SqlAlchemyStore, username: str, password: str, is_admin: bool) -> str:
    if not store.has_user(username, use_primary=True):
        store.create_user(username, password, is_admin=is_admin)
        return "created"
    store.update_user(username, password=password, is_admin=is_admin)
    return "updated"


def main() -> int:
    config = read_auth_config()
    reader = os.environ["MLSTACK_READER_USERNAME"]
    if not config.admin_username or not config.admin_password:
        print("sync_users: the auth config names no admin user or MLFLOW_AUTH_ADMIN_PASSWORD is empty", file=sys.stderr)
        return 2
    if reader == config.admin_username:
        print(f"sync_users: the reader user must not be the admin user {reader!r}", file=sys.stderr)
        return 2
    store = SqlAlchemyStore()
    store.init_db(config.database_uri)
    declared = ((config.admin_username, config.admin_password, True),
                (reader, os.environ["MLSTACK_READER_PASSWORD"], False))
    for username, password, is_admin in declared:
        outcome = declare_user(store, username, password, is_admin)
        print(f"sync_users: {outcome} {'admin' if is_admin else 'reader'} user {username!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
