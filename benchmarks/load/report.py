#!/usr/bin/env python3
"""Turns the load benchmark's TSV files into the Markdown report (benchmarks/results/<date>-<machine>.md)."""
import csv, datetime, os, platform, statistics, sys

results_path, ttft_path, peak_path, idle_path, duration, warmup, telemetry_path = sys.argv[1:8]
translate_path, translate_ttft_path = (sys.argv[8:10] + [None, None])[:2]

def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f, delimiter='\t'))

results, ttft, peak, idle = rows(results_path), rows(ttft_path), rows(peak_path), rows(idle_path)
telemetry = rows(telemetry_path)
translate = rows(translate_path) if translate_path and os.path.exists(translate_path) else []
translate_ttft = rows(translate_ttft_path) if translate_ttft_path and os.path.exists(translate_ttft_path) else []
rounds = sorted({r['round'] for r in results})
workloads = [w for w in ['small', 'large', 'stream'] if any(r['workload'] == w for r in results)]
levels = sorted({int(r['connections']) for r in results})

def merge(runs, sums, means):
    """One row for the runs of a variant at one level: counts, time and CPU added up, percentiles averaged."""
    if not runs:
        return None
    row = dict(runs[0])
    row['runs'] = len(runs)
    for k in sums:
        row[k] = str(sum(type_of(r[k])(r[k]) for r in runs))
    for k in means:
        mean = statistics.mean(float(r[k]) for r in runs)
        row[k] = str(round(mean)) if k.endswith('_us') else f'{mean:.3f}'
    return row

def type_of(value):
    return int if value.lstrip('-').isdigit() else float

def get(rnd, workload, connections, variant):
    return merge([r for r in results if (r['round'], r['workload'], int(r['connections']), r['variant']) == (rnd, workload, connections, variant)],
                 ('requests', 'seconds', 'socket_errors', 'non2xx', 'cpu_ticks'), ('p50_us', 'p99_us'))

def ttft_rows():
    """TTFT rows with the interleaved runs of each variant merged, in the order they first ran."""
    keys = list(dict.fromkeys((t['round'], t['connections'], t['variant']) for t in ttft))
    return [merge([t for t in ttft if (t['round'], t['connections'], t['variant']) == k], ('requests', 'errors'),
                  ('ttft_p50_ms', 'ttft_p99_ms', 'first_delay_p50_ms', 'first_delay_p99_ms', 'chunk_delay_p50_ms', 'chunk_delay_p99_ms'))
            for k in keys]

def cpu_us(r):
    requests = int(r['requests'])
    return float('nan') if requests == 0 else int(r['cpu_ticks']) / int(r['tick_hz']) / requests * 1e6

def fmt(x, digits=1):
    return '—' if x != x else f'{x:.{digits}f}'

ttft = ttft_rows()
runs_per_level = max((int(get(r, w_, c, 'gateway')['runs']) for r in rounds for w_ in workloads for c in levels if get(r, w_, c, 'gateway')), default=1)

names = {'small': 'small chat request', 'large': '64 KB request body', 'stream': 'SSE stream, 20 chunks'}
out = []
w = out.append
cpu = os.popen("lscpu 2>/dev/null | sed -n 's/^Model name: *//p'").read().strip() or platform.processor()
w(f'# Load benchmark: direct vs YARP 2.3 vs Gateway ({datetime.date.today()}, {platform.node()})')
w('')
w(f'Produced by `./build.sh bench load` (DURATION={duration}s per level, WARMUP={warmup}s per server before round 1 and 10 s before later rounds, '
  f'{len(rounds)} rounds). Machine: {os.cpu_count()} cores, {cpu}. Load generator (wrk, or the stream probe) and '
  'the mock provider pinned to CPU 0; the proxy under test alone on CPU 1. Proxy CPU per request = (utime+stime '
  'from /proc/PID/stat over the level) / requests completed. These machines are shared and noisy: read the ratios, '
  'compare the rounds, and do not quote a single absolute time.')
if runs_per_level > 1:
    w('')
    w(f'Each proxy ran {runs_per_level} times per level and round, interleaved and mirrored (YARP, Gateway, Gateway, YARP; '
      'the next round Gateway first), so that a change of the machine\'s speed during a level hits both alike. A row '
      'adds up those runs: CPU per request = their CPU time / their requests; latency percentiles are the mean of the runs.')
