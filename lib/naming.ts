import { createHash } from "node:crypto";

/** Longest stack part of a name; keeps machine names (and KinD's node hostnames) under 63. */
const MAX_STACK_SLUG = 20;

export function shortHash(text: string, hexChars: number): string {
    return createHash("sha256").update(text).digest("hex").slice(0, hexChars);
}

/**
 * A DNS-label-safe form of the stack name. When the stack name had to be changed to fit (case,
 * odd characters, length), a hash of the original is appended so two stacks whose names differ
 * only in those ways still get different names.
 */
export function stackSlug(stack: string): string {
    const cleaned = stack
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, "-")
        .replace(/-+/g, "-")
        .replace(/^-|-$/g, "");
    if (cleaned === stack && cleaned.length > 0 && cleaned.length <= MAX_STACK_SLUG) {
        return cleaned;
    }
    const head = cleaned.slice(0, MAX_STACK_SLUG - 7).replace(/-$/, "");
    const tail = shortHash(stack, 6);
    return head ? `${head}-${tail}` : `s${tail}`;
}

/** The name every host-wide object of a stack starts with: KinD cluster, docker network, domains. */
export function labName(stack: string): string {
    return `capt-${stackSlug(stack)}`;
}

/** Linux allows 15 characters in an interface name; a hash keeps it unique per project and stack. */
export function bridgeName(project: string, stack: string): string {
    return `capt-${shortHash(`${project}/${stack}`, 10)}`;
}

export function machineName(lab: string, prefix: string, index: number): string {
    return `${lab}-${prefix}${index}`;
}
