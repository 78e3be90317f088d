#!/usr/bin/env bash
# Side-by-side of glowq and llama.cpp's Vulkan backend on one Vulkan device, same model file.
#   1. builds llama.cpp with -DGGML_VULKAN=ON into the cache (scripts/build_llama_cpp_vulkan.sh);
#   2. converts the model (default SmolLM2-135M-Instruct Q4_1, scripts/fetch_model.sh) to Q4_0
#      with llama-quantize --allow-requantize; both runtimes run that exact file;
#      and (BENCH_OWN=1) to glowq's own int4 layout at the same bits per weight as Q4_0
#      (`glowq quantize --method rtn --group-size 64`: 4-bit codes + fp16 scale and offset per 64);
#   3. runs `llama-bench -ngl 99 -o json` and `glowq bench model --json` alternately, K rounds
#      (the order flips every round), and checks that llama-bench ran on the Vulkan device;
#   4. writes a Markdown table (tokens/s of both, ratio glowq / llama.cpp, bits per weight of
#      each format, device, driver, commands) to docs/bench/<device>.md, raw JSON beside
#      it in the cache, and prints the path.
# Environment:
#   GLOWQ_DEVICE            glowq's device (index or name substring; default: the first GPU, else
#                           the first device); GGML_VK_VISIBLE_DEVICES defaults to the same index
#                           (llama.cpp skips CPU-type devices such as lavapipe unless it is set)
#   BENCH_PP, BENCH_TG      prompt / generation lengths (default 512 / 128)
#   BENCH_REPS              repetitions per run, R (default 1; both tools do one warm-up first)
#   BENCH_ROUNDS            alternating rounds, K (default 2)
#   BENCH_OWN               1 (default): also bench glowq's own int4 g64 file; 0: skip
#   BENCH_MODEL             source GGUF (default: scripts/fetch_model.sh)
#   BENCH_SHAPE             instead of BENCH_MODEL: a synthetic Q4_0 model of that shape written by
#                           `glowq synth` (random weights; no download, no llama-quantize)
#   LLAMA_BIN               a folder holding a built llama-bench (and llama-quantize unless
#                           BENCH_SHAPE is set); default: scripts/build_llama_cpp_vulkan.sh
#   BENCH_OUT               Markdown output (default docs/bench/<device-slug>.md)
#   BENCH_GLOWQ_ARGS        more options for glowq bench model (e.g. "--chunk 512")
#   GLOWQ_CACHE, GLOWQ_BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${GLOWQ_CACHE:-$HOME/.cache/glowq}
glowq=${GLOWQ_BUILD_DIR:-$root/build}/glowq
pp=${BENCH_PP:-512}
tg=${BENCH_TG:-128}
reps=${BENCH_REPS:-1}
rounds=${BENCH_ROUNDS:-2}
own=${BENCH_OWN:-1}
t_start=$(date +%s)

[ -x "$glowq" ] || { echo "bench_vs_llamacpp: $glowq not built (scripts/setup.sh)" >&2; exit 1; }
bin=${LLAMA_BIN:-$("$root/scripts/build_llama_cpp_vulkan.sh")}
mkdir -p "$cache/models"
if [ -n "${BENCH_SHAPE:-}" ]; then
  base=synthetic-$BENCH_SHAPE
  src=$cache/models/$base.Q4_0.gguf
  q40=$src
  quant_q40=("$glowq" synth --shape "$BENCH_SHAPE" -o "$q40")
  [ -s "$q40" ] || "${quant_q40[@]}" > /dev/null
else
  src=${BENCH_MODEL:-$("$root/scripts/fetch_model.sh")}
  base=$(basename "$src" .gguf)
  base=${base%.Q4_1}; base=${base%.Q4_0}
  q40=$cache/models/$base.Q4_0.gguf
  quant_q40=("$bin/llama-quantize" --allow-requantize "$src" "$q40" Q4_0)
fi
ownf=$cache/models/$base.glowq-int4-g64.gguf

if [ ! -s "$q40" ]; then
  echo "bench_vs_llamacpp: ${quant_q40[*]}" >&2
  "${quant_q40[@]}" > "$cache/models/$base.Q4_0.quantize.log" 2>&1 ||
    { tail -20 "$cache/models/$base.Q4_0.quantize.log" >&2; exit 1; }
fi
quant_own=("$glowq" quantize -m "$src" -o "$ownf" --method rtn --group-size 64 --quiet)
if [ "$own" = 1 ] && [ ! -s "$ownf" ]; then
  echo "bench_vs_llamacpp: ${quant_own[*]}" >&2
  "${quant_own[@]}" >&2
