#!/usr/bin/env bash
# Build the HQC-256 WebAssembly modules from the sources beside this script with Debian's
# clang and wasm-ld: PQClean's HQC-256 (upstream/, unchanged) with our multiplication
# (src/gf2x.c) and the few C-library pieces it needs (src/libc.c, include/).
#
#   hqc-256.wasm        the engine pqpsk runs
#   hqc-256-trace.wasm  the same sources with clang's SanitizerCoverage callbacks
#                       (src/trace.c), for the constant-time test only
#
#   build.sh            rebuild both in place
#   build.sh --check    build to a temporary directory; fail unless both equal the committed ones
#
# Reproducible: no debug information, no paths or dates in the output, sources compiled
# and linked in a fixed order. The same clang version gives the same bytes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

CC="${CC:-clang}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
check=false
if [ "${1:-}" = "--check" ]; then
  check=true
  dest="$work/out"
  mkdir "$dest"
else
  dest="$here"
fi

sources=(
  upstream/hqc-256/code.c
  upstream/hqc-256/fft.c
  upstream/hqc-256/gf.c
  upstream/hqc-256/hqc.c
  upstream/hqc-256/kem.c
  upstream/hqc-256/parsing.c
  upstream/hqc-256/reed_muller.c
  upstream/hqc-256/reed_solomon.c
  upstream/hqc-256/shake_ds.c
  upstream/hqc-256/shake_prng.c
  src/vector.c
  upstream/common/fips202.c
  src/gf2x.c
  src/libc.c
)

exports=(
  PQCLEAN_HQC256_CLEAN_crypto_kem_keypair
  PQCLEAN_HQC256_CLEAN_crypto_kem_enc
  PQCLEAN_HQC256_CLEAN_crypto_kem_dec
  pqpsk_io
  pqpsk_io_size
  pqpsk_wipe
  __stack_pointer
)

cflags=(
  --target=wasm32 -O3 -std=c99 -ffreestanding -nostdlib
  -mbulk-memory -mmutable-globals -msimd128
  -Wall -Wextra -Wno-unused-parameter
  -Iinclude -Iupstream/common -Iupstream/hqc-256
)

# Memory: the stack first (so an overflow traps below address 0 instead of running into
# data), then static data and the I/O buffer; fixed size, never grown.
ldflags=(
  --target=wasm32 -nostdlib
  -Wl,--no-entry
  -Wl,--allow-undefined-file=imports.txt
  -Wl,--stack-first
  -Wl,-z,stack-size=262144
  -Wl,--initial-memory=393216
  -Wl,--max-memory=393216
  -Wl,--gc-sections
  -Wl,--strip-all
)

# build NAME EXTRA_CFLAGS EXTRA_SOURCE EXTRA_EXPORTS...
build() {
  local name="$1" extra="$2" extra_source="$3"
  shift 3
  local dir="$work/$name"
  mkdir -p "$dir"
  local objects=()
  local i=0
  for source in "${sources[@]}"; do
    # shellcheck disable=SC2086
    "$CC" "${cflags[@]}" $extra -c "$source" -o "$dir/$i.o"
    objects+=("$dir/$i.o")
    i=$((i + 1))
  done
  if [ -n "$extra_source" ]; then
    "$CC" "${cflags[@]}" -c "$extra_source" -o "$dir/$i.o"
    objects+=("$dir/$i.o")
  fi
  local link=("${ldflags[@]}")
  for symbol in "${exports[@]}" "$@"; do link+=("-Wl,--export=$symbol"); done
  "$CC" "${link[@]}" -o "$dest/$name" "${objects[@]}"
  chmod 644 "$dest/$name"
}

build hqc-256.wasm "${EXTRA_CFLAGS:-}" ""
build hqc-256-trace.wasm "${EXTRA_CFLAGS:-} -fsanitize-coverage=trace-pc-guard,trace-loads,trace-stores" src/trace.c \
  PQCLEAN_HQC256_CLEAN_vect_mul pqpsk_trace_reset pqpsk_trace_hash pqpsk_trace_blocks pqpsk_trace_accesses

if $check; then
  status=0
  for name in hqc-256.wasm hqc-256-trace.wasm; do
    if cmp -s "$dest/$name" "$here/$name"; then
      echo "wasm/hqc-256/$name is what its sources build"
    else
      echo "wasm/hqc-256/$name differs from what its sources build ($("$CC" --version | head -1)); run npm run build:wasm" >&2
      status=1
    fi
  done
  exit $status
fi
