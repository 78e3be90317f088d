#!/usr/bin/env python3
"""The device benchmark file of scripts/bench_device.sh: reads one run folder (info.json,
kernels.json, modes-SHAPE.json, sxs-NAME.md, builds.json, commands.txt) and writes the Markdown report,
a JSON summary beside it and, where matplotlib imports, a PNG plot."""
import argparse
import datetime
import glob
import json
import os
import re


def load(path):
    with open(path) as f:
        return json.load(f)


def cell(s, fmt='{:.2f}'):
    return (fmt + ' (' + fmt + '-' + fmt + ')').format(s['median'], s['min'], s['max'])


def sxs_rows(md):
    """(test, llama.cpp tok/s, glowq tok/s, ratio) rows of a bench_vs_llamacpp.sh table."""
    rows = []
    for line in md.splitlines():
        m = re.match(r'\| (pp\d+|tg\d+) \| ([\d.]+) \([^)]*\) \| ([\d.]+) \([^)]*\) \| ([\d.]+)x \|', line)
        if m:
            rows.append((m.group(1), float(m.group(2)), float(m.group(3)), float(m.group(4))))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--runs', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--cmdline', required=True)
    ap.add_argument('--elapsed', type=int, default=0)
    a = ap.parse_args()
    runs = a.runs
    kernels = load(f'{runs}/kernels.json')
    dev = kernels['device']
    modes = {os.path.basename(p)[6:-5]: load(p) for p in sorted(glob.glob(f'{runs}/modes-*.json'))}
    sxs = {os.path.basename(p)[4:-3]: open(p).read() for p in sorted(glob.glob(f'{runs}/sxs-*.md'))}
    builds = load(f'{runs}/builds.json') if os.path.exists(f'{runs}/builds.json') else None
    commands = open(f'{runs}/commands.txt').read().strip().splitlines()
    home = os.path.expanduser('~')

    L = []
    P = L.append
    P(f"# glowq benchmarks: {dev['name']}")
    P('')
    P(f"Produced by `{a.cmdline}` on {datetime.date.today().isoformat()} ({a.elapsed // 60} min).")
    P('')
    P(f"- device: {dev['name']} ({dev['type']}, vendor 0x{dev['vendor_id']:04x}), Vulkan {dev['api_version']}, "
      f"driver {dev['driver_name']} {dev['driver_info']}")
    P(f"- subgroup {dev['subgroup_size']} ({dev['subgroup_min_size']}..{dev['subgroup_max_size']}), arithmetic "
      f"{dev['subgroup_arithmetic']}, shuffle {dev['subgroup_shuffle']}; workgroup up to "
      f"{dev['max_workgroup_invocations']} invocations, {dev['max_shared_memory'] // 1024} KiB shared memory; "
      f"fp16 math {dev['shader_float16']}, int8 {dev['shader_int8']}, integer dot product "
      f"{dev['integer_dot_product']}; device-local heap {dev['heaps'][0]['size'] / 2**30:.0f} GiB")
    P(f"- copy bandwidth measured in the same run: **{kernels['copy']['gbps']:.1f} GB/s** (read + write of "
      f"{kernels['copy']['bytes'] >> 20} MiB)")
    P('')

    summary = {'device': dev, 'copy_gbps': kernels['copy']['gbps'], 'sxs': {}, 'modes': {}, 'gemv': []}
    if sxs:
        P('## Headline')
        P('')
        P('| model file (same file for both) | test | llama.cpp Vulkan tok/s | glowq tok/s | glowq / llama.cpp |')
        P('|---|---|---:|---:|---:|')
        for name, md in sxs.items():
            for test, lt, gt, r in sxs_rows(md):
                P(f'| {name} Q4_0 | {test} | {lt:.2f} | {gt:.2f} | **{r:.2f}x** |')
                summary['sxs'].setdefault(name, {})[test] = {'llama_cpp': lt, 'glowq': gt, 'ratio': r}
        P('')
    if builds:
        first = builds['builds'][0]
        P(f"## Before and after: {os.path.basename(builds['model'])} (`scripts/bench_builds.sh`)")
        P('')
        P(f"The builds run alternately on the same file, {builds['rounds']} rounds (the order flips every "
          f"round), each a `glowq bench model` of its own; the medians of those rounds, and each build's "
          f"over the first's two ways: the ratio of the medians, and the median over rounds of the ratio "
          f"within a round (runs next to each other share the machine's load of the moment).")
        P('')
        P('| build | decode tok/s | tg tok/s | pp tok/s | TTFB ms | decode / first: medians, paired | '
          'tg / first: medians, paired |')
        P('|---|---:|---:|---:|---:|---:|---:|')
        for b in builds['builds']:
            m, pr = b['median'], b['paired']
            P(f"| {b['label']} | {m['decode_tps']:.2f} | {m['tg_tps']:.2f} | {m['pp_tps']:.2f} | {m['ttfb_ms']:.1f} | "
              f"**{m['decode_tps'] / first['median']['decode_tps']:.2f}x**, {pr['decode_tps']:.2f}x | "
              f"**{m['tg_tps'] / first['median']['tg_tps']:.2f}x**, {pr['tg_tps']:.2f}x |")
        P('')
        P('tg tok/s of each round, in order: ' + '; '.join(
            f"{b['label']} " + ', '.join(f'{v:.2f}' for v in b['rounds']['tg_tps']) for b in builds['builds']) + '.')
        P('')
        summary['builds'] = [{'label': b['label'], **b['median'], 'paired': b['paired']} for b in builds['builds']]
    for shape, m in modes.items():
        base = m['runs'][0]
        for r in m['runs']:
            summary['modes'].setdefault(shape, []).append({
                'mode': r['mode'], 'label': r['label'], 'weight_bytes': r['weight_bytes'],
                'correction_bytes': r['correction_bytes'], 'decode_tps': r['decode_tps']['median'],
                'ttfb_ms': r['ttfb_ms']['median'], 'pp_tps': r['pp_tps']['median'], 'tg_tps': r['tg_tps']['median'],
                'extra_bytes': r['weight_bytes'] / base['weight_bytes'] - 1,
                'extra_time_per_token': base['decode_tps']['median'] / r['decode_tps']['median'] - 1})

    P('## int4 GEMV and GEMM (`glowq bench kernels`)')
    P('')
    rot = kernels.get('rotate_bytes', 0) >> 20
    P(f"Random int4 g{kernels['group_size']} matrices of the models' shapes; {kernels['reps']} repetitions after "
      f"{kernels['warmup']} warm-up, GPU timestamps. "
      + (f"Each repetition runs products over copies of the matrix totalling at least {rot} MiB back to back "
         f"(independent outputs, no barriers), so weights come from memory, not the cache. " if rot else
         "One product per repetition (a CPU driver: no GPU cache to defeat). ")
      + "GB/s counts the weight bytes (codes + scales) once per product; GFLOP/s is 2 K N tokens / time. "
      "A kernel name without `auto` is a variant timed for comparison, not the one models use.")
    P('')
    P('| model | matrix | K x N | kernel | tokens | median ms | GB/s | of copy | GFLOP/s |')
    P('|---|---|---|---|---:|---:|---:|---:|---:|')
    for r in kernels['results']:
        P(f"| {r['model']} | {r['matrix']} | {r['K']}x{r['N']} | {r['kernel']} | {r['tokens']} | {r['median_ms']:.4f} | "
          f"{r['gbps']:.1f} | {100 * r['of_copy']:.0f}% | {r['gflops']:.0f} |")
        if r['tokens'] == 1:
            summary['gemv'].append({k: r[k] for k in ('model', 'matrix', 'K', 'N', 'kernel', 'gbps', 'of_copy')})
    P('')

    for shape, m in modes.items():
        P(f"## Correction modes: synthetic {shape} (`glowq bench model --modes`)")
        P('')
        P(f"The same shape as `glowq quantize` would write it in each mode (int4 g128, fp16 factors of rank 64; "
          f"glowq-s keeps a random half of the units), random values, all loaded at once and measured in turn in "
          f"each of {m['reps']} repetitions after a warm-up. TTFB: {m['prompt']}-token prompt to the first token; "
          f"decode: {m['decode']} greedy tokens; median (min-max).")
        P('')
        P(f"| mode | weights MiB | corrections MiB | TTFB ms | decode tok/s | pp{m['pp']} tok/s | tg{m['tg']} tok/s | "
          f"extra bytes | extra time per token |")
        P('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
        base = m['runs'][0]
        for r in m['runs']:
            eb = 100 * (r['weight_bytes'] / base['weight_bytes'] - 1)
            et = 100 * (base['decode_tps']['median'] / r['decode_tps']['median'] - 1)
            P(f"| {r['label']} | {r['weight_bytes'] / 2**20:.1f} | {r['correction_bytes'] / 2**20:.2f} | "
              f"{cell(r['ttfb_ms'], '{:.1f}')} | {cell(r['decode_tps'])} | {cell(r['pp_tps'], '{:.1f}')} | "
              f"{cell(r['tg_tps'])} | {eb:+.1f}% | {et:+.1f}% |")
        P('')
        P(f"Where a decode step's time goes (position {m['prompt']}; each dispatch timed alone with a barrier "
          f"between all, so the sum is above the real step; median of 10):")
        P('')
        for r in m['runs']:
            prof = r.get('profile')
            if not prof:
                continue
            per_layer = (f" ({prof['dispatches_per_layer']} per layer)" if 'dispatches_per_layer' in prof else '')
            P(f"**{r['label']}**: {prof['step_ms']:.3f} ms in {prof['dispatches']} dispatches{per_layer}; the "
              f"{m['prompt']}-token prompt as one step: {r['prompt_profile']['step_ms']:.3f} ms")
            P('')
            P('| dispatch kind | ms | share | dispatches | weight GB/s | of copy |')
            P('|---|---:|---:|---:|---:|---:|')
            for k in prof['kinds']:
                gb = f"{k['gbps']:.1f} | {100 * k['gbps'] / m['copy_gbps']:.0f}%" if k['weight_bytes'] else ' | '
                P(f"| {k['kind']} | {k['ms']:.3f} | {100 * k['share']:.1f}% | {k['dispatches']} | {gb} |")
            P('')

    for name, md in sxs.items():
        P(f"## Side by side with llama.cpp: {name}")
        P('')
        body = md.split('\n', 1)[1] if md.startswith('# ') else md
        P(body.strip().replace(home, '~'))
        P('')
    if sxs:
        P("llama.cpp here is built with Debian 12's glslc (shaderc 2023.2), which lacks the GLSL extensions for "
          "its cooperative-matrix, integer-dot and bf16 shader variants, so on GPUs that have them its prompt "
          "processing is slower than a build with a newer glslc would be (llama-bench reports `int dot: 0`, "
          "`matrix cores: none`); its decode kernels do not use them. glowq uses neither either.")
        P('')

    png = os.path.splitext(a.out)[0] + '.png'
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        panels = len(modes) + (1 if sxs else 0)
        fig, axes = plt.subplots(1, max(1, panels), figsize=(5.5 * max(1, panels), 4.2), squeeze=False)
        i = 0
        for shape, m in modes.items():
            ax = axes[0][i]; i += 1
            labels = [r['mode'] for r in m['runs']]
            dec = [r['decode_tps']['median'] for r in m['runs']]
            extra_b = [100 * (r['weight_bytes'] / m['runs'][0]['weight_bytes'] - 1) for r in m['runs']]
            bars = ax.bar(labels, dec, color=['#888', '#c66', '#4a8', '#48c'][:len(dec)])
            for b, e in zip(bars, extra_b):
                ax.text(b.get_x() + b.get_width() / 2, b.get_height(), f'+{e:.1f}% bytes', ha='center',
                        va='bottom', fontsize=8)
            ax.set_title(f'{shape}: decode tok/s by correction mode', fontsize=10)
            ax.set_ylabel('tokens/s (median)')
        if sxs:
            ax = axes[0][i]
            names, ratios = [], []
            for name, md in sxs.items():
                for test, lt, gt, r in sxs_rows(md):
                    names.append(f'{name}\n{test}')
                    ratios.append(r)
            ax.bar(names, ratios, color=['#4a8' if r >= 1 else '#c66' for r in ratios])
            ax.axhline(1.0, color='k', lw=0.8)
            ax.set_title('glowq / llama.cpp Vulkan, same Q4_0 file', fontsize=10)
            ax.tick_params(axis='x', labelsize=7)
        fig.suptitle(dev['name'], fontsize=11)
        fig.tight_layout()
        fig.savefig(png, dpi=110)
        P(f"Plot: `{os.path.basename(png)}`.")
    except ImportError:
        P('No plot: matplotlib is not installed here (`pip install matplotlib`, then rerun).')
    P('')
    P('Commands (the runs folder was ' + f"`{runs.replace(home, '~')}`" + '):')
    P('')
    P('```')
    for c in commands:
        P(c.replace(home, '~').replace(os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + '/', ''))
    P('```')
    with open(a.out, 'w') as f:
        f.write('\n'.join(L) + '\n')
    with open(os.path.splitext(a.out)[0] + '.json', 'w') as f:
        json.dump(summary, f, indent=1)


if __name__ == '__main__':
    main()
