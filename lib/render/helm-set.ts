/**
 * `path=value` strings applied to a values object the way `helm --set` applies them, so a user's
 * tinkerbellExtraValues mean what they would mean on a helm command line.
 *
 * Supported: dotted keys, one list index per key (`a.b[0].c=x`), typed scalars (true/false,
 * null, integers), and `{a,b}` lists. Unlike a helm command line, each string is one assignment:
 * a comma outside braces is part of the value, not a separator.
 */

import { FORBIDDEN_OBJECT_KEYS, isForbiddenObjectKey } from "../config-formats";
import { MAX_HELM_INDEX, MAX_HELM_PATH_SEGMENTS } from "../config-schema";

export type HelmValues = { [key: string]: unknown };

type PathStep = { key: string } | { index: number };

const SEGMENT = /^([A-Za-z0-9_-]+)(?:\[(\d+)\])?$/;

/**
 * `a.b[2].c` -> key a, key b, index 2, key c. Within helm's own limits: a list index up to
 * MAX_HELM_INDEX (an index is filled up to with nulls: `a[999999999]` would exhaust the heap) and at
 * most MAX_HELM_PATH_SEGMENTS segments.
 */
export function parseValuePath(path: string): PathStep[] {
    const steps: PathStep[] = [];
    const segments = path.split(".");
    if (segments.length > MAX_HELM_PATH_SEGMENTS) {
        throw new Error(
            `invalid value path (${segments.length} segments): at most ${MAX_HELM_PATH_SEGMENTS}, helm's own limit`,
        );
    }
    for (const segment of segments) {
        const match = SEGMENT.exec(segment);
        if (!match) {
            throw new Error(`invalid value path ${JSON.stringify(path)}: bad segment ${JSON.stringify(segment)}`);
        }
        if (isForbiddenObjectKey(match[1])) {
            // Assigning these on a plain object would reach Object.prototype, not a chart value.
            throw new Error(
                `invalid value path ${JSON.stringify(path)}: ${FORBIDDEN_OBJECT_KEYS.join(", ")} are no chart values`,
            );
        }
        steps.push({ key: match[1] });
        if (match[2] !== undefined) {
            const index = Number(match[2]);
            if (!(index <= MAX_HELM_INDEX)) {
                throw new Error(
                    `invalid value path ${JSON.stringify(path.slice(0, 200))}: list index ${match[2].slice(0, 20)} is above ${MAX_HELM_INDEX}, helm's own limit`,
                );
            }
            steps.push({ index });
        }
    }
    return steps;
}

/** Scalar typing as helm --set does it: booleans, null, integers without a leading zero; else a string. */
export function typedScalar(text: string): unknown {
    const lower = text.toLowerCase();
    if (lower === "true" || lower === "false") {
        return lower === "true";
    }
    if (lower === "null") {
        return null;
    }
    if (text === "0") {
        return 0;
    }
    if (/^[-+]?[1-9]\d*$/.test(text)) {
        const n = Number(text);
        // Beyond 2^53 a JS number would silently change the value; keep the text instead.
        return Number.isSafeInteger(n) ? n : text;
    }
    return text;
}

export function typedValue(text: string): unknown {
    if (text.startsWith("{") && text.endsWith("}")) {
        const inner = text.slice(1, -1);
        return inner === "" ? [] : inner.split(",").map(typedScalar);
    }
    return typedScalar(text);
}

function isPlainObject(value: unknown): value is HelmValues {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function containerFor(next: PathStep): HelmValues | unknown[] {
    return "index" in next ? [] : {};
}

/** An own, plain data property: never a setter such as __proto__'s. */
function defineSlot(container: Record<string | number, unknown>, slot: string | number, value: unknown): void {
    Object.defineProperty(container, slot, { value, enumerable: true, writable: true, configurable: true });
}

/** Set one value in place, creating (or replacing scalars with) maps and lists along the path. */
function setPath(root: HelmValues, steps: PathStep[], value: unknown): void {
    let node: HelmValues | unknown[] = root;
    for (let i = 0; i < steps.length; i++) {
        const step = steps[i];
        // A map key or a list index: the same walk either way.
        const slot = "key" in step ? step.key : step.index;
        const container = node as Record<string | number, unknown>;
        if (Array.isArray(node)) {
            while (node.length <= (slot as number)) {
                node.push(null);
            }
        }
        if (i === steps.length - 1) {
            defineSlot(container, slot, value);
            return;
        }
        const wanted = steps[i + 1];
        // Own values only: an inherited one (a method of Object.prototype) is never walked into.
        const existing = Object.hasOwn(container, slot) ? container[slot] : undefined;
        const fits = "index" in wanted ? Array.isArray(existing) : isPlainObject(existing);
        const next = fits ? existing : containerFor(wanted);
        defineSlot(container, slot, next);
        node = next as HelmValues | unknown[];
    }
}

/** Parse one `path=value` string. */
export function parseSetValue(assignment: string): { steps: PathStep[]; value: unknown } {
    const eq = assignment.indexOf("=");
    if (eq <= 0) {
        throw new Error(`invalid value ${JSON.stringify(assignment)}: expected path=value`);
    }
    return { steps: parseValuePath(assignment.slice(0, eq)), value: typedValue(assignment.slice(eq + 1)) };
}

/** A deep copy of `base` with every assignment applied in order (later ones win). */
export function applySetValues(base: HelmValues, assignments: readonly string[]): HelmValues {
    const result = structuredClone(base);
    for (const assignment of assignments) {
        const { steps, value } = parseSetValue(assignment);
        setPath(result, steps, value);
    }
    return result;
}