w('')

w('## Proxy CPU per request (µs; lower is better) and the Gateway/YARP ratio')
w('')
header = '| workload | connections | ' + ' | '.join(f'YARP r{r}' for r in rounds) + ' | ' + ' | '.join(f'Gateway r{r}' for r in rounds) + ' | ' + ' | '.join(f'ratio r{r}' for r in rounds) + ' | median ratio |'
w(header)
w('|' + '---|' * (3 + 3 * len(rounds)))
ratio_table = {}
for workload in workloads:
    for c in levels:
        yarp = [cpu_us(get(r, workload, c, 'yarp')) for r in rounds]
        gw = [cpu_us(get(r, workload, c, 'gateway')) for r in rounds]
        ratios = [g / y if y and y == y else float('nan') for g, y in zip(gw, yarp)]
        ratio_table[(workload, c)] = ratios
        w(f'| {names[workload]} | {c} | ' + ' | '.join(fmt(x) for x in yarp) + ' | ' + ' | '.join(fmt(x) for x in gw) + ' | '
          + ' | '.join(fmt(x, 2) for x in ratios) + f' | {fmt(statistics.median(ratios), 2)} |')
w('')

def telemetry_pairs():
    """(round, workload) -> [(CPU/request on/off, implied throughput change)], one per simultaneous run."""
    runs = {(t['round'], t['workload'], t['variant']): t for t in telemetry}
    pairs = {}
    for (label, workload, variant), off in runs.items():
        on = runs.get((label, workload, 'otel'))
        if variant != 'gateway' or on is None:
            continue
        ratio = cpu_us(on) / cpu_us(off)
        pairs.setdefault((label.split('.')[0], workload), []).append((ratio, 1 / ratio - 1))
    return pairs

tel = telemetry_pairs()
if tel:
    w('## Telemetry cost: the same gateway with metrics on and traces on (10% sampled, no exporter)')
    w('')
    w(f"Telemetry off and on loaded at the same time, {telemetry[0]['connections']} connections each, both on CPU 1 for "
      f"{telemetry[0]['seconds'][:4]} s: this machine's noise (minutes apart, two runs differ by more than the effect) "
      "hits both alike. Each one's CPU per request over the same seconds gives the cost; both are CPU-bound, so the "
      'throughput change is its inverse. The median run is the estimate.')
    w('')
    w('| workload | round | CPU/request on/off per run | median | throughput change | requests off/on per run |')
    w('|---|---|---|---|---|---|')
    runs = {(t['round'], t['workload'], t['variant']): t for t in telemetry}
    for (rnd, workload), ps in sorted(tel.items()):
        counts = ', '.join(f"{runs[(l, workload, 'gateway')]['requests']}/{runs[(l, workload, 'otel')]['requests']}"
                           for l in sorted({t['round'] for t in telemetry if t['round'].split('.')[0] == rnd and t['workload'] == workload}))
        ratio = statistics.median(c for c, _ in ps)
        w(f"| {names[workload]} | {rnd} | " + ', '.join(f'{c:.3f}' for c, _ in ps) + f" | {ratio:.3f} | {(1 / ratio - 1) * 100:+.1f}% | {counts} |")
    w('')

w('## Latency (µs): p50 and p99 per variant, and the latency Gateway and YARP add over direct')
w('')
w('| workload | connections | round | direct p50 | YARP p50 | Gateway p50 | YARP added p50 | Gateway added p50 | YARP p99 | Gateway p99 |')
w('|---|---|---|---|---|---|---|---|---|---|')
for workload in workloads:
    for c in levels:
        for r in rounds:
            d, y, g = (get(r, workload, c, v) for v in ('direct', 'yarp', 'gateway'))
            if not (d and y and g):
                continue
            w(f"| {names[workload]} | {c} | {r} | {d['p50_us']} | {y['p50_us']} | {g['p50_us']} | "
              f"{int(y['p50_us']) - int(d['p50_us'])} | {int(g['p50_us']) - int(d['p50_us'])} | {y['p99_us']} | {g['p99_us']} |")
w('')

