/**
 * Input checks shared by the providers. Values reach `check` as plain JSON; under
 * `pulumi.runtime.setMocks` (and from engines that pass secrets through) secret values arrive
 * wrapped in Pulumi's secret envelope, which `unwrapSecrets` removes.
 */
import type { CheckFailure } from "@pulumi/pulumi/dynamic";
import type { OwnerTag } from "../../lib/libvirt/ownership";

/** Pulumi's wire signature of a secret value ({"<sig key>": "<secret sig>", value}). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/**
 * Pulumi's wire form of a value not known yet: in previews, and when the engine asks whether a
 * dependent must be replaced along with a resource it is replacing (its inputs that depend on that
 * resource are then unknown).
 */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function isUnknown(value: unknown): boolean {
    return value === UNKNOWN;
}

export function unwrapSecrets(value: unknown): unknown {
    if (Array.isArray(value)) {
        return value.map(unwrapSecrets);
    }
    if (typeof value === "object" && value !== null) {
        const record = value as Record<string, unknown>;
        if (record[SIG_KEY] === SECRET_SIG) {
            return unwrapSecrets(record.value);
        }
        return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

export interface InputChecker {
    readonly failures: CheckFailure[];
    fail(property: string, reason: string): void;
    string(property: string, pattern: RegExp, expected: string): string;
    owner(): OwnerTag;
    boolean(property: string, fallback: boolean): boolean;
    integer(property: string, min: number, max: number): number;
}

/**
 * Collects check failures; each getter returns a usable value even when it records a failure.
 * A closure rather than a class: Pulumi's function serializer drops class field initializers.
 */
export function inputChecker(inputs: Record<string, unknown>): InputChecker {
    const failures: CheckFailure[] = [];
    const fail = (property: string, reason: string) => void failures.push({ property, reason });
    return {
        failures,
        fail,
        string(property, pattern, expected) {
            const value = inputs[property];
            if (typeof value !== "string" || !pattern.test(value)) {
                fail(property, `expected ${expected}, got ${JSON.stringify(value)}`);
                return typeof value === "string" ? value : "";
            }
            return value;
        },
        owner() {
            const value = inputs.owner as Partial<OwnerTag> | undefined;
            if (
                !value ||
                typeof value.project !== "string" ||
                !value.project ||
                typeof value.stack !== "string" ||
                !value.stack
            ) {
                fail("owner", `expected {project, stack} naming this stack, got ${JSON.stringify(value)}`);
                return { project: String(value?.project ?? ""), stack: String(value?.stack ?? "") };
            }
            return { project: value.project, stack: value.stack };
        },
        boolean(property, fallback) {
            const value = inputs[property];
            if (value === undefined || value === null) {
                return fallback;
            }
            if (typeof value !== "boolean") {
                fail(property, `expected true or false, got ${JSON.stringify(value)}`);
                return fallback;
            }
            return value;
        },
        integer(property, min, max) {
            const value = inputs[property];
            if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
                fail(property, `expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
                return typeof value === "number" ? value : min;
            }
            return value;
        },
    };
}

/** libvirt object names we create: no slashes or spaces, nothing virsh could misread as an option. */
export const OBJECT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$/;
/** A libvirt connection URI such as qemu:///system or qemu+ssh://user@host/system. */
export const LIBVIRT_URI = /^[a-z][a-z0-9+]*:\/\/[^\s]*$/;
