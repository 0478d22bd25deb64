// Small statistics helpers shared by the benchmarks.
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

export function summary(xs) {
  return { median: median(xs), p95: percentile(xs, 95), n: xs.length };
}

export const fmt = (ms) => `${ms.toFixed(2)} ms`;