fi

# The device (scripts/pick_device.sh); its index goes to both tools.
dev=$("$root/scripts/pick_device.sh" "$glowq")
read -r dev_index dev_slug _ <<< "$dev"
export GGML_VK_VISIBLE_DEVICES=${GGML_VK_VISIBLE_DEVICES:-$dev_index}
out=${BENCH_OUT:-$root/docs/bench/$dev_slug.md}
runs=$cache/bench-vs-llamacpp/$dev_slug-$(date -u +%Y%m%dT%H%M%S)
mkdir -p "$runs" "$(dirname "$out")"
"$glowq" info "$q40" --json > "$runs/info-q4_0.json"
"$glowq" info "$src" --json > "$runs/info-src.json"
[ "$own" = 1 ] && "$glowq" info "$ownf" --json > "$runs/info-own.json"

llama_cmd=("$bin/llama-bench" -m "$q40" -p "$pp" -n "$tg" -ngl 99 -r "$reps" -o json)
glowq_cmd=("$glowq" bench model -m "$q40" --device "$dev_index" --pp "$pp" --tg "$tg" --reps "$reps"
           --prompt 1 --decode 2 --quiet ${BENCH_GLOWQ_ARGS:-})
own_cmd=("$glowq" bench model -m "$ownf" --device "$dev_index" --pp "$pp" --tg "$tg" --reps "$reps"
         --prompt 1 --decode 2 --quiet ${BENCH_GLOWQ_ARGS:-})
run_llama() {
  echo "bench_vs_llamacpp: round $1: llama-bench" >&2
  "${llama_cmd[@]}" > "$runs/llama-$1.json" 2> "$runs/llama-$1.err" ||
    { tail -20 "$runs/llama-$1.err" >&2; exit 1; }
}
run_glowq() {
  echo "bench_vs_llamacpp: round $1: glowq bench model (Q4_0 file)" >&2
  "${glowq_cmd[@]}" --json "$runs/glowq-$1.json" > "$runs/glowq-$1.txt"
  if [ "$own" = 1 ]; then
    echo "bench_vs_llamacpp: round $1: glowq bench model (glowq int4 g64 file)" >&2
    "${own_cmd[@]}" --json "$runs/own-$1.json" > "$runs/own-$1.txt"
  fi
}
for k in $(seq 1 "$rounds"); do
  if [ $((k % 2)) = 1 ]; then run_llama "$k"; run_glowq "$k"; else run_glowq "$k"; run_llama "$k"; fi
done
elapsed=$(( $(date +%s) - t_start ))

cmdline="scripts/bench_vs_llamacpp.sh"
for v in GLOWQ_DEVICE BENCH_PP BENCH_TG BENCH_REPS BENCH_ROUNDS BENCH_OWN BENCH_MODEL BENCH_SHAPE BENCH_GLOWQ_ARGS; do
  [ -n "${!v:-}" ] && cmdline="$v=\"${!v}\" $cmdline"
done
RUNS=$runs ROUNDS=$rounds OWN=$own PP=$pp TG=$tg REPS=$reps ELAPSED=$elapsed CMDLINE=$cmdline \
SRC=$src Q40=$q40 OWNF=$ownf CACHE=$cache SHAPE=${BENCH_SHAPE:-} \
LLAMA_CMD="${llama_cmd[*]}" GLOWQ_CMD="${glowq_cmd[*]} --json F" OWN_CMD="${own_cmd[*]} --json F" \
QUANT_Q40="${quant_q40[*]}" QUANT_OWN="${quant_own[*]}" VKDEV=$GGML_VK_VISIBLE_DEVICES \
python3 - > "$out" <<'EOF'
import json, os, statistics, datetime
E = os.environ
runs, K = E['RUNS'], int(E['ROUNDS'])
home = os.path.expanduser('~')
def short(s):  # paths relative to the cache / repo, for the record
    return s.replace(E['CACHE'], '$GLOWQ_CACHE').replace(os.getcwd() + '/', '').replace(home, '~')

def bpw(info):
    """bits per weight: all tensor bytes * 8 / weights, and the same for the blk.* matrices only.
    glowq's own layout stores a matrix as NAME.q4 (8 codes per int32) + NAME.scale/.offset (fp16)."""
    tot_b = tot_w = lin_b = lin_w = 0
    for t in info['tensors']:
        n, b = t['name'], t['bytes']
        numel = 1
        for s in t['shape']: numel *= s
        w = 0 if n.endswith(('.scale', '.offset')) else numel * (8 if n.endswith('.q4') else 1)
        tot_b += b; tot_w += w
        if n.startswith('blk.') and (len(t['shape']) == 2 or n.endswith(('.scale', '.offset'))):
            lin_b += b; lin_w += w
    return tot_b * 8 / tot_w, lin_b * 8 / lin_w, tot_w, tot_b