w('## Throughput (requests/s) and errors (socket errors / non-2xx)')
w('')
w('| workload | connections | round | direct | YARP | Gateway | errors direct | errors YARP | errors Gateway |')
w('|---|---|---|---|---|---|---|---|---|')
total_errors = {'direct': 0, 'yarp': 0, 'gateway': 0}
for workload in workloads:
    for c in levels:
        for r in rounds:
            cells, errs = [], []
            for v in ('direct', 'yarp', 'gateway'):
                x = get(r, workload, c, v)
                cells.append(fmt(int(x['requests']) / float(x['seconds']), 0) if x else '—')
                e = (int(x['socket_errors']), int(x['non2xx'])) if x else (0, 0)
                total_errors[v] += sum(e)
                errs.append(f'{e[0]}/{e[1]}')
            w(f'| {names[workload]} | {c} | {r} | ' + ' | '.join(cells) + ' | ' + ' | '.join(errs) + ' |')
w('')

w('## Time to first token (stream of 20 chunks, 5 ms apart; ms)')
w('')
w('TTFT is measured by the client from sending the request. "First-chunk delay" and "chunk delay" are the arrival '
  'time minus the send time the mock stamped into each chunk (same machine, same monotonic clock): they leave the '
  "mock's own timer jitter out, so their difference to direct is what the proxy adds.")
w('')
w('| connections | round | variant | requests | errors | TTFT p50 | TTFT p99 | first-chunk delay p50 | p99 | chunk delay p50 | p99 | added first-chunk delay p50 vs direct |')
w('|---|---|---|---|---|---|---|---|---|---|---|---|')
for t in ttft:
    base = next((x for x in ttft if x['round'] == t['round'] and x['connections'] == t['connections'] and x['variant'] == 'direct'), None)
    added = float(t['first_delay_p50_ms']) - float(base['first_delay_p50_ms']) if base else float('nan')
    w(f"| {t['connections']} | {t['round']} | {t['variant']} | {t['requests']} | {t['errors']} | {t['ttft_p50_ms']} | {t['ttft_p99_ms']} | "
      f"{t['first_delay_p50_ms']} | {t['first_delay_p99_ms']} | {t['chunk_delay_p50_ms']} | {t['chunk_delay_p99_ms']} | {fmt(added, 3)} |")
w('')

translate_ratios = []
if any(t['workload'] == 'stream-anthropic' for t in translate):
    w('## Translated stream: Anthropic → OpenAI vs passthrough (64 connections, same gateway process)')
    w('')
    w('The mock streams 20 text deltas in Anthropic\'s format (`type: anthropic`, translated event by event into OpenAI '
      'chunks, the usage chunk removed for the client) or 20 OpenAI chunks (`type: openai`, the zero-copy loop); the two '
      'run in alternation, each pair under the same load, and the gateway\'s CPU ticks over each run give CPU per request.')
    w('')
    w('| round | pairs | passthrough req/s | translated req/s | passthrough CPU µs/req | translated CPU µs/req | ratio | errors |')
    w('|---|---|---|---|---|---|---|---|')
    for r in sorted({t['round'] for t in translate}):
        p = merge([t for t in translate if t['round'] == r and t['workload'] == 'stream'], ('requests', 'seconds', 'socket_errors', 'non2xx', 'cpu_ticks'), ('p50_us', 'p99_us'))
        a = merge([t for t in translate if t['round'] == r and t['workload'] == 'stream-anthropic'], ('requests', 'seconds', 'socket_errors', 'non2xx', 'cpu_ticks'), ('p50_us', 'p99_us'))
        if not p or not a:
            continue
        ratio = cpu_us(a) / cpu_us(p)
        translate_ratios.append(ratio)
        errors = sum(int(x[k]) for x in (p, a) for k in ('socket_errors', 'non2xx'))
        w(f"| {r} | {p['runs']} | {fmt(int(p['requests']) / float(p['seconds']), 0)} | {fmt(int(a['requests']) / float(a['seconds']), 0)} | "
          f"{fmt(cpu_us(p))} | {fmt(cpu_us(a))} | {fmt(ratio, 3)} | {errors} |")
    w('')
