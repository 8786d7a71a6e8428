/**
 * Low-level connectivity probes for `walship doctor`: name resolution, a TCP connect, a TLS handshake
 * and the server's clock, each bounded by a timeout and reported as data rather than thrown.
 */
import * as dns from "node:dns";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as tls from "node:tls";
import { localhostAwareLookup } from "../storage/s3.ts";

export const PROBE_TIMEOUT_MS = 5_000;

const lookup = localhostAwareLookup(dns.lookup);

export interface Endpoint {
  protocol: "http:" | "https:";
  host: string;
  port: number;
}

export function parseEndpoint(url: string): Endpoint {
  const u = new URL(url);
  const protocol = u.protocol === "http:" ? "http:" : "https:";
  const host = u.hostname.replace(/^\[|\]$/g, "");
  return { protocol, host, port: u.port ? Number(u.port) : protocol === "http:" ? 80 : 443 };
}

export function resolveHost(host: string): Promise<string[]> {
  if (net.isIP(host)) return Promise.resolve([host]);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })),
      PROBE_TIMEOUT_MS,
    );
    lookup(host, { all: true }, (err, addresses) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve((addresses as dns.LookupAddress[]).map((a) => a.address));
    });
  });
}

export function connectTcp(host: string, port: number): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, lookup });
    socket.setTimeout(PROBE_TIMEOUT_MS, () => {
      socket.destroy();
      reject(Object.assign(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`), { code: "ETIMEDOUT" }));
    });
    socket.once("connect", () => {
      socket.destroy();
      resolve(Date.now() - started);
    });
    socket.once("error", (err) => {
      socket.destroy();
      reject(err);
    });
  });
}

export interface TlsInfo {
  protocol: string;
  subject: string;
  issuer: string;
  validTo: string;
}

export interface TlsOptions {
  skipVerify: boolean;
  caFile?: string | undefined;
}

function caOption(opts: TlsOptions): { ca?: Buffer } {
  return opts.caFile ? { ca: fs.readFileSync(opts.caFile) } : {};
}

export function handshakeTls(host: string, port: number, opts: TlsOptions): Promise<TlsInfo> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port,
      lookup,
      servername: net.isIP(host) ? undefined : host,
      rejectUnauthorized: !opts.skipVerify,
      ...caOption(opts),
    });
    socket.setTimeout(PROBE_TIMEOUT_MS, () => {
      socket.destroy();
      reject(Object.assign(new Error(`no TLS answer within ${PROBE_TIMEOUT_MS} ms`), { code: "ETIMEDOUT" }));
    });
    socket.once("secureConnect", () => {
      const cert = socket.getPeerCertificate();
      const info = {
        protocol: socket.getProtocol() ?? "TLS",
        subject: String(cert.subject?.CN ?? ""),
        issuer: String(cert.issuer?.CN ?? cert.issuer?.O ?? ""),
        validTo: cert.valid_to ?? "",
      };
      socket.destroy();
      resolve(info);
    });
    socket.once("error", (err) => {
      socket.destroy();
      reject(err);
    });
  });
}

/** The server's clock from the Date header of any response to an unsigned GET of the endpoint root. */
export function serverDate(endpoint: string, opts: TlsOptions): Promise<Date> {
  const ep = parseEndpoint(endpoint);
  const mod = ep.protocol === "http:" ? http : https;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      endpoint,
      {
        method: "GET",
        lookup,
        timeout: PROBE_TIMEOUT_MS,
        rejectUnauthorized: !opts.skipVerify,
        ...caOption(opts),
      },
      (res) => {
        res.resume();
        const date = res.headers.date ? new Date(res.headers.date) : null;
        if (date && !Number.isNaN(date.getTime())) resolve(date);
        else reject(new Error("the response has no Date header"));
      },
    );
    req.on("timeout", () => req.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
    req.on("error", reject);
    req.end();
  });
}
