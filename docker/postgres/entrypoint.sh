#!/bin/sh
# Start PostgreSQL; on the first start, make the cluster as the official image does.
#
# A new cluster (no $PGDATA/PG_VERSION) gets the superuser $POSTGRES_USER (default postgres)
# with $POSTGRES_PASSWORD (required), trust on the local socket and scram-sha-256 over TCP
# from anywhere, the database $POSTGRES_DB (default: the user's name), and then runs the
# scripts of /docker-entrypoint-initdb.d (*.sh executed, or sourced when not executable;
# *.sql fed to psql) against a server reachable only on its socket. Arguments starting
# with 'postgres' (or an option) start the server with them; anything else is executed.
set -eu

: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
export POSTGRES_USER POSTGRES_DB

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
    set -- postgres "$@"
fi
if [ "$1" != postgres ]; then
    exec "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "postgres-entrypoint: POSTGRES_PASSWORD is required for a new cluster" >&2
        exit 1
    fi
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --encoding=UTF8 --no-locale \
        --auth-local=trust --auth-host=scram-sha-256
    rm -f "$pwfile"
    printf 'host all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
    pg_ctl --pgdata="$PGDATA" --wait --silent --options="-c listen_addresses=''" start
    if [ "$POSTGRES_DB" != postgres ]; then
        psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
            -c "CREATE DATABASE \"$POSTGRES_DB\""
    fi
    for script in /docker-entrypoint-initdb.d/*; do
        case "$script" in
            *.sh)
                echo "postgres-entrypoint: running $script"
                if [ -x "$script" ]; then "$script"; else . "$script"; fi
                ;;
            *.sql)
                echo "postgres-entrypoint: running $script"
                psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
                    -f "$script"
                ;;
        esac
    done
    pg_ctl --pgdata="$PGDATA" --wait --silent --mode=fast stop
    echo "postgres-entrypoint: cluster ready in $PGDATA"
fi

shift
exec postgres "$@"