if any(t['workload'] == 'stream-messages' for t in translate):
    w("## Anthropic's entry point: /v1/messages vs /v1/chat/completions (64 connections, same gateway process)")
    w('')
    w("The same OpenAI provider stream asked for through `/v1/messages` (the request to the "
      'OpenAI pivot, the answer to Anthropic events) and through `/v1/chat/completions` (passthrough), in mirrored '
      'pairs (AB, BA, ...). "All runs" divides the CPU of all runs by their requests; the pair ratios compare each pair, '
      'run back to back, and their median is what the target is judged on: one pair disturbed by the shared machine '
      'moves the pooled ratio, not the median.')
    w('')
    w('| round | pairs | chat completions CPU µs/req | /v1/messages CPU µs/req | ratio, all runs | pair ratios | median pair ratio | errors |')
    w('|---|---|---|---|---|---|---|---|')
    messages_ratios = []
    for r in sorted({t['round'] for t in translate}):
        streams = [t for t in translate if t['round'] == r and t['workload'] == 'stream']
        messages = [t for t in translate if t['round'] == r and t['workload'] == 'stream-messages']
        p = merge(streams, ('requests', 'seconds', 'socket_errors', 'non2xx', 'cpu_ticks'), ('p50_us', 'p99_us'))
        m = merge(messages, ('requests', 'seconds', 'socket_errors', 'non2xx', 'cpu_ticks'), ('p50_us', 'p99_us'))
        if not p or not m:
            continue
        pairs = [cpu_us(b) / cpu_us(a) for a, b in zip(streams, messages)]
        median = statistics.median(pairs)
        messages_ratios.append(median)
        errors = sum(int(x[k]) for x in (p, m) for k in ('socket_errors', 'non2xx'))
        w(f"| {r} | {m['runs']} | {fmt(cpu_us(p))} | {fmt(cpu_us(m))} | {fmt(cpu_us(m) / cpu_us(p), 3)} | "
          f"{', '.join(fmt(x, 2) for x in pairs)} | {fmt(median, 3)} | {errors} |")
    w('')
if translate_ttft:
    w('Time to first token at 1 connection (20 chunks 5 ms apart, client-measured, ms):')
    w('')
    w('| round | passthrough TTFT p50 | translated TTFT p50 | difference | passthrough p99 | translated p99 |')
    w('|---|---|---|---|---|---|')
    translate_ttft_diffs = []
    for r in sorted({t['round'] for t in translate_ttft}):
        p = merge([t for t in translate_ttft if t['round'] == r and t['variant'] == 'ttft'], ('requests', 'errors'), ('ttft_p50_ms', 'ttft_p99_ms'))
        a = merge([t for t in translate_ttft if t['round'] == r and t['variant'] == 'ttft-anthropic'], ('requests', 'errors'), ('ttft_p50_ms', 'ttft_p99_ms'))
        if not p or not a:
            continue
        diff = float(a['ttft_p50_ms']) - float(p['ttft_p50_ms'])
        translate_ttft_diffs.append(diff)
        w(f"| {r} | {p['ttft_p50_ms']} | {a['ttft_p50_ms']} | {diff:+.3f} | {p['ttft_p99_ms']} | {a['ttft_p99_ms']} |")
    w('')

w('## Memory')
w('')
w('| variant | peak RSS under load (MiB) |')
w('|---|---|')
for p in peak:
    w(f"| {p['variant']} | {int(p['peak_rss_kib']) / 1024:.0f} |")
w('')
w('Idle streams (each answers one chunk, then nothing for 5 s), in the process that served the whole run and in a '
  'fresh process after a short warm-up (small and SSE requests at 16 connections, 5 s and 3 s):')
w('')
w('| variant | process | idle streams opened | RSS before (MiB) | RSS with the streams open (MiB) | per stream (KiB) |')
w('|---|---|---|---|---|---|')
for i in idle:
    per = (int(i['rss_open_kib']) - int(i['rss_before_kib'])) / max(int(i['open']), 1)
    w(f"| {i['variant']} | {i['process']} | {i['open']} of {i['streams']} | {int(i['rss_before_kib']) / 1024:.0f} | "
      f"{int(i['rss_open_kib']) / 1024:.0f} | {per:.1f} |")
w('')

w('## Targets (issue 8), per round')
w('')
def verdict(ok):
    return 'met' if ok else '**not met**'
for workload, limit in (('small', 1.0), ('stream', 1.0), ('large', 1.1)):
    for c in [l for l in levels if 64 <= l <= 256]:
        rs = ratio_table.get((workload, c))
        if rs:
            w(f'- CPU/request, {names[workload]}, {c} connections: ratios ' + ', '.join(fmt(x, 2) for x in rs) + f' (target ≤ {limit}): ' + verdict(all(x <= limit for x in rs)))
