#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# demo.sh BUILD: run the live-migration demo (see scripts/demo.py).
exec python3 "$(dirname "$0")/demo.py" "${1:-build}"
