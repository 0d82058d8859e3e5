#!/usr/bin/env bash
# `npm run package`: builds dist/keepwatch_<version>_amd64.deb with dpkg-deb (root, after
# .ci/setup). Layout:
#   /usr/lib/keepwatch/bin/node              the pinned Node.js runtime (packaging/node-runtime.sh)
#   /usr/lib/keepwatch/dist/keepwatch.mjs    the bundle (npm run build) and its source map
#   /usr/lib/keepwatch/node_modules/         production modules (npm ci --omit=dev), native ones
#                                            built against that runtime's headers, pruned
#   /usr/lib/keepwatch/src/cli.mjs           the launcher `keepwatch lab` starts its routers with
#   /usr/lib/keepwatch/package.json          the version the bundle reports
#   /usr/sbin/keepwatch                      sh wrapper: the runtime on the bundle
#   /usr/lib/systemd/system/keepwatch.service  deploy/keepwatch.service, as it is in the tree
#   /etc/keepwatch/guard.conf.example, /etc/default/keepwatch   conffiles
#   /usr/share/keepwatch/{dashboards,alerts}, /usr/share/man/man8/keepwatch.8.gz, /usr/share/doc/keepwatch/
set -euo pipefail
cd "$(dirname "$0")/.."
umask 022
t0=$(date +%s)
say() { echo "package: [$(($(date +%s) - t0)) s] $*"; }
for tool in dpkg-deb go-md2man gzip npm; do
  command -v "$tool" >/dev/null || { echo "package: $tool is missing (bash .ci/setup installs it)" >&2; exit 1; }
done

version=$(node -p "require('./package.json').version")
maintainer=$(node -p "const a = require('./package.json').author; (typeof a === 'string' ? a : a && a.name ? a.name + (a.email ? ' <' + a.email + '>' : '') : '') || 'keepwatch maintainers <keepwatch@localhost>'")
runtime=$(bash packaging/node-runtime.sh)
node_version=$(bash packaging/node-runtime.sh --version)
unit=deploy/keepwatch.service
grep -q '^ExecStart=/usr/sbin/keepwatch\b' "$unit" || {
  echo "package: $unit must start /usr/sbin/keepwatch (the installed wrapper); its ExecStart is: $(grep '^ExecStart=' "$unit")" >&2
  exit 1
}

deb=dist/keepwatch_${version}_amd64.deb
root=dist/deb/keepwatch_${version}_amd64
rm -rf dist/deb "$deb"
mkdir -p "$root/DEBIAN"
lib=$root/usr/lib/keepwatch

say "bundle (npm run build)"
npm run --silent build
install -D -m 0644 dist/keepwatch.mjs "$lib/dist/keepwatch.mjs"
install -D -m 0644 dist/keepwatch.mjs.map "$lib/dist/keepwatch.mjs.map"
install -D -m 0644 src/cli.mjs "$lib/src/cli.mjs"
install -D -m 0755 "$runtime/bin/node" "$lib/bin/node"

say "production modules for Node $node_version (npm ci --omit=dev)"
cp package.json package-lock.json "$lib/"
# The runtime's headers (npm_config_nodedir) and the runtime itself first in PATH: node-gyp builds
# pcap, raw-socket and unix-dgram for exactly the node that ships, with nothing to download.
(cd "$lib" && PATH="$runtime/bin:$PATH" npm_config_nodedir="$runtime" npm ci --omit=dev --no-audit --no-fund --loglevel=error 2>&1 | { grep -v 'Unknown user config' || true; })
rm -f "$lib/package-lock.json"

say "pruning build leftovers"
nm=$lib/node_modules
# Native modules: keep only the built .node files of build/.
find "$nm" -type d -name build -path '*/node_modules/*' -prune | while read -r b; do
  [ -d "$b/Release" ] || continue
  find "$b" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
  find "$b/Release" -mindepth 1 ! -name '*.node' -exec rm -rf {} +
done
# Prebuilt binaries for other platforms (netlink ships arm, arm64, ia32 too).
find "$nm" -type d -name prebuilds -prune | while read -r p; do
  find "$p" -mindepth 1 -maxdepth 1 -type d ! -name linux-x64 -exec rm -rf {} +