def types(info):
    out = {}
    for t in info['tensors']:
        if t['name'].startswith('blk.') and len(t['shape']) == 2 and not t['name'].endswith(('.scale', '.offset')):
            ty = 'glowq int4 (codes + fp16 scale/offset)' if t['name'].endswith('.q4') else t['type']
            out[ty] = out.get(ty, 0) + 1
    emb = [t['type'] for t in info['tensors'] if t['name'] == 'token_embd.weight']
    return ', '.join(f'{k} x{v}' for k, v in sorted(out.items())), (emb[0] if emb else '?')

info_q40 = json.load(open(f'{runs}/info-q4_0.json'))
info_src = json.load(open(f'{runs}/info-src.json'))
own = E['OWN'] == '1'
info_own = json.load(open(f'{runs}/info-own.json')) if own else None

pp, tg = int(E['PP']), int(E['TG'])
lb = {'pp': [], 'tg': []}
backends, gpu_info, lb_meta = set(), set(), {}
for k in range(1, K + 1):
    for t in json.load(open(f'{runs}/llama-{k}.json')):
        key = 'pp' if t['n_prompt'] > 0 and t['n_gen'] == 0 else 'tg'
        lb[key].append(statistics.median(t['samples_ts']))
        backends.add(t.get('backends', '')); gpu_info.add(t.get('gpu_info', ''))
        lb_meta = t
def glowq_runs(prefix):
    r = {'pp': [], 'tg': [], 'weight_bytes': None, 'device': None}
    for k in range(1, K + 1):
        j = json.load(open(f'{runs}/{prefix}-{k}.json'))
        r['pp'].append(j['pp_tps']['median']); r['tg'].append(j['tg_tps']['median'])
        r['weight_bytes'] = j['weight_bytes']; r['device'] = j['device']
    return r
gq = glowq_runs('glowq')
go = glowq_runs('own') if own else None
dev = gq['device']

vulkan_ok = all('Vulkan' in b for b in backends) and any(dev['name'] in g for g in gpu_info)
med = statistics.median
def cell(v): return f'{med(v):.2f} ({min(v):.2f}-{max(v):.2f})' if v else 'n/a'
def ratio(a, b): return f'{med(a) / med(b):.2f}x' if a and b else 'n/a'

b40_all, b40_lin, n_w, _ = bpw(info_q40)
bsrc_all, bsrc_lin, _, _ = bpw(info_src)
lin_w = bpw(info_q40)[2]
# glowq's bytes on the device for the Q4_0 file: it re-packs Q4_0 blocks into its int4 layout
gq_dev_bpw = gq['weight_bytes'] * 8 / n_w
lines = []
P = lines.append
P(f"# glowq vs llama.cpp (Vulkan): {dev['name']}")
P('')
P(f"Produced by `{E['CMDLINE']}` on {datetime.date.today().isoformat()} "
  f"({int(E['ELAPSED']) // 60} min for the benchmark runs, after the llama.cpp build and the conversions).")
P('')
P(f"- device: {dev['name']} ({dev['type']}), Vulkan {dev['api_version']}, driver {dev['driver_name']} {dev['driver_info']}; "
  f"llama.cpp on `GGML_VK_VISIBLE_DEVICES={E['VKDEV']}`, glowq on `--device {E['VKDEV']}`")
P(f"- llama.cpp: llama-cpp-python 0.3.36's vendored llama.cpp, `-DGGML_VULKAN=ON`, Release "
  f"(scripts/build_llama_cpp_vulkan.sh, docs/llamacpp-vulkan-build.md); llama-bench reported "
  f"backends `{', '.join(sorted(backends))}`, gpu_info `{', '.join(sorted(gpu_info))}`, "
  f"n_gpu_layers {lb_meta.get('n_gpu_layers')}, n_threads {lb_meta.get('n_threads')}, "
  f"n_batch {lb_meta.get('n_batch')}, n_ubatch {lb_meta.get('n_ubatch')}, flash_attn {lb_meta.get('flash_attn')}"
  + ('' if vulkan_ok else ' -- WARNING: not confirmed to run on the Vulkan device'))
