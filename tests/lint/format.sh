#!/usr/bin/env bash
# lint_format: every .c and .h of the C folders is as the repository's .clang-format lays it out
# (clang-format --dry-run -Werror). usage: format.sh SOURCE_DIR [CLANG_FORMAT]
set -euo pipefail
src=${1:?usage: format.sh SOURCE_DIR [CLANG_FORMAT]}
clang_format=${2:-clang-format}
folders=(keystore provider cli server tests fuzz bench)

if ! command -v "$clang_format" >/dev/null; then
    echo "lint_format: $clang_format not found: install the Debian package clang-format (scripts/setup.sh)"
    exit 1
fi
cd "$src"
for f in "${folders[@]}"; do
    [ -d "$f" ] || { echo "lint_format: $src/$f is not a folder"; exit 2; }
done

bad=()
count=0
while IFS= read -r -d '' file; do
    count=$((count + 1))
    if ! out=$("$clang_format" --dry-run -Werror "$file" 2>&1); then
        bad+=("$file")
        echo "$file is not clang-formatted:"
        printf '%s\n' "$out" | head -n 8 | sed 's/^/    /'
    fi
done < <(find "${folders[@]}" -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)

if [ ${#bad[@]} -gt 0 ]; then
    echo "lint_format: FAILED: ${#bad[@]} of $count files; fix with: clang-format -i ${bad[*]}"
    exit 1
fi
echo "lint_format: $count files formatted ($("$clang_format" --version))"
