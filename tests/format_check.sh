#!/bin/bash
# Every C++ file the repository tracks is formatted with the repository's .clang-format.
set -euo pipefail
cd "$1"
files=$(git ls-files '*.h' '*.cc')
clang-format --dry-run --Werror $files
echo "$(wc -w <<<"$files") files formatted"
