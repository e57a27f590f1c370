#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in build/fuzz and fuzzes each one for the given
# number of seconds over a scratch copy of its seed corpus (fuzz/corpus/<target>/ is not modified).
# Fails if any target finds a crash, a leak, a timeout or a broken invariant; the reproducer is left
# in build/fuzz/findings/<target>/. New interesting inputs are kept in build/fuzz/work/<target>/
# (copy the small ones into fuzz/corpus/<target>/ by hand if they are worth keeping).
#
# Usage: scripts/fuzz.sh [seconds-per-target] [target...]
#   CWFILTER_FUZZ_BUILD_DIR=<dir>  build somewhere else than build/fuzz
set -euo pipefail

seconds=${1:-60}
shift || true
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CWFILTER_FUZZ_BUILD_DIR:-$root/build/fuzz}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(fuzz_compile fuzz_match fuzz_tokenizer fuzz_input fuzz_config); fi

# libFuzzer and the sanitizer runtimes are a separate Debian package.
if [ ! -f "$(clang++ -print-file-name=libclang_rt.fuzzer-x86_64.a)" ]; then
  echo "clang's libFuzzer runtime is missing: apt-get install -y libclang-rt-dev (Debian 12: libclang-rt-14-dev)" >&2
  exit 2
fi

# A tree already configured for fuzzing with clang (e.g. the asan-ubsan preset's, which CI reuses)
# is built as it is; otherwise a fuzz-only tree is configured.
if ! grep -qs '^CWFILTER_BUILD_FUZZ:BOOL=ON' "$build/CMakeCache.txt" ||
   ! grep -qs '^CMAKE_CXX_COMPILER:.*clang' "$build/CMakeCache.txt"; then
  cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DCWFILTER_BUILD_FUZZ=ON -DCWFILTER_BUILD_TESTS=OFF -DCWFILTER_BUILD_CLI=OFF >/dev/null
fi
cmake --build "$build" -j2 --target "${targets[@]}"

declare -A max_len=([fuzz_compile]=1200 [fuzz_match]=4096 [fuzz_tokenizer]=4096 [fuzz_input]=65536 [fuzz_config]=16384)
failed=()
for t in "${targets[@]}"; do
  work=$build/work/$t findings=$build/findings/$t
  rm -rf "$findings"
  mkdir -p "$work" "$findings"
  cp -n "$root/fuzz/corpus/$t/"* "$work/" 2>/dev/null || true
  dict=()
  case $t in
    fuzz_compile | fuzz_match) dict=(-dict="$root/fuzz/pattern.dict") ;;
    fuzz_config) dict=(-dict="$root/fuzz/config.dict") ;;
  esac
  echo "== $t: ${seconds}s"
  if ! "$build/fuzz/$t" "$work" "${dict[@]}" -max_total_time="$seconds" -max_len="${max_len[$t]:-4096}" \
      -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/" \
      2>"$build/$t.log"; then
    failed+=("$t")
  fi
  if compgen -G "$findings/*" >/dev/null; then
    failed+=("$t")
  fi
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|Done [0-9]+ runs" "$build/$t.log" || tail -n 5 "$build/$t.log"
done

if [ ${#failed[@]} -gt 0 ]; then
  printf 'FINDINGS in: %s (see %s/findings/ and %s/<target>.log)\n' "$(printf '%s ' "${failed[@]}" | xargs -n1 | sort -u | xargs)" "$build" "$build"
  exit 1
fi
echo "no findings"