if E.get('SHAPE'):
    P(f"- model: a synthetic {E['SHAPE']} ({info_src['parameters'] / 1e6:.1f} M parameters, random weights) "
      f"written as Q4_0 by `{short(E['QUANT_Q40'])}`; speed does not depend on the values")
else:
    P(f"- model: {info_src.get('name')} ({info_src['parameters'] / 1e6:.1f} M parameters), "
      f"converted from `{short(E['SRC'])}`")
P(f"- {K} rounds, alternating (llama-bench first in odd rounds, glowq first in even ones); "
  f"each run: one warm-up, then {E['REPS']} repetition(s). Cells: median over rounds of each "
  f"run's median tokens/s, (min-max over rounds).")
P('')
P(f"| test | llama.cpp Vulkan, Q4_0 file (tok/s) | glowq, same Q4_0 file (tok/s) | glowq / llama.cpp |"
  + (" glowq, own int4 g64 file (tok/s) | own / llama.cpp |" if own else ''))
P('|---|---:|---:|---:|' + ('---:|---:|' if own else ''))
for key, n in (('pp', pp), ('tg', tg)):
    row = f"| {key}{n} | {cell(lb[key])} | {cell(gq[key])} | {ratio(gq[key], lb[key])} |"
    if own: row += f" {cell(go[key])} | {ratio(go[key], lb[key])} |"
    P(row)
P('')
P('Bits per weight (tensor bytes x 8 / weights; "matrices" = the blk.* linear weights only):')
P('')
P('| file | matrices | token_embd (tied output) | bpw, matrices | bpw, whole file | tensor MiB |')
P('|---|---|---|---:|---:|---:|')
for label, inf in ((f'source `{os.path.basename(E["SRC"])}`', info_src), ('Q4_0 (both runtimes)', info_q40)) + \
        ((('glowq own int4 g64', info_own),) if own else ()):
    a, l, w, b = bpw(inf)
    ty, emb = types(inf)
    P(f'| {label} | {ty} | {emb} | {l:.3f} | {a:.3f} | {b / 1048576:.1f} |')
P('')
embd_mib = info_q40['n_vocab'] * info_q40['n_embd'] * 2 / 1048576
emb_type = types(info_q40)[1]
embd_note = (f"the tied token_embd/output matrix ({info_q40['n_vocab']} x {info_q40['n_embd']}, {emb_type} in the file) "
             f"is expanded to fp16 ({embd_mib:.1f} MiB). ") if emb_type not in ('q4_0', 'q4_1', 'Q4_0', 'Q4_1') else ""
P(f"glowq loads the Q4_0 file without re-quantizing: each 32-weight block's fp16 scale d becomes "
  f"a scale d and offset -8d in its int4 layout (fp16 scale + fp16 offset per group), so the exact same "
  f"weights run, at 5.0 bits per matrix weight on the device instead of the file's 4.5; " + embd_note +
  f"glowq's weights on the device: {gq['weight_bytes'] / 1048576:.1f} MiB "
  f"for this file. "
  + (f"glowq's own layout at Q4_0's 4.5 bits per matrix weight is group 64 (fp16 scale + offset per 64 "
     f"weights), re-quantized (RTN, no correction) from the source file, so its weights differ slightly "
     f"from the Q4_0 file's; {go['weight_bytes'] / 1048576:.1f} MiB on the device." if own else
     "glowq's own int4 layout at Q4_0's 4.5 bpw would be group 64 (fp16 scale + offset per 64); not run."))
P('')
P('Per round (tokens/s):')
P('')
P('| round | llama.cpp pp | glowq pp | llama.cpp tg | glowq tg |' + (' own pp | own tg |' if own else ''))
P('|---:|---:|---:|---:|---:|' + ('---:|---:|' if own else ''))
for i in range(K):
    row = f"| {i + 1} | {lb['pp'][i]:.2f} | {gq['pp'][i]:.2f} | {lb['tg'][i]:.2f} | {gq['tg'][i]:.2f} |"
    if own: row += f" {go['pp'][i]:.2f} | {go['tg'][i]:.2f} |"
    P(row)
P('')
P('Commands (paths shortened):')
P('')
P('```')
P(short(E['QUANT_Q40']))
if own: P(short(E['QUANT_OWN']))
P(f"GGML_VK_VISIBLE_DEVICES={E['VKDEV']} " + short(E['LLAMA_CMD']))
P(short(E['GLOWQ_CMD']))
if own: P(short(E['OWN_CMD']))
P('```')
P('')
P(f"Raw JSON and logs: `{short(runs)}/`.")
print('\n'.join(lines))
EOF
echo "$out"
