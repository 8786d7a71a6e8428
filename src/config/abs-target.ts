/**
 * Azure Blob Storage targets: the URL `abs://ACCOUNT@CONTAINER/PATH` and the keys `account-name`,
 * `account-key`, `bucket` (the container), `path`, `endpoint`, as Litestream 0.3.13 reads them: the URL's
 * parts only fill what the keys left empty. walship adds `?endpoint=` to the URL.
 */

import { percentDecode } from "./percent-decode.ts";
import type { AbsTarget } from "./replica-target.ts";
import { cleanKeyPrefix } from "./s3-target.ts";

export type AbsFail = (reason: string, hint: string) => never;

export interface AbsSettings {
  accountName?: string | undefined;
  accountKey?: string | undefined;
  container?: string | undefined;
  path?: string | undefined;
  endpoint?: string | undefined;
}

const EXAMPLE = "abs://ACCOUNT@CONTAINER/PATH";

/** The parts of an abs:// URL; its path is cleaned and loses its leading slash, as in Litestream. */
export function parseAbsUrl(input: string, fail: AbsFail): AbsSettings {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return fail("it is not a valid URL", `use ${EXAMPLE}`);
  }
  if (url.password !== "")
    fail(
      "an account key in the URL is not used",
      "remove :KEY from the URL; set account-key in the config or LITESTREAM_AZURE_ACCOUNT_KEY",
    );
  if (url.hash !== "") fail("it has a fragment", `use ${EXAMPLE}`);
  const settings: AbsSettings = { path: cleanKeyPrefix(percentDecode(url.pathname, fail, EXAMPLE)) };
  // walship's addition, so that a command line alone reaches an emulator or a sovereign cloud.
  for (const [name, value] of url.searchParams) {
    if (name !== "endpoint")
      fail(
        `unknown parameter "${name}"`,
        `use ${EXAMPLE}?endpoint=http://127.0.0.1:10000/ACCOUNT or no parameter`,
      );
    settings.endpoint = value;
  }
  if (url.username !== "") settings.accountName = percentDecode(url.username, fail, EXAMPLE);
  if (url.hostname !== "") settings.container = url.hostname;
  return settings;
}

/** Builds the target; keys win over the URL's parts. */
export function resolveAbsTarget(
  fromUrl: AbsSettings | undefined,
  keys: AbsSettings,
  fail: AbsFail,
): AbsTarget {
  const accountName = keys.accountName ?? fromUrl?.accountName;
  const container = keys.container ?? fromUrl?.container;
  if (!accountName)
    fail("it names no storage account", `add account-name: myaccount, or use url: ${EXAMPLE}`);
  if (!container) fail("it names no container", `add bucket: mycontainer, or use url: ${EXAMPLE}`);
  const target: AbsTarget = {
    type: "abs",
    accountName,
    container,
    path: cleanKeyPrefix(keys.path ?? fromUrl?.path ?? ""),
  };
  if (keys.endpoint !== undefined && fromUrl?.endpoint !== undefined && keys.endpoint !== fromUrl.endpoint)
    fail("endpoint is given both in the URL and as a key, differently", "give endpoint in one place only");
  const endpoint = keys.endpoint ?? fromUrl?.endpoint;
  if (endpoint !== undefined) target.endpoint = absEndpoint(endpoint, fail);
  if (keys.accountKey) target.accountKey = keys.accountKey;
  return target;
}

/** `http(s)://HOST[:PORT][/ACCOUNT]`; a bare host means https, as Azure's SDKs read it. */
function absEndpoint(text: string, fail: AbsFail): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return fail(`endpoint "${text}" is not a URL`, "endpoint: http://127.0.0.1:10000/devstoreaccount1");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    fail(`endpoint "${text}" is not http(s)`, "endpoint: https://ACCOUNT.blob.core.windows.net");
  return withScheme.replace(/\/+$/, "");
}
