#!/bin/sh
# One-shot (temporalio/admin-tools image, `temporal` CLI): waits for the Temporal server, makes
# sure the namespace exists, then creates every custom search attribute punctual's workflows set.
# Idempotent: a namespace or search attribute that already exists is left as it is, so it runs
# again on every `docker compose up`.
#
# Environment (from docker-compose.yml):
#   TEMPORAL_ADDRESS     read by the `temporal` CLI itself (temporal:7233)
#   TEMPORAL_NAMESPACE   namespace to create and register in (default)
#   SEARCH_ATTRIBUTES    space-separated Name=Type pairs; must equal `punctual search-attributes`
#                        (workflows/src/names.rs SEARCH_ATTRIBUTES). tests/tests/compose.rs
#                        checks that it does.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${TEMPORAL_NAMESPACE:?}" "${SEARCH_ATTRIBUTES:?}"

echo "waiting for Temporal at $TEMPORAL_ADDRESS ..."
tries=0
until temporal operator cluster health >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 120 ]; then
    echo "Temporal at $TEMPORAL_ADDRESS is not healthy after 120 tries" >&2
    exit 1
  fi
  sleep 2
done

if temporal operator namespace describe -n "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  echo "namespace $TEMPORAL_NAMESPACE exists"
else
  temporal operator namespace create -n "$TEMPORAL_NAMESPACE" --retention 30d
  echo "created namespace $TEMPORAL_NAMESPACE"
fi

# Creating a search attribute right after the namespace can race the server's caches: retry.
create() { # name type
  attempt=0
  while :; do
    if out="$(temporal operator search-attribute create -n "$TEMPORAL_NAMESPACE" \
        --name "$1" --type "$2" 2>&1)"; then
      echo "created search attribute $1 ($2)"; return 0
    fi
    if printf '%s' "$out" | grep -qi 'already exists'; then
      echo "search attribute $1 already exists"; return 0
    fi
    attempt=$((attempt + 1))
    if [ "$attempt" -ge 15 ]; then
      printf 'cannot create search attribute %s: %s\n' "$1" "$out" >&2; return 1
    fi
    sleep 2
  done
}

for pair in $SEARCH_ATTRIBUTES; do
  create "${pair%%=*}" "${pair#*=}"
done
echo "search attributes registered in namespace $TEMPORAL_NAMESPACE"