for r in rounds:
    d, y, g = (get(r, 'small', 1, v) for v in ('direct', 'yarp', 'gateway'))
    if d and y and g:
        w(f"- Added p50 at 1 connection, round {r}: Gateway {int(g['p50_us']) - int(d['p50_us'])} µs vs YARP {int(y['p50_us']) - int(d['p50_us'])} µs: " + verdict(int(g['p50_us']) <= int(y['p50_us'])))
    y, g = get(r, 'small', 256, 'yarp'), get(r, 'small', 256, 'gateway')
    if y and g:
        w(f"- p99 at 256 connections, round {r}: Gateway {g['p99_us']} µs vs YARP {y['p99_us']} µs: " + verdict(int(g['p99_us']) <= int(y['p99_us'])))
for c in ('1', '64'):
    for r in rounds:
        pick = {t['variant']: float(t['first_delay_p50_ms']) for t in ttft if t['round'] == r and t['connections'] == c}
        if {'direct', 'yarp', 'gateway'} <= pick.keys():
            ya, ga = pick['yarp'] - pick['direct'], pick['gateway'] - pick['direct']
            w(f'- Added time to first token (first-chunk delay p50) at {c} connection(s), round {r}: Gateway {ga:.3f} ms vs YARP {ya:.3f} ms (target ≤ YARP + 0.050): ' + verdict(ga <= ya + 0.050))
w(f"- Errors: direct {total_errors['direct']}, YARP {total_errors['yarp']}, Gateway {total_errors['gateway']} (target 0): " + verdict(total_errors['gateway'] == 0))
pk = {p['variant']: int(p['peak_rss_kib']) for p in peak}
if 'yarp' in pk and 'gateway' in pk:
    w(f"- Peak RSS: Gateway {pk['gateway'] / 1024:.0f} MiB vs YARP {pk['yarp'] / 1024:.0f} MiB: " + verdict(pk['gateway'] <= pk['yarp']))
for (rnd, workload), ps in sorted(tel.items()):
    ratio = statistics.median(c for c, _ in ps)
    w(f"- Telemetry on (metrics + 10% of requests traced) vs off, {names[workload]}, round {rnd}: CPU/request {ratio:.3f}×, "
      f"throughput {(1 / ratio - 1) * 100:+.1f}% (target: less than 5% lost): " + verdict(1 / ratio - 1 > -0.05))
for gi in (x for x in idle if x['variant'] == 'gateway'):
    yi = next((x for x in idle if x['variant'] == 'yarp' and x['process'] == gi['process']), None)
    versus = f" (YARP {int(yi['rss_open_kib']) / 1024:.0f} MiB)" if yi else ''
    w(f"- RSS with {gi['open']} idle streams, {gi['process']} process: {int(gi['rss_open_kib']) / 1024:.0f} MiB{versus} "
      "(target ≤ 150 MiB with 2,000): " + verdict(int(gi['open']) >= 2000 and int(gi['rss_open_kib']) <= 150 * 1024))
if translate and translate_ratios:
    w('- Translated (Anthropic) stream vs passthrough, CPU/request at 64 connections: ratios ' + ', '.join(fmt(x, 3) for x in translate_ratios)
      + ' (target ≤ 1.25, stretch ≤ 1.1): ' + verdict(all(x <= 1.25 for x in translate_ratios)))
if any(t['workload'] == 'stream-messages' for t in translate):
    w('- /v1/messages vs /v1/chat/completions over the same provider, CPU/request at 64 connections: median pair ratios ' + ', '.join(fmt(x, 3) for x in messages_ratios)
      + ' (target ≤ 1.25): ' + verdict(all(x <= 1.25 for x in messages_ratios)))
if translate_ttft:
    w('- Translated (Anthropic) stream vs passthrough, TTFT p50 at 1 connection: differences ' + ', '.join(f'{x:+.3f} ms' for x in translate_ttft_diffs)
      + ' (target ≤ 0.1 ms): ' + verdict(all(x <= 0.1 for x in translate_ttft_diffs)))
# An A/B of two Gateway builds (run.sh BASELINE=<revision>) runs the baseline build in YARP's place: name it so.
baseline = os.environ.get('BASELINE_NAME')
text = '\n'.join(out)
if baseline:
    text = text.replace('YARP 2.3', baseline).replace('YARP', baseline).replace('Gateway/' + baseline, 'this build/' + baseline)
print(text)
