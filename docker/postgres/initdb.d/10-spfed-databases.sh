#!/bin/sh
# One database per operator of the compose federation ($SPFED_DATABASES, separated by
# spaces), owned by $POSTGRES_USER. Run once, on a new cluster, by the official postgres
# image and by docker/postgres alike.
set -eu
for database in ${SPFED_DATABASES:-}; do
    echo "creating database $database"
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        -c "CREATE DATABASE \"$database\" OWNER \"$POSTGRES_USER\""
done
