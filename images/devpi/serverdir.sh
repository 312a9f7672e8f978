#!/bin/sh
# Give DIR its devpi server directory on the first start: a copy of one the image initialised with devpi-init
# (TEMPLATE: root-pypi, the default, with root/pypi; or no-root-pypi). An initialised DIR is kept (a restart).
set -e
dir="$1"
template="${2:-root-pypi}"
[ -f "$dir/.serverversion" ] || { mkdir -p "$dir" && cp -a "/opt/devpi/init/$template/." "$dir/"; }
