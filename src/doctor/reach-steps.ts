/**
 * The first two steps for a server that is not S3 (SFTP, Azure): does its name resolve, and does it
 * accept a TCP connection. The S3 steps have their own, with the S3 network advice.
 */
import { connectTcp, resolveHost } from "./network.ts";
import { errCode, type Step } from "./step.ts";

/** Pushes the dns and tcp steps; true when both passed (the caller then goes on). */
export async function reachSteps(
  host: string,
  port: number,
  steps: Step[],
  what: { hostFix: string; server: string },
): Promise<boolean> {
  let addresses: string[];
  try {
    addresses = await resolveHost(host);
    steps.push({ name: "dns", status: "ok", detail: `${host} resolves to ${addresses.join(", ")}` });
  } catch (err) {
    steps.push({
      name: "dns",
      status: "fail",
      detail: `${host} does not resolve (${errCode(err)})`,
      cause: "the host name is wrong, or this host's DNS does not know it",
      fix: what.hostFix,
    });
    return false;
  }
  try {
    const ms = await connectTcp(addresses[0]!, port);
    steps.push({ name: "tcp", status: "ok", detail: `connected to ${addresses[0]}:${port} in ${ms} ms` });
    return true;
  } catch (err) {
    steps.push({
      name: "tcp",
      status: "fail",
      detail: `cannot connect to ${addresses[0]}:${port} (${errCode(err)})`,
      cause: `no ${what.server} listens there, or a firewall drops the connection`,
      fix: `check that the ${what.server} runs on ${host}:${port} and that this host may reach it`,
    });
    return false;
  }
}
