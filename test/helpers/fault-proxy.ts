// Loopback HTTP reverse proxy for S3 tests: sits between a client (normally S3Store) and the test S3
// server, records what the client really sent and injects faults (errors, resets, delays, truncated
// bodies) chosen by a seeded PRNG so that a failing run can be repeated.
//
// Built on node:http rather than Bun.serve + fetch because a fault has to reach the AWS SDK (which
// talks node:http through @smithy/node-http-handler) as a real transport failure: node:http gives
// access to the socket, so a "reset" is a TCP RST and a "truncate" is a close before Content-Length
// bytes were sent. fetch would also rewrite the Host header, which the client's SigV4 signature covers.
import http from "node:http";
import type { Socket } from "node:net";

/**
 * - `status-500`: 500 InternalError (S3 XML), not forwarded.
 * - `slowdown-503`: 503 SlowDown (S3 XML), not forwarded.
 * - `not-implemented-501`: 501 NotImplemented (S3 XML), not forwarded: an operation the server lacks.
 * - `reset`: TCP reset of the client connection, not forwarded; with a body, after its first bytes arrive.
 * - `delay`: forwarded after `delayMs`.
 * - `truncate`: forwarded; the answer announces its full Content-Length, sends half the body and the
 *   connection closes. No visible effect on answers without a body (HEAD, most PUT/DELETE answers).
 */
export type FaultKind =
  | "status-500"
  | "slowdown-503"
  | "not-implemented-501"
  | "reset"
  | "delay"
  | "truncate";

export const FAULT_KINDS: readonly FaultKind[] = [
  "status-500",
  "slowdown-503",
  "not-implemented-501",
  "reset",
  "delay",
  "truncate",
];

export interface FaultRule {
  kind: FaultKind;
  /** Chance, 0..1, that a matching request gets the fault; default 1. */
  probability?: number;
  /** Only requests with this method (case-insensitive). */
  method?: string;
  /** Only requests whose path (with query) contains this string. */
  pathIncludes?: string;
  /** For `delay`: how long to hold the request before forwarding it; default DEFAULT_DELAY_MS. */
  delayMs?: number;
  /** Apply to at most this many requests (counted from the last setRules); default unlimited. */
  limit?: number;
}

export interface RecordedRequest {
  method: string;
  /** Path with query string, exactly as the client sent it. */
  path: string;
  /** Every request header, names lower-cased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Request body bytes received from the client (for `reset`, only the part read before the reset). */
  bodyBytes: number;
  /** Status the client got: the target's, the injected one, 502 if the target failed, 0 for a reset. */
  status: number;
  fault?: FaultKind;
  /** Date.now() when the request arrived. */
  at: number;
}

export interface FaultProxy {
  /** e.g. "http://127.0.0.1:41234"; point the S3 client here with `forcePathStyle: true`. */
  readonly endpoint: string;
  readonly port: number;
  /** Every request in arrival order. Tests may empty it (`requests.length = 0`); stats() follows it. */
  readonly requests: RecordedRequest[];
  /** Replaces the rules (first rule that fires wins) and restarts their `limit` counts. */
  setRules(rules: FaultRule[]): void;
  clearRules(): void;
  /** Injected faults by kind, counted over `requests`. */
  stats(): Record<FaultKind, number>;
  /** Closes the listener and every connection, client-side and upstream. Bounded; safe to call twice. */
  stop(): Promise<void>;
}

export interface FaultProxyOptions {
  /** PRNG seed for probabilistic rules; the same seed and request sequence give the same faults. */
  seed?: number;
}

export const DEFAULT_DELAY_MS = 250;
/** Longest allowed `delayMs`: a rule must never stall a test indefinitely. */
const MAX_DELAY_MS = 60_000;
/** A client that stops sending its body mid-request gets its connection dropped after this long. */
const BODY_TIMEOUT_MS = 30_000;
/** A target that does not answer in this long is reported to the client as 502. */
const UPSTREAM_TIMEOUT_MS = 60_000;
/** `reset` on a request with a body waits at most this long for the first body bytes. */
const RESET_WAIT_MS = 2_000;
const STOP_TIMEOUT_MS = 2_000;

/**
 * Connection-level headers that apply to one hop only, so they are not copied between the
 * client-side and target-side connections. `expect` is here because the proxy answers
 * 100-continue itself (node:http does) and forwards an already complete body; the SDK's signer never
 * signs it, so dropping it cannot break the signature. `host` is NOT here: the signature covers it.
 */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "expect",
]);

