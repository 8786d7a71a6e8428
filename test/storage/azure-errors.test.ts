/** How Azure Blob Storage failures read, from errors shaped as @azure/storage-blob throws them. */
import { expect, test } from "bun:test";
import { defaultEndpoint, describeAzureError, isBlobNotFound } from "../../src/storage/azure-errors.ts";

const site = { accountName: "acct", container: "box", endpoint: defaultEndpoint("acct") };

/** The SDK's RestError: the service's x-ms-error-code (or the socket's errno) as `code`. */
function restError(code: string, statusCode?: number): Error {
  return Object.assign(new Error(`${code} happened`), { name: "RestError", code, statusCode });
}

test("Azure's own AuthenticationFailed (a wrong key) is credentials-rejected, with where the key comes from", () => {
  const e = describeAzureError(restError("AuthenticationFailed", 403), "put", "generations/x", site);
  expect(e.code).toBe("credentials-rejected");
  expect(e.message).toContain('"generations/x"');
  expect(e.message).toContain("account=acct container=box");
  expect(e.hint).toContain("LITESTREAM_AZURE_ACCOUNT_KEY");
  expect(e.status).toBe(403);
});

test("an account host that does not resolve points at the account name", () => {
  const e = describeAzureError(restError("ENOTFOUND"), "list", "", site);
  expect(e.code).toBe("dns");
  expect(e.hint).toContain("check account-name (acct)");
  const custom = describeAzureError(restError("ENOTFOUND"), "list", "", {
    ...site,
    endpoint: "http://azurite:10000/acct",
  });
  expect(custom.hint).not.toContain("account-name");
});

test("only the service's BlobNotFound is a missing blob: a bare 404 or a missing container is not", () => {
  expect(isBlobNotFound(restError("BlobNotFound", 404))).toBe(true);
  expect(isBlobNotFound(restError("ContainerNotFound", 404))).toBe(false);
  expect(isBlobNotFound(Object.assign(new Error("Not Found"), { statusCode: 404 }))).toBe(false);
});
