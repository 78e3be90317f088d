#!/usr/bin/env bash
# Fuzzes the GGUF reader with libFuzzer + ASan + UBSan for ${GLOWQ_FUZZ_SECONDS:-60} s.
# Built straight with clang++ (no CMake) into build-fuzz/; the seed corpus is a set of
# small valid and broken GGUF files made here. Exits non-zero on a crash or sanitizer
# report (libFuzzer then leaves the input as build-fuzz/crash-*).
# Needs clang and libclang-rt-14-dev (Debian 12), which provides libFuzzer.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/build-fuzz
seconds=${GLOWQ_FUZZ_SECONDS:-60}
cxx=${CXX_FUZZ:-clang++}
mkdir -p "$out/corpus"

sources=(gguf_reader gguf_types dequant_legacy dequant_kquants model_config architecture)
objs=()
flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
       -fno-sanitize-recover=undefined -I"$root/loader/include" -I"$root/runtime/include"
       -I"$root/shaders/include")
for s in "${sources[@]}"; do
  src=$root/loader/src/$s.cpp obj=$out/$s.o
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$0" -nt "$obj" ]; then
    "$cxx" "${flags[@]}" -c "$src" -o "$obj" &
  fi
  objs+=("$obj")
  # two compiles at a time on a 2-core machine
  while [ "$(jobs -rp | wc -l)" -ge 2 ]; do sleep 0.2; done
done
wait
"$cxx" "${flags[@]}" -fsanitize=fuzzer "$root/tests/fuzz/fuzz_gguf_reader.cpp" "${objs[@]}" -o "$out/fuzz_gguf_reader"

# Seed corpus: valid files with every metadata type and several tensor types, and broken
# variants (truncated, bad counts) so the fuzzer starts near the interesting branches.
python3 - "$out/corpus" <<'PY'
import struct, sys, os
out = sys.argv[1]
def s(x): b = x.encode(); return struct.pack('<Q', len(b)) + b
def kv(key, t, payload): return s(key) + struct.pack('<I', t) + payload
def gguf(kvs, tensors, data, align=32, version=3):
    h = b'GGUF' + struct.pack('<IQQ', version, len(tensors), len(kvs)) + b''.join(kvs)
    for name, ne, t, off in tensors:
        h += s(name) + struct.pack('<I', len(ne)) + b''.join(struct.pack('<Q', d) for d in ne) + struct.pack('<IQ', t, off)
    h += b'\0' * (-len(h) % align)
    return h + data
kvs = [kv('general.architecture', 8, s('llama')), kv('llama.block_count', 4, struct.pack('<I', 1)),
       kv('u8', 0, b'\x07'), kv('i16', 3, struct.pack('<h', -3)), kv('f32', 6, struct.pack('<f', 1.5)),
       kv('b', 7, b'\x01'), kv('u64', 10, struct.pack('<Q', 9)), kv('f64', 12, struct.pack('<d', .5)),
       kv('arr', 9, struct.pack('<IQ', 8, 2) + s('a') + s('bc')),
       kv('nested', 9, struct.pack('<IQ', 9, 1) + struct.pack('<IQ', 5, 2) + struct.pack('<ii', 1, 2))]
q4 = struct.pack('<e', 0.5) + bytes(range(16))
f = {
  'valid': gguf(kvs, [('w', [32, 2], 0, 0), ('q', [32], 2, 256)], b'\1' * 256 + q4 + b'\0' * 14),
  'k_quants': gguf(kvs[:2], [('k%d' % t, [256], t, i * 256) for i, t in enumerate([10, 11, 12, 13, 14])], b'\x11' * 1280),
  'aligned64': gguf([kv('general.alignment', 4, struct.pack('<I', 64))], [('t', [4], 1, 0)], b'\0' * 64, align=64),
  'v2_empty': gguf([], [], b'', version=2),
  'bad_count': b'GGUF' + struct.pack('<IQQ', 3, 1 << 40, 1 << 40),
  'bad_magic': b'GGUX' + struct.pack('<IQQ', 3, 0, 0),
}
f['truncated'] = f['valid'][:len(f['valid']) // 2]
for name, data in f.items():
    open(os.path.join(out, name + '.gguf'), 'wb').write(data)
PY
fixtures=${GLOWQ_FIXTURES:-${GLOWQ_CACHE:-$HOME/.cache/glowq}/fixtures}
[ -f "$fixtures/aligned64.gguf" ] && cp "$fixtures/aligned64.gguf" "$out/corpus/pyfixture_aligned64.gguf"

cd "$out"
log=$out/fuzz.log
set +e
./fuzz_gguf_reader -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
  -print_final_stats=1 corpus >"$log" 2>&1
rc=$?
set -e
execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
tail -n 5 "$log"
echo "fuzz_loader: ${execs:-unknown} executions in ${seconds}s, exit code $rc (log: $log)"
exit $rc
