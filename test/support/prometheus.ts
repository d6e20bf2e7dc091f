import { createRequire } from 'node:module';

/** One metric family as parse-prometheus-text-format (a port of the Prometheus Python client's parser) returns it. */
export interface MetricFamily {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }>;
}

const parser = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => MetricFamily[];

/**
 * Parses the Prometheus text format; throws on a line that is not valid exposition.
 *
 * The parser folds all series of a histogram into one and drops their labels (it only handles unlabelled
 * histograms), so histograms are parsed a second time as untyped samples (`_bucket`, `_sum`, `_count`, every
 * line still checked by the same parser) and put back together per label set.
 */
export function parsePrometheus(text: string): Map<string, MetricFamily> {
  const families = new Map(parser(text).map((f) => [f.name, f]));
  const histograms = [...families.values()].filter((f) => f.type === 'HISTOGRAM');
  if (histograms.length === 0) return families;
  // Untyped, each run of `_bucket`, `_sum` or `_count` lines is a family of its own: gather the runs by name.
  const raw = new Map<string, MetricFamily['metrics']>();
  for (const f of parser(text.replace(/^# TYPE (\S+) histogram$/gm, '# TYPE $1 untyped'))) raw.set(f.name, [...(raw.get(f.name) ?? []), ...f.metrics]);
  for (const h of histograms) {
    const series = new Map<string, MetricFamily['metrics'][number]>();
    const entry = (labels: Record<string, string> = {}) => {
      const own = Object.fromEntries(Object.entries(labels).filter(([k]) => k !== 'le'));
      const key = JSON.stringify(Object.entries(own).sort());
      if (!series.has(key)) series.set(key, { labels: own, buckets: {} });
      return series.get(key)!;
    };
    for (const s of raw.get(`${h.name}_bucket`) ?? []) entry(s.labels).buckets![s.labels!.le] = s.value!;
    for (const s of raw.get(`${h.name}_sum`) ?? []) entry(s.labels).sum = s.value;
    for (const s of raw.get(`${h.name}_count`) ?? []) entry(s.labels).count = s.value;
    h.metrics = [...series.values()];
  }
  return families;
}

/** The value of the sample of `name` whose labels include `labels`; undefined when there is none. */
export function sampleValue(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  const m = families.get(name)?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return m?.value === undefined ? undefined : Number(m.value);
}
