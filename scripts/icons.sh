#!/usr/bin/env bash
# Regenerates every app icon Tauri needs from the one source, icons/icon.svg:
# 32x32.png, 128x128.png, 128x128@2x.png, icon.png (512), icon.ico (16–256).
# Needs rsvg-convert (Debian: librsvg2-bin) and ImageMagick's convert (for the .ico).
set -euo pipefail
cd "$(dirname "$0")/../icons"
need() { command -v "$1" >/dev/null || { echo "icons.sh: $1 missing ($2)" >&2; exit 1; }; }
need rsvg-convert "apt-get install librsvg2-bin"
need convert "apt-get install imagemagick"
png() { rsvg-convert --width "$1" --height "$1" --keep-aspect-ratio icon.svg -o "$2"; }
png 32 32x32.png
png 128 128x128.png
png 256 128x128@2x.png
png 512 icon.png
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for s in 16 24 32 48 64 128 256; do png "$s" "$tmp/$s.png"; done
convert "$tmp"/16.png "$tmp"/24.png "$tmp"/32.png "$tmp"/48.png "$tmp"/64.png \
  "$tmp"/128.png "$tmp"/256.png icon.ico
echo "icons: $(ls | tr '\n' ' ')"
