/**
 * Advice chosen by a storage failure's code: the one place that picks between the refusal table
 * (storage-refusal.ts) and the network table (network-advice.ts), for the S3 store's hints and
 * `walship doctor`'s steps alike, so both always say the same.
 */
import { type Advice, type AdviceContext, isNetworkFailure, networkAdvice } from "./network-advice.ts";
import type { StorageErrorCode } from "./object-store.ts";
import { isRefusal, refusalAdvice } from "./storage-refusal.ts";

export interface FailureSite {
  bucket: string;
  /** Where the server is: its endpoint, AWS S3, or not known. */
  at: AdviceContext;
  /** The HTTP status of the failed answer, when there was one. */
  status?: number | undefined;
}

/** What a failure with `code` most likely means and what to do; undefined for codes with no shared advice. */
export function storageAdvice(code: StorageErrorCode, site: FailureSite): Advice | undefined {
  if (isRefusal(code)) return refusalAdvice(code, site.bucket);
  if (isNetworkFailure(code)) return networkAdvice({ kind: code, status: site.status }, site.at);
  return undefined;
}
