#!/bin/sh
# Installs walship from a release: picks the archive for this host (OS, architecture, libc), checks it
# against SHA256SUMS, and installs the executable (and, with --systemd, the unit and an example config).
#
#   sh install.sh --from DIR_OR_URL [--prefix /usr/local] [--systemd [--user NAME] [--db-dir DIR]
#                 [--enable]] [--root DIR] [--target NAME]
#
# Nothing is installed unless every check passed: the archive is unpacked in a temporary directory and
# each file is moved into place only at the end.
set -eu

usage() {
  cat <<'EOF'
usage: sh install.sh --from DIR_OR_URL [options]

  --from DIR|URL   a release directory or its URL, holding SHA256SUMS and the archives
                   (default: the directory of this script, when it holds SHA256SUMS)
  --prefix DIR     install the executable as DIR/bin/walship (default /usr/local)
  --systemd        also install the systemd unit (/etc/systemd/system/walship.service) and, if
                   there is none, an example /etc/walship.yml; nothing is enabled or started
  --user NAME      with --systemd: the application's user, whom walship runs as (User= and Group=)
  --db-dir DIR     with --systemd: the database's directory (ReadWritePaths=)
  --enable         with --systemd and --user: systemctl daemon-reload, then enable --now walship
  --root DIR       install under DIR instead of / (for images and tests; no --enable)
  --target NAME    this archive instead of the host's (linux-x64, linux-x64-musl, linux-arm64,
                   linux-arm64-musl, darwin-x64, darwin-arm64)
EOF
}

die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}

from=""
prefix=/usr/local
root=""
systemd=0
enable=0
user=""
db_dir=""
target=""
version=""
while [ $# -gt 0 ]; do
  case "$1" in
    --from | --prefix | --root | --user | --db-dir | --target)
      [ $# -ge 2 ] || die "$1 needs a value"
      case "$1" in
        --from) from=$2 ;;
        --prefix) prefix=$2 ;;
        --root) root=$2 ;;
        --user) user=$2 ;;
        --db-dir) db_dir=$2 ;;
        --target) target=$2 ;;
      esac
      shift 2
      ;;
    --systemd) systemd=1 && shift ;;
    --enable) enable=1 && shift ;;
    -h | --help) usage && exit 0 ;;
    *) die "unknown option $1 (sh install.sh --help lists them)" ;;
  esac
done

if [ -z "$from" ]; then
  here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
  [ -f "$here/SHA256SUMS" ] || die "no release given: use --from DIR or --from https://.../releases/vX.Y.Z/"
  from=$here
