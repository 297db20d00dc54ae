#!/usr/bin/env bash
# Builds the Debian package with dpkg-buildpackage and debhelper (debian/), from a copy of this
# tree, and prints the .deb's path on its last line:
#   bash scripts/package-deb.sh            # build-deb/tocsin_<version>_<arch>.deb
#   bash scripts/package-deb.sh OUTDIR
#   dpkg -i build-deb/tocsin_*.deb         # then: systemctl status tocsin
#
# The copy (OUTDIR/tocsin-<version>/: git's tracked and untracked-but-not-ignored files, with
# their times) and its CMake build directory are kept between runs, so a second run compiles
# only what changed and a run with nothing changed only packs. The copy has no .git: the git
# revision and branch are written into it (.tocsin-gitinfo) for `tocsin --version`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash scripts/setup.sh

out=${1:-$root/build-deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)
log=$out/build.log

version=$(dpkg-parsechangelog -l debian/changelog -S Version)
cmake_version=$(sed -n 's/^project(tocsin VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
if [ "$version" != "$cmake_version" ]; then
  echo "package-deb: debian/changelog is at $version but CMakeLists.txt at $cmake_version" >&2
  exit 1
fi
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=$out/tocsin_${version}_${arch}.deb

# One build at a time per output directory (ctest runs of several builds may share it).
exec 9>"$out/.lock"
flock 9

src=$out/tocsin-$version
mkdir -p "$src"
list=$out/files.list
revision=unknown branch=unknown
if [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$root" ]; then
  git ls-files -z --cached --others --exclude-standard >"$list.all"
  revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
  branch=$(git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
else
  # Not a git checkout (an unpacked archive): everything but build output.
  find . \( -path './build*' -o -path './.git' -o -path './obj-*' -o -path './data' \) -prune \
    -o -type f -printf '%P\0' >"$list.all"
fi
# Files the index lists but the work tree has deleted are left out.
: >"$list"
while IFS= read -r -d '' f; do
  [ -f "$f" ] && printf '%s\0' "$f" >>"$list"
done <"$list.all"
rm -f "$list.all"

# Remove from the copy what the tree no longer has (so a deleted source is not compiled), but
# keep the build: the CMake directory and debhelper's work files.
tr '\0' '\n' <"$list" | sort >"$list.sorted"
(cd "$src" && find . \( -path './obj-*' -o -path './debian/tocsin' -o -path './debian/tmp' \
  -o -path './debian/.debhelper' \) -prune -o -type f -printf '%P\n' | sort) |
  comm -23 - "$list.sorted" | while IFS= read -r f; do
    case $f in
    .tocsin-gitinfo | debian/files | debian/*.substvars | debian/*.debhelper.log | \
      debian/debhelper-build-stamp) ;;
    *) rm -f "$src/$f" ;;
    esac
  done
rm -f "$list.sorted"
# tar keeps the times, so files that did not change are not rebuilt.
tar -C "$root" --null -T "$list" -cf - | tar -C "$src" -xf -
rm -f "$list"
printf 'revision=%s\nbranch=%s\n' "$revision" "$branch" >"$src/.tocsin-gitinfo.new"
if cmp -s "$src/.tocsin-gitinfo.new" "$src/.tocsin-gitinfo"; then
  rm "$src/.tocsin-gitinfo.new"
else
  mv "$src/.tocsin-gitinfo.new" "$src/.tocsin-gitinfo"
fi

# debhelper's state from the last run goes (its stamps would skip steps); the build stays.
rm -rf "$src/debian/tocsin" "$src/debian/tmp" "$src/debian/.debhelper" "$src/debian/files" \
  "$src"/debian/*.substvars "$src"/debian/*.debhelper.log "$src/debian/debhelper-build-stamp"
rm -f "$deb" "$out"/tocsin-dbgsym_"${version}"_*.deb "$out"/tocsin_"${version}"_*.buildinfo \
  "$out"/tocsin_"${version}"_*.changes

echo "package-deb: building tocsin $version ($revision) in $src (log: $log)" >&2
start=$SECONDS
if ! (cd "$src" && DEB_BUILD_OPTIONS="parallel=${TN_DEB_JOBS:-2} ${DEB_BUILD_OPTIONS:-}" \
  dpkg-buildpackage -b -nc -uc -us) >"$log" 2>&1; then
  tail -40 "$log" >&2
  echo "package-deb: dpkg-buildpackage failed (log: $log)" >&2
  exit 1
fi
if [ ! -f "$deb" ]; then
  echo "package-deb: dpkg-buildpackage made no $deb (log: $log)" >&2
  exit 1
fi
echo "package-deb: built in $((SECONDS - start)) s" >&2
echo "$deb"
