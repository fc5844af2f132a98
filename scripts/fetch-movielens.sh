#!/usr/bin/env bash
# Downloads a MovieLens archive from GroupLens, checks its checksum and unpacks it.
#
#   scripts/fetch-movielens.sh [options] NAME
#
# NAME is one of 100k, 1m, 10m, 20m, 25m, latest-small, latest (or ml-100k, ...).
# MovieLens data is licensed by GroupLens for research use; read its README before use, and never
# commit it to this repository.
set -euo pipefail

prog=$(basename "$0")

usage() {
    cat <<EOF
Usage: $prog [options] NAME

Downloads the MovieLens archive NAME (100k, 1m, 10m, 20m, 25m, latest-small, latest),
verifies its checksum and unpacks it into DEST/<archive folder>.

Options:
  --dest DIR        where to unpack (default: ../shared/data beside the repository,
                    where the examples and tests look, so 100k lands in ../shared/data/ml-100k)
  --base-url URL    where the archives are (default: \$BLOOM_MOVIELENS_BASE_URL, else
                    https://files.grouplens.org/datasets/movielens); file:// URLs work
  --sha256 HEX      the archive's expected SHA-256
  --md5 HEX         the archive's expected MD5 (what GroupLens publishes)
  --checksums FILE  a file of "HEX  ml-NAME.zip" lines (sha256sum's format) to take it from
  --no-verify       accept the archive without a checksum, the table's too (its SHA-256 is
                    printed, to pin)
  --force           download and unpack again even if the ratings file is already there
  --keep-archive    keep the .zip next to the unpacked folder
  -h, --help        this help

The checksum comes from --sha256, --md5, --checksums or else the script's own table of the MD5
sums GroupLens publishes for 100k, 1m, 10m, 20m and 25m (latest-small and latest change over
time, so they have none). Without one, and without --no-verify, the script refuses to download.

Exit status: 0 done, 1 usage error, 2 no checksum to verify against, 3 checksum mismatch,
4 download or unpack failure.
EOF
}

die() {  # status message...
    local status=$1
    shift
    echo "$prog: $*" >&2
    exit "$status"
}

# The MD5 sums GroupLens publishes next to its archives (the .zip.md5 files), by archive name.
# The ml-latest archives are rebuilt from time to time, so they have no fixed sum here.
declare -A KNOWN_MD5=(
    [ml-100k.zip]=0e33842e24a9c977be4e0107933c0723
    [ml-1m.zip]=c4d9eecfca2ab87c1945afe126590906
    [ml-10m.zip]=ce571fd55effeba0271552578f2648bd
    [ml-20m.zip]=cd245b17a1ae2cc31bb14903e1204af3
    [ml-25m.zip]=6b51fb2759a8657d3bfcbfc42b592ada
)

# ../shared/data beside the repository: where the examples, tests and scripts look for MovieLens.
beside_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dest=$beside_repo/shared/data
base_url=${BLOOM_MOVIELENS_BASE_URL:-https://files.grouplens.org/datasets/movielens}
sha256=
md5=
checksums=
verify=1
force=0
keep_archive=0
name=

while [ $# -gt 0 ]; do
    case "$1" in
        --dest) [ $# -ge 2 ] || die 1 "--dest needs a directory"; dest=$2; shift 2 ;;
        --dest=*) dest=${1#*=}; shift ;;
        --base-url) [ $# -ge 2 ] || die 1 "--base-url needs a URL"; base_url=$2; shift 2 ;;
        --base-url=*) base_url=${1#*=}; shift ;;
        --sha256) [ $# -ge 2 ] || die 1 "--sha256 needs a hex digest"; sha256=$2; shift 2 ;;
        --sha256=*) sha256=${1#*=}; shift ;;
        --md5) [ $# -ge 2 ] || die 1 "--md5 needs a hex digest"; md5=$2; shift 2 ;;
        --md5=*) md5=${1#*=}; shift ;;
        --checksums) [ $# -ge 2 ] || die 1 "--checksums needs a file"; checksums=$2; shift 2 ;;
        --checksums=*) checksums=${1#*=}; shift ;;
        --no-verify) verify=0; shift ;;
        --force) force=1; shift ;;
        --keep-archive) keep_archive=1; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) usage >&2; die 1 "unknown option: $1" ;;
        *) [ -z "$name" ] || die 1 "one archive name only (got '$name' and '$1')"; name=$1; shift ;;
    esac
