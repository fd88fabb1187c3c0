/**
 * The oldest Pulumi CLI (engine) the lab supports, and how a CLI's version is read.
 *
 * 3.248.0 is the Node.js SDK the program is built with (package.json pins @pulumi/pulumi to it):
 * an older engine may lack what that SDK asks for. The lab itself needs nothing newer: a recreated
 * KinD cluster replaces its Kubernetes provider (and so every object on it) through the provider's
 * own diff, which every 3.x engine acts on.
 */
import * as semver from "semver";

export const MINIMUM_PULUMI_VERSION = "3.248.0";

/** The range the program hands to the engine's RequirePulumiVersion check. */
export const PULUMI_VERSION_RANGE = `>=${MINIMUM_PULUMI_VERSION}`;

/** `pulumi version` prints e.g. `v3.265.0`; returns `3.265.0`, or undefined for anything else. */
export function parsePulumiVersion(output: string): string | undefined {
    const match = /^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)(?:\+\S*)?$/.exec(output.trim());
    return match && semver.valid(match[1]) ? match[1] : undefined;
}

/** Prereleases and dev builds of a version at or past the minimum count as that version. */
export function meetsMinimumVersion(version: string): boolean {
    const parsed = semver.coerce(version);
    return parsed !== null && semver.gte(parsed, MINIMUM_PULUMI_VERSION);
}
