/** What changed between the two renders of one stack, object by object. */
import { RenderedObject, RenderedStack } from "./objects";
import { unifiedDiff } from "./unified";

export interface ChangedObject {
    label: string;
    diff: string;
}

/** An added object that takes over from a removed one, e.g. a template named after its version. */
export interface Replacement {
    label: string;
    replaces: string;
    diff: string;
}

export interface ObjectChanges {
    machinesAdded: string[];
    machinesRemoved: string[];
    added: RenderedObject[];
    removed: RenderedObject[];
    changed: ChangedObject[];
    /** Added objects paired with the removed object they replace, with the diff between the two. */
    replacements: Replacement[];
}

export type StackResult =
    | { stack: string; status: "unchanged" }
    | ({ stack: string; status: "changed" } & ObjectChanges)
    /** The stack file exists only in the working tree: everything is new. */
    | { stack: string; status: "added"; machines: string[]; objects: RenderedObject[] }
    /** The stack file was deleted: this is what its lab had. */
    | { stack: string; status: "deleted"; machines: string[]; objects: RenderedObject[] }
    /** One side (or both) could not be rendered; the message says why. */
    | { stack: string; status: "error"; base?: string; head?: string };

const byLabel = (a: { label: string }, b: { label: string }) => a.label.localeCompare(b.label);

/** A Kubernetes object's identity without a trailing version (`…-control-plane-v1-35-2`). */
function versionlessIdentity(object: RenderedObject): string | undefined {
    if (!object.kube) return undefined;
    const stem = object.kube.id.replace(/-v\d+(?:-\d+){1,2}$/, "");
    return stem === object.kube.id ? undefined : `${object.kube.group}/${object.kube.kind}/${stem}`;
}

/** Pairs each added object with the one removed object of the same kind and versionless name. */
function findReplacements(added: RenderedObject[], removed: RenderedObject[]): Replacement[] {
    const replacements: Replacement[] = [];
    for (const after of added) {
        const identity = versionlessIdentity(after);
        if (identity === undefined) continue;
        const candidates = removed.filter((before) => versionlessIdentity(before) === identity);
        const rivals = added.filter((other) => versionlessIdentity(other) === identity);
        if (candidates.length === 1 && rivals.length === 1) {
            const before = candidates[0];
            replacements.push({
                label: after.label,
                replaces: before.label,
                diff: unifiedDiff(before.text, after.text, before.label, after.label),
            });
        }
    }
    return replacements;
}

export function compareRendered(stack: string, base: RenderedStack, head: RenderedStack): StackResult {
    const added = [...head.objects.values()].filter((object) => !base.objects.has(object.key)).sort(byLabel);
    const removed = [...base.objects.values()].filter((object) => !head.objects.has(object.key)).sort(byLabel);
    const changed: ChangedObject[] = [];
    for (const after of head.objects.values()) {
        const before = base.objects.get(after.key);
        if (before && before.text !== after.text) {
            changed.push({ label: after.label, diff: unifiedDiff(before.text, after.text, "base", "head") });
        }
    }
    changed.sort(byLabel);
    const machinesAdded = head.machines.filter((machine) => !base.machines.includes(machine));
    const machinesRemoved = base.machines.filter((machine) => !head.machines.includes(machine));
    if (added.length + removed.length + changed.length === 0) {
        return { stack, status: "unchanged" };
    }
    const replacements = findReplacements(added, removed);
    return { stack, status: "changed", machinesAdded, machinesRemoved, added, removed, changed, replacements };
}

function plural(count: number, word: string): string {
    return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** One line per stack, e.g. `dev: +1 machine, 3 objects added, 1 changed`. */
export function summarize(result: StackResult): string {
    switch (result.status) {
        case "unchanged":
            return `${result.stack}: no changes`;
        case "added":
            return `${result.stack}: new stack, ${plural(result.machines.length, "machine")}, ${plural(result.objects.length, "object")}`;
        case "deleted":
            return `${result.stack}: stack deleted (had ${plural(result.machines.length, "machine")}, ${plural(result.objects.length, "object")})`;
        case "error":
            return `${result.stack}: ${[result.base && `base: ${result.base}`, result.head && `head: ${result.head}`]
                .filter(Boolean)
                .join("; ")}`;
        case "changed": {
            const parts: string[] = [];
            if (result.machinesAdded.length) parts.push(`+${plural(result.machinesAdded.length, "machine")}`);
            if (result.machinesRemoved.length) parts.push(`-${plural(result.machinesRemoved.length, "machine")}`);
            const counts: Array<[number, string]> = [
                [result.added.length, "added"],
                [result.removed.length, "removed"],
                [result.changed.length, "changed"],
            ];
            const objects = counts.filter(([count]) => count > 0);
            objects.forEach(([count, what], index) => {
                parts.push(index === 0 ? `${plural(count, "object")} ${what}` : `${count} ${what}`);
            });
            return `${result.stack}: ${parts.join(", ")}`;
        }
    }
}