/** mulberry32: tiny, fast, good enough to spread faults; its only job is to be repeatable. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function validateRule(rule: FaultRule): void {
  if (!FAULT_KINDS.includes(rule.kind)) throw new RangeError(`unknown fault kind: ${String(rule.kind)}`);
  const p = rule.probability;
  if (p !== undefined && !(p >= 0 && p <= 1)) throw new RangeError(`probability must be in 0..1: ${p}`);
  const d = rule.delayMs;
  if (d !== undefined && !(d >= 0 && d <= MAX_DELAY_MS)) {
    throw new RangeError(`delayMs must be in 0..${MAX_DELAY_MS}: ${d}`);
  }
  const l = rule.limit;
  if (l !== undefined && !(Number.isInteger(l) && l >= 0)) {
    throw new RangeError(`limit must be a non-negative integer: ${l}`);
  }
}

/** Header name/value pairs from node's flat rawHeaders, without hop-by-hop ones, names lower-cased. */
function endToEndHeaders(raw: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (HOP_BY_HOP.has(name)) continue;
    const prev = out[name];
    // Keep repeats as separate lines, as the client sent them.
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

function recordedHeaders(req: http.IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

function s3ErrorXml(code: string, message: string, resource: string, requestId: string): string {
  const esc = (s: string) =>
    s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${esc(message)}</Message>` +
    `<Resource>${esc(resource)}</Resource><RequestId>${requestId}</RequestId></Error>`
  );
}

export async function startFaultProxy(target: string, opts: FaultProxyOptions = {}): Promise<FaultProxy> {
  const targetUrl = new URL(target);
  if (targetUrl.protocol !== "http:") throw new Error(`fault proxy forwards to http:// only, got ${target}`);
  const targetHost = targetUrl.hostname;
  const targetPort = Number(targetUrl.port || 80);

  const random = mulberry32(opts.seed ?? 1);
  const requests: RecordedRequest[] = [];
  let rules: FaultRule[] = [];
  let fired: number[] = [];
  let stopping = false;
  let nextRequestId = 1;

  // Everything stop() has to cut short.
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const upstreams = new Set<http.ClientRequest>();

  const later = (ms: number, fn: () => void): (() => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
    return () => {
      clearTimeout(t);
      timers.delete(t);
    };
  };

  /** Rules in order; the first whose filters match, whose limit is not used up and whose roll succeeds. */
  const pickFault = (method: string, path: string): FaultRule | undefined => {
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (rule.method !== undefined && rule.method.toUpperCase() !== method) continue;
      if (rule.pathIncludes !== undefined && !path.includes(rule.pathIncludes)) continue;
      if (rule.limit !== undefined && (fired[i] ?? 0) >= rule.limit) continue;
      const p = rule.probability ?? 1;
      // Draw only for real chances so a 100% rule does not shift the sequence for later rules.
      if (p <= 0 || (p < 1 && random() >= p)) continue;
      fired[i] = (fired[i] ?? 0) + 1;
      return rule;
    }
    return undefined;
  };

  /** Collects the whole request body; rejects if the client goes away or stalls. */
  const readBody = (req: http.IncomingMessage, rec: RecordedRequest): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => reject(new Error("request body timeout")), BODY_TIMEOUT_MS);
      const done = (err: Error | null) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(Buffer.concat(chunks));
      };
      req.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        rec.bodyBytes += chunk.length;
      });
      req.once("end", () => done(null));
      req.once("error", done);
      req.once("aborted", () => done(new Error("client aborted")));
    });

  /** RST rather than FIN, so the client sees ECONNRESET even if it has sent everything. */
  const resetSocket = (socket: Socket): void => {
    if (socket.destroyed) return;
    if (typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
    else socket.destroy();
  };

  const reset = (req: http.IncomingMessage, rec: RecordedRequest): void => {
    rec.status = 0;
    const socket = req.socket;
    const hasBody =
      req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
    if (!hasBody) {
      resetSocket(socket);
      return;
    }
    // Let the upload start so the client is hit mid-body, as when a real connection dies.
    let once = false;
    const fire = () => {
      if (once) return;
      once = true;
      cancel();
      resetSocket(socket);
    };
    const cancel = later(RESET_WAIT_MS, fire);
    req.on("data", (chunk: Buffer) => {
      rec.bodyBytes += chunk.length;
      fire();
    });
    req.once("end", fire);
  };

  const sendError = (
    res: http.ServerResponse,
    rec: RecordedRequest,
    status: number,
    code: string,
    message: string,
  ): void => {
    const requestId = `FAULTPROXY${(nextRequestId++).toString(16).padStart(6, "0")}`;
    const body = Buffer.from(s3ErrorXml(code, message, rec.path, requestId));
    rec.status = status;
    if (res.destroyed) return;
    res.writeHead(status, {
      "content-type": "application/xml",
      "content-length": String(body.length),
      "x-amz-request-id": requestId,
    });
    res.end(body);
  };

  /** Sends the request to the target and relays its answer; `truncate` cuts the body in half. */
  const forward = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    rec: RecordedRequest,
    body: Buffer,
    truncate: boolean,
  ): void => {
    const headers = endToEndHeaders(req.rawHeaders);
    // The body went through the proxy whole: send it with a length even if the client chunked it.
    if (req.headers["content-length"] === undefined && body.length > 0) {
      headers["content-length"] = String(body.length);
    }
    const upstream = http.request({
      host: targetHost,
      port: targetPort,
      method: rec.method,
      path: rec.path,
      headers,
      // One connection per request: no idle keep-alive sockets to the target to go stale or outlive stop().
      agent: false,
      timeout: UPSTREAM_TIMEOUT_MS,
    });
    upstreams.add(upstream);
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      upstreams.delete(upstream);
      upstream.destroy();
      if (stopping) return;
      sendError(res, rec, 502, "BadGateway", `fault proxy: target failed: ${err.message}`);
    };
    upstream.once("timeout", () => fail(new Error("target timed out")));
    upstream.once("error", fail);
    upstream.once("response", (upRes) => {
      const chunks: Buffer[] = [];
      upRes.on("data", (chunk: Buffer) => chunks.push(chunk));
      upRes.once("error", fail);
      upRes.once("aborted", () => fail(new Error("target aborted the response")));
      upRes.once("end", () => {
        if (failed) return;
        upstreams.delete(upstream);
        const status = upRes.statusCode ?? 502;
        const resBody = Buffer.concat(chunks);
        const resHeaders = endToEndHeaders(upRes.rawHeaders);
        // HEAD, 204 and 304 carry no body: keep the target's Content-Length (for HEAD, the object size).
        const bodyless = rec.method === "HEAD" || status === 204 || status === 304;
        if (!bodyless) resHeaders["content-length"] = String(resBody.length);
        rec.status = status;
        if (res.destroyed) return;
        res.writeHead(status, upRes.statusMessage, resHeaders);
        if (!truncate || bodyless || resBody.length === 0) {
          res.end(resBody);
          return;
        }
        // Full Content-Length announced, half the bytes sent, then a close: a server dying mid-response.
        res.write(resBody.subarray(0, Math.floor(resBody.length / 2)), () => req.socket.destroy());
      });
    });
    upstream.end(body);
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const rec: RecordedRequest = {
      method: (req.method ?? "GET").toUpperCase(),
      path: req.url ?? "/",
      headers: recordedHeaders(req),
      bodyBytes: 0,
      status: 0,
      at: Date.now(),
    };
    requests.push(rec);
    if (stopping) {
      req.socket.destroy();
      return;
    }
    const rule = pickFault(rec.method, rec.path);
    if (rule) rec.fault = rule.kind;
    if (rule?.kind === "reset") {
      reset(req, rec);
      return;
    }
    readBody(req, rec).then(
      (body) => {
        if (stopping) return;
        switch (rule?.kind) {
          case "status-500":
            sendError(res, rec, 500, "InternalError", "We encountered an internal error. Please try again.");
            return;
          case "slowdown-503":
            sendError(res, rec, 503, "SlowDown", "Please reduce your request rate.");
            return;
          case "not-implemented-501":
            sendError(
              res,
              rec,
              501,
              "NotImplemented",
              "A header you provided implies functionality that is not implemented.",
            );
            return;
          case "delay":
            later(rule.delayMs ?? DEFAULT_DELAY_MS, () => forward(req, res, rec, body, false));
            return;
          default:
            forward(req, res, rec, body, rule?.kind === "truncate");
        }
      },
      () => {
        // The client went away or stalled mid-body; nothing sensible to answer.
        req.socket.destroy();
      },
    );
  };

  const server = http.createServer(onRequest);
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  // A client that sends garbage gets its connection closed, not an unhandled error.
  server.on("clientError", (_err: Error, socket: Socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") {
    server.close();
    throw new Error(`fault proxy: unexpected listen address ${String(address)}`);
  }
  const port = address.port;

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const u of upstreams) u.destroy();
      upstreams.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections would hold server.close() open until their idle timeout.
      for (const s of sockets) s.destroy();
      sockets.clear();
      server.closeAllConnections();
      await Promise.race([closed, new Promise<void>((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS))]);
    })();
    return stopped;
  };

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    requests,
    setRules(next: FaultRule[]): void {
      for (const rule of next) validateRule(rule);
      rules = next.map((r) => ({ ...r }));
      fired = rules.map(() => 0);
    },
    clearRules(): void {
      rules = [];
      fired = [];
    },
    stats(): Record<FaultKind, number> {
      const counts: Record<FaultKind, number> = {
        "status-500": 0,
        "slowdown-503": 0,
        "not-implemented-501": 0,
        reset: 0,
        delay: 0,
        truncate: 0,
      };
      for (const r of requests) if (r.fault) counts[r.fault]++;
      return counts;
    },
    stop,
  };
}
