/** The `addr:` HTTP endpoint: Prometheus metrics at /metrics and a health check at /healthz. */
import { serveHttp } from "../runtime/serve-http.ts";
import { healthReport } from "./health.ts";
import { type BuildInfo, renderMetrics } from "./metrics.ts";
import type { ObservedSet } from "./observed.ts";

export interface StatusServer {
  url: string;
  stop(): void;
}

/** Splits Litestream's `addr` (":9090" means every interface) into host and port. */
export function parseAddr(addr: string): { hostname: string; port: number } {
  const i = addr.lastIndexOf(":");
  const host = addr.slice(0, i).replace(/^\[|\]$/g, "");
  return { hostname: host || "0.0.0.0", port: Number(addr.slice(i + 1)) };
}

export function startStatusServer(
  addr: string,
  sets: readonly ObservedSet[],
  healthMaxLagMs: number,
  build: BuildInfo,
): StatusServer {
  const { hostname, port } = parseAddr(addr);
  const server = serveHttp(hostname, port, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/metrics") {
      return new Response(renderMetrics(sets, build), {
        headers: { "content-type": "text/plain; version=0.0.4" },
      });
    }
    if (path === "/healthz") {
      const { healthy, text } = healthReport(sets, healthMaxLagMs);
      return new Response(text, { status: healthy ? 200 : 503 });
    }
    return new Response("not found; try /metrics or /healthz\n", { status: 404 });
  });
  return {
    url: `http://${hostname === "0.0.0.0" ? "localhost" : hostname}:${server.port}`,
    stop: () => server.stop(),
  };
}