fi
case "$prefix" in /*) ;; *) die "--prefix must be an absolute path, not $prefix" ;; esac
if [ "$enable" = 1 ]; then
  [ "$systemd" = 1 ] || die "--enable needs --systemd"
  [ -n "$user" ] || die "--enable needs --user NAME: the unit's User=app is a placeholder for the application's user"
  [ -z "$root" ] || die "--enable cannot be used with --root"
fi
if [ "$systemd" = 0 ] && { [ -n "$user" ] || [ -n "$db_dir" ]; }; then
  die "--user and --db-dir need --systemd"
fi

# The archive for this host, named as in the release: OS, architecture, and -musl for musl's libc.
host_target() {
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) die "no walship archive for $(uname -s): there are archives for Linux and macOS, and a zip for Windows" ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "no walship archive for the $(uname -m) architecture: there are archives for x86_64 and arm64" ;;
  esac
  libc=""
  if [ "$os" = linux ]; then
    if ldd --version 2>&1 | grep -qi musl || ls /lib/ld-musl-* >/dev/null 2>&1; then libc=-musl; fi
  fi
  echo "$os-$arch$libc"
}

if [ -z "$target" ]; then
  target=$(host_target)
  on_host=1
else
  case "$target" in
    linux-x64 | linux-x64-musl | linux-arm64 | linux-arm64-musl | darwin-x64 | darwin-arm64) ;;
    *) die "unknown --target $target (linux-x64, linux-x64-musl, linux-arm64, linux-arm64-musl, darwin-x64, darwin-arm64)" ;;
  esac
  on_host=0
fi

# The musl executable links Alpine's libstdc++; without it the loader fails before walship can say why.
has_libstdcxx() {
  [ -e /usr/lib/libstdc++.so.6 ] && return 0
  ldconfig -p 2>/dev/null | grep -q 'libstdc++\.so\.6' && return 0
  apk info -e libstdc++ >/dev/null 2>&1 && return 0
  return 1
}
case "$target" in
  *-musl) has_libstdcxx || die "walship's musl build needs libstdc++, which is not installed: apk add libstdc++" ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/walship-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

fetch() { # URL FILE
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL -o "$2" "$1" || die "cannot download $1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1" || die "cannot download $1"
  else
    die "neither curl nor wget is installed to download $1"
  fi
}

case "$from" in
  http://* | https://*)
    base=${from%/}
    fetch "$base/SHA256SUMS" "$tmp/SHA256SUMS"
    ;;
  *)
    base=$from
    [ -d "$base" ] || die "no release directory $base"
    [ -f "$base/SHA256SUMS" ] || die "no SHA256SUMS in $base"
    cp "$base/SHA256SUMS" "$tmp/SHA256SUMS"
    ;;
esac

# SHA256SUMS names the archives, so it also gives the version: the line ending in -TARGET.tar.gz.
line=$(grep -E "^[0-9a-f]{64}  walship-[^ /]+-$target\\.tar\\.gz\$" "$tmp/SHA256SUMS" | head -n 1 || true)
[ -n "$line" ] || die "no walship archive for $target in $from (SHA256SUMS does not list one)"
expected=${line%% *}
archive=${line##* }

case "$from" in
  http://* | https://*) fetch "$base/$archive" "$tmp/$archive" ;;
  *)
    [ -f "$base/$archive" ] || die "$archive is listed in SHA256SUMS but missing from $base"
    cp "$base/$archive" "$tmp/$archive"
    ;;
esac

if command -v sha256sum >/dev/null 2>&1; then
  actual=$(sha256sum "$tmp/$archive")
elif command -v shasum >/dev/null 2>&1; then
  actual=$(shasum -a 256 "$tmp/$archive")
else
  die "neither sha256sum nor shasum is installed to check $archive"
fi
actual=${actual%% *}
[ "$actual" = "$expected" ] || die "$archive does not match SHA256SUMS (sha256 $actual, expected $expected): nothing installed"

mkdir "$tmp/x"
tar -xzf "$tmp/$archive" -C "$tmp/x" || die "cannot unpack $archive"
dir="$tmp/x/${archive%.tar.gz}"
[ -f "$dir/walship" ] || die "$archive holds no walship executable"
chmod 755 "$dir/walship"
if [ "$on_host" = 1 ]; then
  version=$("$dir/walship" version 2>&1) || die "the walship in $archive does not run on this host: $version"
fi

# Moves SRC to DEST with MODE, through a temporary name beside DEST so it appears whole or not at all.
place() { # SRC DEST MODE
  mkdir -p "$(dirname -- "$2")"
  cp "$1" "$2.tmp.$$"
  chmod "$3" "$2.tmp.$$"
  mv -f "$2.tmp.$$" "$2"
}

exe="$root$prefix/bin/walship"
place "$dir/walship" "$exe" 755
echo "installed $exe${version:+ ($version)}"

if [ "$systemd" = 1 ]; then
  group=""
  if [ -n "$user" ]; then
    id "$user" >/dev/null 2>&1 || die "no user $user on this host (the application's user, whom walship runs as)"
    group=$(id -gn "$user")
  fi
  # The shipped unit, with this install's executable and, when given, the user and the database's directory.
  sed -e "s#^ExecStart=/usr/local/bin/walship #ExecStart=$prefix/bin/walship #" \
    ${user:+-e "s#^User=.*#User=$user#" -e "s#^Group=.*#Group=$group#"} \
    ${db_dir:+-e "s#^ReadWritePaths=.*#ReadWritePaths=$db_dir#"} \
    "$dir/etc/walship.service" >"$tmp/walship.service"
  unit="$root/etc/systemd/system/walship.service"
  place "$tmp/walship.service" "$unit" 644
  echo "installed $unit"
  config="$root/etc/walship.yml"
  if [ -e "$config" ]; then
    echo "kept $config"
  else
    place "$dir/etc/walship.yml" "$config" 640
    [ -z "$group" ] || chgrp "$group" "$config"
    echo "installed $config (an example: edit its databases and replicas)"
  fi
  if [ "$enable" = 1 ]; then
    systemctl daemon-reload
    systemctl enable --now walship
    echo "walship enabled and started: systemctl status walship; journalctl -u walship"
  else
    echo "next:"
    [ -n "$user" ] || echo "  edit $unit: User=, Group= (the application's) and ReadWritePaths= (lines marked CHANGE)"
    [ -z "$user" ] || [ -n "$db_dir" ] || echo "  edit $unit: ReadWritePaths= (the database's directory)"
    [ -n "$group" ] || echo "  chgrp APP_GROUP $config  (walship runs as the application's user and reads it)"
    echo "  edit $config"
    echo "  systemctl daemon-reload && systemctl enable --now walship"
  fi
fi
