#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# demo.sh BUILD: run the live-migration demo (see scripts/demo.py).
# Works through a symlink: demo.py is found beside the resolved script.
here=$(dirname "$(readlink -f "$0")")
exec python3 "$here/demo.py" "${1:-build}"
