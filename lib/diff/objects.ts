/**
 * A rendered stack (the directory `npm run render --out` writes) as named objects: each Kubernetes
 * object by kind/namespace/name, each libvirt domain by name, the chart values, the KinD config,
 * the clusterctl config and the plan. Diffs compare objects, not files, so a reordered manifest
 * file or a new object in the middle of one shows as exactly what it is.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { RENDER_MANIFEST } from "../render/out-dir";

export interface RenderedObject {
    /** Stable identity used to pair objects across the two sides. */
    key: string;
    /** What a reader sees: `Hardware tinkerbell/capt-dev-node1`, `libvirt domain capt-dev-node1`. */
    label: string;
    /** The object's YAML (XML for a domain), what the unified diff compares. */
    text: string;
    /** Kubernetes objects only: API group (`core` for v1), kind and namespace/name. */
    kube?: { group: string; kind: string; id: string };
}

export interface RenderedStack {
    objects: Map<string, RenderedObject>;
    /** Machine names from plan.json (or the domains, for a render without a plan). */
    machines: string[];
}

const NAMED_FILES: Record<string, string> = {
    "plan.json": "plan",
    "kind-config.yaml": "KinD config",
    "tinkerbell-values.yaml": "chart values (tinkerbell)",
    "clusterctl.yaml": "clusterctl config",
};

function listFiles(dir: string, prefix = ""): string[] {
    const files: string[] = [];
    for (const entry of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
        const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
        if (entry.isDirectory()) files.push(...listFiles(dir, relative));
        // render's record of what it wrote is bookkeeping, not something a stack deploys.
        else if (entry.isFile() && relative !== RENDER_MANIFEST) files.push(relative);
    }
    return files.sort();
}

interface KubeMeta {
    apiVersion?: unknown;
    kind?: unknown;
    metadata?: { name?: unknown; namespace?: unknown };
}

function kubeObjects(file: string, content: string): Array<{ group: string; kind: string; id: string; text: string }> {
    const result: Array<{ group: string; kind: string; id: string; text: string }> = [];
    parseAllDocuments(content).forEach((document, index) => {
        const value = document.toJS() as KubeMeta | null;
        if (value === null || value === undefined) return;
        const text = stringify(value, { lineWidth: 0 });
        const kind = typeof value.kind === "string" ? value.kind : "";
        const name = typeof value.metadata?.name === "string" ? value.metadata.name : "";
        if (!kind || !name) {
            result.push({ group: "", kind: "document", id: `${file}#${index + 1}`, text });
            return;
        }
        const apiVersion = typeof value.apiVersion === "string" ? value.apiVersion : "";
        const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.lastIndexOf("/")) : "core";
        const namespace = typeof value.metadata?.namespace === "string" ? value.metadata.namespace : "";
        result.push({ group, kind, id: namespace ? `${namespace}/${name}` : name, text });
    });
    return result;
}

/** Reads one rendered directory. Unknown files are kept as `file <path>` objects. */
export function readRenderedStack(dir: string): RenderedStack {
    const objects = new Map<string, RenderedObject>();
    const add = (object: RenderedObject) => {
        let key = object.key;
        for (let n = 2; objects.has(key); n++) key = `${object.key}#${n}`;
        objects.set(key, { ...object, key });
    };
    let machines: string[] | undefined;
    const domains: string[] = [];
    for (const file of listFiles(dir)) {
        const content = fs.readFileSync(path.join(dir, file), "utf8");
        const domain = /^domains\/(.+)\.xml$/.exec(file);
        if (domain) {
            domains.push(domain[1]);
            add({ key: `domain/${domain[1]}`, label: `libvirt domain ${domain[1]}`, text: content });
        } else if (file === "plan.json") {
            let plan: unknown;
            try {
                plan = JSON.parse(content);
            } catch {
                plan = undefined;
            }
            const nodes = (plan as { nodes?: Array<{ name?: unknown }> } | undefined)?.nodes;
            if (Array.isArray(nodes)) {
                machines = nodes.map((node) => node?.name).filter((name): name is string => typeof name === "string");
            }
            add({ key: "plan", label: "plan", text: plan === undefined ? content : stringify(plan, { lineWidth: 0 }) });
        } else if (NAMED_FILES[file]) {
            add({ key: file, label: NAMED_FILES[file], text: content });
        } else if (/^manifests\/.+\.ya?ml$/.test(file)) {
            for (const object of kubeObjects(file, content)) {
                add({
                    key: `k8s/${object.group}/${object.kind}/${object.id}`,
                    label: `${object.kind} ${object.id}`,
                    text: object.text,
                    kube: { group: object.group, kind: object.kind, id: object.id },
                });
            }
        } else {
            add({ key: `file/${file}`, label: `file ${file}`, text: content });
        }
    }
    return { objects, machines: machines ?? domains };
}

/**
 * Labels name kind/namespace/name; when one kind exists in two API groups (Rufio's BMC `Machine`
 * and Cluster API's `Machine`) the group is added (`Machine.bmc.tinkerbell.org`) so the two
 * cannot be mistaken for each other.
 */
export function disambiguateLabels(stacks: RenderedStack[]): void {
    // Rufio's `Machine` is a BMC; shown without its group it reads as Cluster API's Machine.
    const groupsByKind = new Map<string, Set<string>>([["Machine", new Set(["cluster.x-k8s.io"])]]);
    for (const stack of stacks) {
        for (const { kube } of stack.objects.values()) {
            if (kube && kube.kind !== "document") {
                groupsByKind.set(kube.kind, (groupsByKind.get(kube.kind) ?? new Set()).add(kube.group));
            }
        }
    }
    for (const stack of stacks) {
        for (const object of stack.objects.values()) {
            const kube = object.kube;
            if (kube && (groupsByKind.get(kube.kind)?.size ?? 0) > 1) {
                object.label = `${kube.kind}.${kube.group} ${kube.id}`;
            }
        }
    }
}
