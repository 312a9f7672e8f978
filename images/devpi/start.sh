#!/bin/sh
# Initialise the server directory on first start, then run devpi-server in the foreground.
set -e
serverdir="${DEVPI_SERVERDIR:-/devpi/server}"
[ -e "$serverdir/.nodeinfo" ] || devpi-init --serverdir "$serverdir"
exec devpi-server --serverdir "$serverdir" --host 0.0.0.0 --port 3141 "$@"
