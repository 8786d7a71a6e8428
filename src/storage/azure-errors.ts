/**
 * What an Azure Blob Storage failure means, for the user: the SDK's RestError (or the network's error
 * under it) turned into a StorageError whose message names the account, container and key, whose code
 * is read once from the error's codes (storage-refusal.ts, network-error.ts), and whose hint is the fix.
 * The account key is never part of any of it.
 */
import { networkAdvice } from "./network-advice.ts";
import { classifyNetworkError } from "./network-error.ts";
import { StorageError, storageFailureCode } from "./object-store.ts";

/** Where a request went: enough to find the container, nothing secret. */
export interface AzureSite {
  accountName: string;
  container: string;
  endpoint: string;
}

/** The parts of the SDK's RestError read here (typed locally so this module needs no SDK import). */
interface RestErrorLike {
  name?: string;
  code?: string;
  statusCode?: number;
  message?: string;
}

/** Azure's public endpoint for an account. */
export function defaultEndpoint(accountName: string): string {
  return `https://${accountName}.blob.core.windows.net`;
}

const KEY_SOURCES = "account-key in the config, or LITESTREAM_AZURE_ACCOUNT_KEY";

/**
 * Blob Storage's "this blob does not exist", as opposed to a missing container (also a 404). Only the
 * service's own code counts: a bare 404 from something else at the endpoint (a proxy, a web server) must
 * not read as an empty replica.
 */
export function isBlobNotFound(err: unknown): boolean {
  return (err as RestErrorLike | undefined)?.code === "BlobNotFound";
}

export function describeAzureError(err: unknown, op: string, key: string, site: AzureSite): StorageError {
  const e = (err ?? {}) as RestErrorLike;
  const status = e.statusCode;
  const code = storageFailureCode(err) ?? "storage-failed";
  const where = `account=${site.accountName} container=${site.container} endpoint=${site.endpoint}`;
  const network = classifyNetworkError(err);
  // The server's code (ContainerNotFound) or the socket's (ECONNREFUSED); the SDK's own message can be
  // long XML-derived text, so it goes last and only when nothing better is known.
  let detail =
    status !== undefined
      ? `${e.code ?? "Error"} (HTTP ${status})`
      : `${e.code ?? e.name ?? "Error"}: ${e.message ?? String(err)}`;
  let hint = "walship doctor checks the replica step by step: walship doctor -config FILE";
  switch (code) {
    case "no-bucket":
      detail = `the container "${site.container}" does not exist in account ${site.accountName} (${detail})`;
      hint = `create the container "${site.container}" (az storage container create --name ${site.container} --account-name ${site.accountName}), or check bucket: in the replica config`;
      break;
    case "credentials-rejected":
    case "access-denied":
      detail = `the server rejected the account key, or it may not use this container (${detail})`;
      hint = `check account-name (${site.accountName}) and the account key (${KEY_SOURCES}), and that the storage account's firewall lets this host in`;
      break;
    default:
      if (network !== undefined) {
        const advice = networkAdvice(
          { kind: network.kind, status: network.status },
          { endpoint: site.endpoint },
        );
        detail = `${advice.cause} (${detail})`;
        hint = advice.fix;
        // Azure gives every storage account a host name of its own: one that does not resolve is
        // most often a misspelt account.
        if (network.kind === "dns" && site.endpoint === defaultEndpoint(site.accountName))
          hint = `check account-name (${site.accountName}): no storage account has the host ${new URL(site.endpoint).host}; or check this host's DNS`;
      }
  }
  return new StorageError(
    `Cannot ${op} ${key ? `"${key}" ` : ""}on Azure Blob Storage (${where}): ${detail}`,
    op,
    key,
    hint,
    {
      cause: err,
      code,
      status: network?.status ?? status,
    },
  );
}
