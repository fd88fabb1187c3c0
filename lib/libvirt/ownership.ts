/**
 * How a libvirt object is recognised as this stack's. Pure: no Pulumi resources, no host access.
 *
 * - Domains carry an ownership element in `<metadata>` (namespace below) naming project and stack.
 * - Pools have no `<metadata>` or `<description>` in libvirt's storage pool schema, so a pool's
 *   UUID is the marker: it is derived from (project, stack, pool name), so only this stack ever
 *   defines a pool with that UUID, and `virsh pool-define` refuses a name held by another UUID.
 * - Volumes have neither metadata nor a UUID; a volume counts as the stack's when it lives in the
 *   stack's pool (checked by the pool's UUID) and was created by the Volume provider (which never
 *   adopts a volume that is already there).
 * - Domains get a derived UUID too, so a domain keeps its UUID across redefinitions and recreation.
 *
 * Every value here is derived from the owner, never random, so a plan renders the same XML twice.
 */
import { createHash } from "node:crypto";

/** XML namespace of the ownership element in a domain's `<metadata>`; any stable URI of ours. */
export const OWNERSHIP_NAMESPACE = "https://capt-playground.dev/ownership";
/** Prefix libvirt keeps for our metadata element (`<capt:owner .../>`). */
export const OWNERSHIP_PREFIX = "capt";

export interface OwnerTag {
    project: string;
    stack: string;
}

export type OwnedKind = "domain" | "pool";

/**
 * A UUID derived from the owner and the object's name (SHA-256, formatted with the RFC 9562
 * version-8 "custom" bits so it is a well-formed UUID).
 */
export function ownedUuid(kind: OwnedKind, owner: OwnerTag, name: string): string {
    const digest = createHash("sha256")
        .update(`${OWNERSHIP_NAMESPACE}\n${kind}\n${owner.project}\n${owner.stack}\n${name}`)
        .digest();
    const bytes = Buffer.from(digest.subarray(0, 16));
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = bytes.toString("hex");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function sameOwner(a: OwnerTag | undefined, b: OwnerTag): boolean {
    return a !== undefined && a.project === b.project && a.stack === b.stack;
}

/** True when the URI talks to this machine's libvirtd (no host part: qemu:///system, qemu+unix:///...). */
export function isLocalUri(uri: string): boolean {
    return /^[a-z0-9+]+:\/\/\//.test(uri);
}
