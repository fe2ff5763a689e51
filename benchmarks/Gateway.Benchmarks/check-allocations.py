#!/usr/bin/env python3
"""Fails when a hot-path benchmark allocates more than its budget (allocation-budget.txt) in the CSV reports."""
import csv, glob, os, re, sys

here = os.path.dirname(os.path.abspath(__file__))
budget = {}
for line in open(os.path.join(here, 'allocation-budget.txt')):
    line = line.strip()
    if line and not line.startswith('#'):
        name, limit = line.split()
        budget[name] = int(limit)

def parse_bytes(text):
    text = text.strip().replace(',', '')
    if text in ('', '-', 'NA', '0 B'):
        return 0
    m = re.match(r'([\d.]+)\s*(B|KB|MB|GB)', text)
    if not m:
        return 0
    return int(float(m.group(1)) * {'B': 1, 'KB': 1024, 'MB': 1024**2, 'GB': 1024**3}[m.group(2)])

reports = glob.glob(sys.argv[1] if len(sys.argv) > 1 else 'BenchmarkDotNet.Artifacts/results/*-report.csv')
failures, checked, seen = [], 0, set()
for report in reports:
    # With one benchmark class the report has no Type column: the class is in the file name instead.
    file_type = os.path.basename(report).split('-report')[0].split('.')[-1]
    for row in csv.DictReader(open(report)):
        key = f"{row.get('Type') or file_type}.{row.get('Method', '')}"
        if key in budget:
            checked += 1
            seen.add(key)
            allocated = parse_bytes(row.get('Allocated', ''))
            params = ', '.join(f'{k}={v}' for k, v in row.items() if k in ('Body', 'Providers', 'ChunkSize', 'Tee', 'Chunks'))
            status = 'ok' if allocated <= budget[key] else 'OVER BUDGET'
            print(f'{status:12} {key} ({params}): {allocated} B/op (budget {budget[key]})')
            if allocated > budget[key]:
                failures.append(key)
missing = sorted(set(budget) - seen)
# A re-measurement of some benchmarks (build.sh) checks only those.
if missing and os.environ.get('ALLOCATION_CHECK_PARTIAL') != '1':
    print('check-allocations: no result for ' + ', '.join(missing), file=sys.stderr)
    sys.exit(1)
sys.exit(1 if failures else 0)
