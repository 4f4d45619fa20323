#!/bin/sh
# The compose federation's demo (docker-compose.yml, service 'demo', profile 'demo'): the
# demo's secure chain instantiated through the top node as its customer, shown as a tree
# across the operators with its address plan, then terminated everywhere.
#
#   spfed-compose-demo [all|instantiate|show|terminate]     (default: all)
#
# 'instantiate' waits until the service is ACTIVE and keeps its id in
# $SPFED_HOME/demo/service-id, for a later 'show' or 'terminate' (they may run in other
# containers). Exits non-zero when a step fails: the service did not become ACTIVE, or did
# not end TERMINATED.
#
# Environment: SPFED_DEMO_NODE (the top node, default retail:50051), SPFED_DEMO_OPERATOR
# (its operator id, default retail), SPFED_DEMO_ACCOUNT (its customer, default acme),
# SPFED_HOME (what 'spfed topology provision' wrote, default /var/lib/spfed), SPFED_EXAMPLES
# (default /opt/spfed/examples).
set -eu

node=${SPFED_DEMO_NODE:-retail:50051}
operator=${SPFED_DEMO_OPERATOR:-retail}
account=${SPFED_DEMO_ACCOUNT:-acme}
home=${SPFED_HOME:-/var/lib/spfed}
examples=${SPFED_EXAMPLES:-/opt/spfed/examples}
security=$home/security
id_file=$home/demo/service-id
step=${1:-all}

# Every spfed command below trusts the topology CA and shows the CLI's certificate.
export SPFED_NODE="$node"
export SPFED_CA="$security/ca.crt"
export SPFED_CERT="$security/spfed-cli.crt"
export SPFED_KEY="$security/spfed-cli.key"

say() { printf '\n== %s\n' "$*"; }

json_field() {  # json_field FIELD < JSON: one top-level field of a JSON object
    python -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

login() {
    say "sign in at $operator ($node) as $account"
    spfed login --account "$account" --password-stdin < "$security/$operator/$account.password"
}

service_id() {
    if [ ! -s "$id_file" ]; then
        echo "no demo service: run 'spfed-compose-demo instantiate' first" >&2
        exit 1
    fi
    cat "$id_file"
}

instantiate() {
    say "instantiate the secure chain through $operator"
    d=$examples/descriptors
    operation=$(spfed service instantiate --no-wait --json \
        --name "secure chain (compose demo)" \
        --placement "$examples/topologies/compose-placement.yaml" \
        "$d/nsd-secure-chain.yml" "$d/vnfd-firewall.yml" "$d/vnfd-dpi.yml" \
        "$d/vnfd-legacy-nat.yml")
    id=$(printf '%s' "$operation" | json_field service_id)
    mkdir -p "$(dirname "$id_file")"
    printf '%s\n' "$id" > "$id_file"
    echo "service $id"
    spfed service watch "$id" --until-settled
    state=$(spfed service show "$id" --json | json_field state)
    echo "service $id is $state"
    [ "$state" = active ]
}

show() {
    id=$(service_id)
    say "service $id across the operators"
    spfed service show "$id"
}

terminate() {
    id=$(service_id)
    say "terminate service $id"
    spfed service terminate "$id"
    rm -f "$id_file"
}

login
case "$step" in
    all) instantiate && show && terminate ;;
    instantiate) instantiate ;;
    show) show ;;
    terminate) terminate ;;
    *) echo "usage: spfed-compose-demo [all|instantiate|show|terminate]" >&2; exit 2 ;;
esac
