// Reads Prometheus text exposition (what /metrics answers) into samples a test can look up.

export interface Samples {
  /** The sample's value; 0 when the series is absent (a counter never incremented has no labelled series). */
  value(name: string, labels?: Record<string, string>): number;
  /** Every series of a metric name, with its labels. */
  series(name: string): { labels: Record<string, string>; value: number }[];
  /** The `# TYPE` line of a metric family. */
  type(name: string): string | undefined;
}

export function parsePrometheusText(text: string): Samples {
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  const matches = (have: Record<string, string>, want: Record<string, string>) =>
    Object.keys(have).length === Object.keys(want).length &&
    Object.entries(want).every(([k, v]) => have[k] === v);
  return {
    value: (name, labels = {}) =>
      samples.find((s) => s.name === name && matches(s.labels, labels))?.value ?? 0,
    series: (name) => samples.filter((s) => s.name === name).map(({ labels, value }) => ({ labels, value })),
    type: (name) => types.get(name),
  };
}