done
# Nothing here runs: nan (C++ headers for the build), type declarations, the modules' source maps
# and documents (license files stay), the command links.
rm -rf "$nm/nan" "$nm/.bin" "$nm/@types" "$nm/undici-types"
find "$nm" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' -o -name '*.o' -o -name '*.a' \
  -o \( -iname '*.md' ! -iname 'licen[cs]e*' ! -iname 'copying*' \) \) -delete
find "$nm" -depth -type d -empty -delete
# Every dependency still loads on the shipped runtime, the native ones included, and the bundle runs.
(cd "$lib" && ./bin/node --input-type=module -e "
  import { readFileSync } from 'node:fs';
  import { createRequire } from 'node:module';
  const require = createRequire(process.cwd() + '/');
  for (const m of ['pcap', 'raw-socket', 'netlink', 'unix-dgram']) require(m);
  for (const m of Object.keys(JSON.parse(readFileSync('package.json', 'utf8')).dependencies)) await import(m);
" && ./bin/node dist/keepwatch.mjs --version >/dev/null) || { echo "package: the pruned modules do not load on Node $node_version" >&2; exit 1; }

say "wrapper, unit, configuration, data, man page, docs"
mkdir -p "$root/usr/sbin"
cat >"$root/usr/sbin/keepwatch" <<'WRAPPER'
#!/bin/sh
# keepwatch: the VRRP agent on the Node.js runtime it ships with. See keepwatch(8).
exec /usr/lib/keepwatch/bin/node /usr/lib/keepwatch/dist/keepwatch.mjs "$@"
WRAPPER
chmod 0755 "$root/usr/sbin/keepwatch"
install -D -m 0644 "$unit" "$root/usr/lib/systemd/system/keepwatch.service"
install -D -m 0644 packaging/guard.conf.example "$root/etc/keepwatch/guard.conf.example"
install -D -m 0644 packaging/debian/default "$root/etc/default/keepwatch"
mkdir -p "$root/usr/share/keepwatch"
cp -r dashboards alerts "$root/usr/share/keepwatch/"
man=$root/usr/share/man/man8
mkdir -p "$man"
sed -e "s/@VERSION@/$version/" -e "1s/\"\"/\"$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" '+%B %Y')\"/" packaging/keepwatch.8.md | go-md2man >"$man/keepwatch.8"
gzip -9n "$man/keepwatch.8"
doc=$root/usr/share/doc/keepwatch
mkdir -p "$doc"
# Uncompressed: the unit's Documentation= links file:///usr/share/doc/keepwatch/README.md.
install -m 0644 README.md "$doc/README.md"
gzip -9nc "$runtime/LICENSE" >"$doc/LICENSE.node.gz"
install -m 0644 packaging/debian/copyright "$doc/copyright"
# Uniform modes: directories 0755, files 0644 unless executable (0755).
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f -perm /111 -exec chmod 0755 {} +
find "$root" -type f ! -perm /111 -exec chmod 0644 {} +

say "control"
installed_kb=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@MAINTAINER@|$maintainer|" -e "s|@INSTALLED_SIZE@|$installed_kb|" -e "s|@NODE_VERSION@|$node_version|" \
  packaging/debian/control >"$root/DEBIAN/control"
printf '/etc/default/keepwatch\n/etc/keepwatch/guard.conf.example\n' >"$root/DEBIAN/conffiles"
for s in postinst prerm postrm; do install -m 0755 "packaging/debian/$s" "$root/DEBIAN/$s"; done
(cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums" "$root/DEBIAN/control" "$root/DEBIAN/conffiles"

say "dpkg-deb --build"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
rm -rf dist/deb
dpkg-deb --info "$deb"
echo
echo "Contents (dpkg-deb --contents, by directory):"
dpkg-deb --contents "$deb" | awk '{ sub(/^\.\//, "/", $6); print $3, $6 }' | awk '
  { n = split($2, p, "/"); key = (p[2] == "usr" && p[3] == "lib" && p[4] == "keepwatch") ? "/usr/lib/keepwatch/" p[5] : (p[2] == "usr" && p[3] == "share" && n > 5 ? "/usr/share/" p[4] "/" p[5] : $2);
    if ($2 ~ /\/$/) next; size[key] += $1; files[key]++ }
  END { for (k in size) printf "  %8.1f MB  %5d files  %s\n", size[k] / 1048576, files[k], k }' | sort -k5
echo
echo "package: $deb: $(du -h "$deb" | cut -f1) ($(stat -c %s "$deb") bytes; installed $((installed_kb / 1024)) MB), built in $(($(date +%s) - t0)) s"
