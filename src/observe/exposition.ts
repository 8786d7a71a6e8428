/** Writer for Prometheus's text exposition format (version 0.0.4): one family at a time, HELP and TYPE first. */

export type Labels = Record<string, string>;

export type MetricType = "counter" | "gauge";

export class Exposition {
  private readonly lines: string[] = [];

  metric(name: string, type: MetricType, help: string, samples: [Labels, number][]): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples)
      this.lines.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
  }

  text(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

function formatLabels(labels: Labels): string {
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`,
  );
  return parts.length ? `{${parts.join(",")}}` : "";
}

function formatValue(v: number): string {
  return Number.isFinite(v) ? String(v) : "NaN";
}
