#!/bin/sh
# A fresh server directory on first start (a copy of the image's devpi-init), then run devpi-server in the foreground.
set -e
serverdir="${DEVPI_SERVERDIR:-/devpi/server}"
sh /opt/devpi/serverdir.sh "$serverdir"
exec devpi-server --serverdir "$serverdir" --host 0.0.0.0 --port 3141 "$@"
