/**
 * Provider revision: which provider code a resource's state will run on `destroy`.
 *
 * Pulumi's dynamic-provider host (@pulumi/pulumi/cmd/dynamic-provider) runs check, diff, create and
 * update with the code the program serializes now (`__provider` of the new inputs), but delete, and
 * read on refresh, with the code stored in the resource's outputs. Only create and update rewrite
 * those outputs: an unchanged resource (the engine's "same" step) keeps its old ones. So a lab
 * created by older code would be destroyed by that older delete, fixes notwithstanding.
 *
 * Each provider therefore records `providerRevision`, a short hash of its serialized code, in its
 * checked inputs (so `pulumi up` shows `~providerRevision` as the reason) and its outputs, and its diff
 * turns "no change" into an in-place update while the stored code differs from the program's. One
 * update later the state holds the current code, and the next `up` is clean again.
 *
 * Why a hash of the serialized code and not a constant bumped by hand: it is exactly what delete will
 * run, including every helper the provider captures (the ownership fix that prompted this lived in
 * domain-facts.ts, not in delete), and there is no bump to forget. The price is one no-op update per
 * resource whenever the emitted code changes, an edited comment inside a function body included (a
 * change to a file's header comment is not); the updates are harmless by design.
 */
import type { DiffResult } from "@pulumi/pulumi/dynamic";
import { isUnknown } from "./inputs";

/** The SDK's property holding the serialized provider code. */
const PROVIDER_KEY = "__provider";

export interface Revisioned {
    /** Hash of the provider code that checked (inputs) or last wrote (outputs) this resource. */
    providerRevision?: string;
}

/** The serialized provider code in `props`: undefined when absent (direct calls) or not known yet. */
function providerCode(props: object | undefined): string | undefined {
    const code = (props as Record<string, unknown> | undefined)?.[PROVIDER_KEY];
    return typeof code === "string" && !isUnknown(code) ? code : undefined;
}

/** Short SHA-256 of the serialized provider code in `props`, or undefined without one. */
export function providerRevision(props: object | undefined): string | undefined {
    const code = providerCode(props);
    if (code === undefined) {
        return undefined;
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: Pulumi serializes this code (see virsh.ts)
    const { createHash } = require("node:crypto") as typeof import("node:crypto");
    return createHash("sha256").update(code).digest("hex").slice(0, 16);
}

/** `inputs` with the revision of the code in `news` (left out, not undefined, when there is none). */
export function withRevision<T extends object>(inputs: T, news: object): T & Revisioned {
    const revision = providerRevision(news);
    return revision === undefined ? inputs : { ...inputs, providerRevision: revision };
}

/**
 * Whether the stored outputs were written by other code than the program's. Compares the code
 * itself, so state from before `providerRevision` existed counts as stale too.
 */
export function storedCodeIsStale(olds: object, news: object): boolean {
    const current = providerCode(news);
    return current !== undefined && providerCode(olds) !== current;
}

/**
 * A provider's own diff result, turned into an in-place update (never a replacement) when it found
 * nothing to change but the stored code is stale. Any other change already rewrites the code.
 */
export function refreshStaleCode(result: DiffResult, olds: object, news: object): DiffResult {
    if (result.changes || !storedCodeIsStale(olds, news)) {
        return result;
    }
    return { ...result, changes: true, replaces: [] };
}