done
[ -n "$name" ] || { usage >&2; die 1 "which archive? (100k, 1m, 10m, 20m, 25m, latest-small, latest)"; }

name=${name#ml-}
case "$name" in
    100k) folder=ml-100k; ratings=u.data ;;
    1m) folder=ml-1m; ratings=ratings.dat ;;
    10m) folder=ml-10M100K; ratings=ratings.dat ;;
    20m) folder=ml-20m; ratings=ratings.csv ;;
    25m) folder=ml-25m; ratings=ratings.csv ;;
    latest-small) folder=ml-latest-small; ratings=ratings.csv ;;
    latest) folder=ml-latest; ratings=ratings.csv ;;
    *) die 1 "unknown archive '$name' (100k, 1m, 10m, 20m, 25m, latest-small, latest)" ;;
esac
archive=ml-$name.zip
url=${base_url%/}/$archive

if [ -n "$sha256" ]; then
    sha256=$(printf '%s' "$sha256" | tr 'A-F' 'a-f')
    [[ $sha256 =~ ^[0-9a-f]{64}$ ]] || die 1 "--sha256 wants 64 hex digits, got '$sha256'"
fi
if [ -n "$md5" ]; then
    md5=$(printf '%s' "$md5" | tr 'A-F' 'a-f')
    [[ $md5 =~ ^[0-9a-f]{32}$ ]] || die 1 "--md5 wants 32 hex digits, got '$md5'"
fi
[ -z "$sha256" ] || [ -z "$md5" ] || die 1 "give --sha256 or --md5, not both"

if [ -f "$dest/$folder/$ratings" ] && [ "$force" -eq 0 ]; then
    echo "$prog: $dest/$folder/$ratings is already there (--force to fetch again)" >&2
    echo "$dest/$folder/$ratings"
    exit 0
fi

# --- the expected checksum, decided before anything is downloaded -------------------------------
if [ -z "$sha256" ] && [ -z "$md5" ] && [ -n "$checksums" ]; then
    [ -r "$checksums" ] || die 1 "cannot read $checksums"
    sha256=$(awk -v f="$archive" '{ n = $2; sub(/^\*/, "", n); if (n == f) { print $1; exit } }' \
             "$checksums")
    [ -n "$sha256" ] || die 2 "$checksums has no line for $archive"
fi
# --no-verify skips the table (an explicit --sha256, --md5 or --checksums is still checked).
if [ -z "$sha256" ] && [ -z "$md5" ] && [ "$verify" -eq 1 ] && [ -n "${KNOWN_MD5[$archive]:-}" ]; then
    md5=${KNOWN_MD5[$archive]}
fi
if [ -n "$sha256" ]; then
    sha256=$(printf '%s' "$sha256" | tr 'A-F' 'a-f')
    [[ $sha256 =~ ^[0-9a-f]{64}$ ]] || die 2 "the checksum for $archive is not 64 hex digits: '$sha256'"
elif [ -z "$md5" ] && [ "$verify" -eq 1 ]; then
    die 2 "no known checksum for $archive: pass --sha256 HEX, --md5 HEX (or --checksums FILE)" \
          "with a checksum you trust, or --no-verify to accept the download unchecked"
fi

# --- tools ---------------------------------------------------------------------------------------
sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | awk '{ print $1 }'
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | awk '{ print $1 }'
    elif command -v python3 >/dev/null 2>&1; then
        python3 -c 'import hashlib, sys
