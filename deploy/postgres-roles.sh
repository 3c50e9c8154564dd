#!/usr/bin/env bash
# The first start of deploy/compose.yaml's PostgreSQL (/docker-entrypoint-initdb.d): the
# two roles of docs/operations.md, mandate_owner owning the database and mandate_app that
# the processes connect as, with the passwords MANDATE_OWNER_PASSWORD and
# MANDATE_APP_PASSWORD. An existing data volume is not touched: run
# `docker compose exec postgres mandate-database-roles mandate` once there.
mandate-database-roles "$POSTGRES_DB" mandate_owner mandate_app
