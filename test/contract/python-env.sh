#!/usr/bin/env bash
# Creates (or updates) the Python virtual environment the discord.py contract test runs in, and
# installs the pinned discord.py from PyPI into it. Idempotent: a second run only checks the pin.
#   test/contract/python-env.sh            # venv at ~/.cache/guildcast/venv
#   GUILDCAST_VENV=/path test/contract/python-env.sh
# The test (test/contract/discordpy.int.test.ts) reads the same GUILDCAST_VENV and fails, naming
# this script, when the venv or discord.py is missing.
set -euo pipefail

DISCORD_PY_VERSION="2.7.1"
VENV="${GUILDCAST_VENV:-$HOME/.cache/guildcast/venv}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "creating $VENV with $($PYTHON --version 2>&1)"
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON" -m venv "$VENV"
fi

installed="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("discord.py"))' 2>/dev/null || true)"
if [ "$installed" != "$DISCORD_PY_VERSION" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "discord.py==$DISCORD_PY_VERSION"
fi
"$VENV/bin/python" -c 'import discord; print("discord.py", discord.__version__, "in '"$VENV"'")'