h = hashlib.sha256()
with open(sys.argv[1], "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
        h.update(block)
print(h.hexdigest())' "$1"
    else
        die 4 "need sha256sum, shasum or python3 to verify the archive"
    fi
}

md5_of() {
    if command -v md5sum >/dev/null 2>&1; then
        md5sum "$1" | awk '{ print $1 }'
    elif command -v md5 >/dev/null 2>&1; then
        md5 -q "$1"
    elif command -v python3 >/dev/null 2>&1; then
        python3 -c 'import hashlib, sys
h = hashlib.md5()
with open(sys.argv[1], "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
        h.update(block)
print(h.hexdigest())' "$1"
    else
        die 4 "need md5sum, md5 or python3 to verify the archive"
    fi
}

zip_list() {
    if command -v unzip >/dev/null 2>&1; then
        unzip -Z1 "$1"
    elif command -v python3 >/dev/null 2>&1; then
        python3 -c 'import sys, zipfile
for n in zipfile.ZipFile(sys.argv[1]).namelist():
    print(n)' "$1"
    else
        die 4 "need unzip or python3 to unpack the archive"
    fi
}

zip_extract() {  # archive dir
    if command -v unzip >/dev/null 2>&1; then
        unzip -q "$1" -d "$2"
    else
        python3 -c 'import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"
    fi
}

download() {  # url file
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --retry 3 -o "$2" "$1"
    elif [[ $1 == file://* ]]; then
        cp -- "${1#file://}" "$2"
    elif command -v wget >/dev/null 2>&1; then
        wget -q --tries=3 -O "$2" "$1"
    else
        die 4 "need curl or wget to download $1"
    fi
}

# --- fetch, verify, unpack -----------------------------------------------------------------------
mkdir -p "$dest"
work=$(mktemp -d "$dest/.fetch-$folder.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "$prog: downloading $url" >&2
download "$url" "$work/$archive" || die 4 "download of $url failed"

actual=$(sha256_of "$work/$archive")
if [ -n "$sha256" ]; then
    if [ "$actual" != "$sha256" ]; then
        die 3 "checksum mismatch for $archive: expected sha256 $sha256, got $actual (archive discarded)"
    fi
    echo "$prog: sha256 $actual verified" >&2
elif [ -n "$md5" ]; then
    actual_md5=$(md5_of "$work/$archive")
    if [ "$actual_md5" != "$md5" ]; then
        die 3 "checksum mismatch for $archive: expected md5 $md5, got $actual_md5 (archive discarded)"
    fi
    echo "$prog: md5 $actual_md5 verified (sha256 $actual)" >&2
else
    echo "$prog: WARNING: $archive NOT verified (--no-verify); its sha256 is $actual" >&2
fi

entries=$(zip_list "$work/$archive") || die 4 "$archive is not a readable zip archive"
while IFS= read -r entry; do
    case "/$entry/" in
        //*|*/../*) die 4 "$archive has an unsafe path: $entry" ;;
    esac
    case "$entry" in
        "$folder"/*) ;;
        *) die 4 "$archive has $entry outside its folder $folder/" ;;
    esac
done <<<"$entries"
grep -qx "$folder/$ratings" <<<"$entries" || die 4 "$archive has no $folder/$ratings"

mkdir "$work/unpacked"
zip_extract "$work/$archive" "$work/unpacked" || die 4 "unpacking $archive failed"
[ -f "$work/unpacked/$folder/$ratings" ] || die 4 "unpacking $archive gave no $folder/$ratings"

rm -rf "${dest:?}/$folder"
mv "$work/unpacked/$folder" "$dest/$folder"
if [ "$keep_archive" -eq 1 ]; then
    mv "$work/$archive" "$dest/$archive"
fi
echo "$prog: unpacked $dest/$folder" >&2
echo "$dest/$folder/$ratings"
