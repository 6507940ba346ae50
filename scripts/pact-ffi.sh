#!/usr/bin/env bash
# Installs libpact_ffi, the native library of pact-go v2, into DEST (default
# .pact/lib) from the npm registry; never from GitHub.
#
# pact-go v2.4.2 links against libpact_ffi 0.4.x only: the npm package
# @pact-foundation/pact-core-linux-x64-glibc@18.1.0 ships 0.4.28 (arm64:
# 17.0.0). Versions 19 and 20 ship 0.5.x, which dropped
# pactffi_create_mock_server and pactffi_verify (link errors).
set -euo pipefail
DEST="${1:-.pact/lib}"
case "$(uname -m)" in
  x86_64|amd64) ARCH=x64; DEFAULT_VERSION=18.1.0; SHA256=b7cd02d81749ab11a8d388410a2c99d822620f525de9fdeaa32830b8cfe82025 ;;
  aarch64|arm64) ARCH=arm64; DEFAULT_VERSION=17.0.0; SHA256= ;;
  *) echo "pact-ffi: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
VERSION="${PACT_CORE_NPM_VERSION:-$DEFAULT_VERSION}"
[ "$VERSION" = "$DEFAULT_VERSION" ] || SHA256=
LIBC=glibc
if ldd --version 2>&1 | grep -qi musl; then LIBC=musl; SHA256=; fi
PKG="@pact-foundation/pact-core-linux-${ARCH}-${LIBC}@${VERSION}"
if [ -f "$DEST/libpact_ffi.so" ] && [ "$(cat "$DEST/.version" 2>/dev/null)" = "$PKG" ]; then
  echo "pact-ffi: $PKG already in $DEST"
  exit 0
fi
command -v npm >/dev/null || { echo "pact-ffi: npm is needed to fetch $PKG" >&2; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
# npm pack checks the registry's integrity hash; needs no package.json.
( cd "$TMP" && npm pack --silent "$PKG" >/dev/null )
if [ -n "$SHA256" ]; then
  echo "$SHA256  $(ls "$TMP"/*.tgz)" | sha256sum -c --quiet - || { echo "pact-ffi: $PKG checksum mismatch" >&2; exit 1; }
fi
tar -xzf "$TMP"/*.tgz -C "$TMP"
mkdir -p "$DEST"
cp "$TMP"/package/prebuilds/linux-*/libpact_ffi.so "$DEST/"
echo "$PKG" > "$DEST/.version"
echo "pact-ffi: installed $PKG into $DEST"
