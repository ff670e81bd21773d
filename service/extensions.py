"""Extensions, created unbound and attached to the app with ``init_app`` in the factory."""

from __future__ import annotations

from typing import Any

import flask_smorest
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, registry

from .errors import ErrorSchema, handle_http_exception
from .inputs import StrictFlaskParser
from .ratestorage import SweptMemoryStorage  # noqa: F401  (registers memory://)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSON everywhere, JSONB on PostgreSQL (indexable, compact).
JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={dict[str, Any]: JSONType, list[Any]: JSONType},
    )


class ConsentryApi(Api):
    """flask-smorest's Api with our error envelope, in the OpenAPI document and in responses."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        return handle_http_exception(error)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint whose JSON bodies are parsed strictly (``service.inputs``)."""

    ARGUMENTS_PARSER = StrictFlaskParser()


# Objects keep their loaded values after commit: a request reads what it just wrote without
# reloading it, and every request gets a fresh session anyway.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
api = ConsentryApi()
# Rate limits count per site, not per address: the key function is set on each limit. Its
# in-process storage (memory://) is SweptMemoryStorage, registered by its import above.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
