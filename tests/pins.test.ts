/**
 * Reproducible by default: a lab made today and one made next month run the same images and charts.
 * Every image reference in what the defaults render (the objects, the chart values, the workflow's
 * actions, kube-vip's pull, the BMC container) and every default image and chart version is pinned
 * by digest or by a tag that names one build: a release version or a commit, never `latest` or no
 * tag at all. README "Versions and how to bump them" says where each pin lives.
 */
import { parseAllDocuments } from "yaml";
import { certManagerReleaseArgs, capiOperatorReleaseArgs } from "../components/cluster-api";
import { CONFIG_SCHEMA } from "../lib/config-schema";
import { renderLabFiles } from "../lib/render/files";
import { ACTION_IMAGES } from "../lib/render/workflow";
import { labPlan } from "./fixtures";

/** Tags that move: whatever was pushed last under them. */
const MOVING_TAGS = /^(latest|main|master|stable|edge|nightly|dev|head)$/i;

/** A reference pinned by digest, or by a tag naming one release or one commit. */
function isPinned(reference: string): boolean {
    if (/@sha256:[a-f0-9]{64}$/.test(reference)) return true;
    const last = reference.split("/").pop() ?? "";
    const tag = /:([\w][\w.-]{0,127})$/.exec(last)?.[1];
    if (tag === undefined || MOVING_TAGS.test(tag)) return false;
    return (
        /^v?\d+\.\d+\.\d+([-+][\w.-]+)?$/.test(tag) || // a release
        /^(sha-)?[0-9a-f]{7,40}$/.test(tag) || // a commit
        /-[0-9a-f]{7,40}$/.test(tag) // a version built from a commit (v0.0.0-a4be23c)
    );
}

/** Every image reference in a rendered file: `image:`/`IMAGE` values (also in embedded YAML text) and `ctr images pull`. */
function imageReferences(text: string): string[] {
    const found: string[] = [];
    const walk = (node: unknown): void => {
        if (typeof node === "string") {
            for (const match of node.matchAll(/ctr images pull (?:--hosts-dir \S+ )?(\S+)/g)) found.push(match[1]);
            if (/^\s*(\w+:|-)/m.test(node) && node.includes("\n")) {
                try {
                    parseAllDocuments(node).forEach((doc) => walk(doc.toJS()));
                } catch {
                    // not YAML text
                }
            }
        } else if (Array.isArray(node)) {
            node.forEach(walk);
        } else if (typeof node === "object" && node !== null) {
            for (const [key, value] of Object.entries(node)) {
                if (/^image$/i.test(key) && typeof value === "string") found.push(value);
                else walk(value);
            }
        }
    };
    try {
        parseAllDocuments(text).forEach((doc) => walk(doc.toJS()));
    } catch {
        walk(text);
    }
    return found;
}

test("the predicate: digests, releases and commits are pins; latest and no tag are not", () => {
    for (const pinned of [
        "kindest/node:v1.35.0@sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f",
        "ghcr.io/kube-vip/kube-vip:v1.1.2",
        "docker.io/library/registry:3.0.0",
        "ghcr.io/tinkerbell/captain/artifacts:v0.0.0-a4be23c",
        "ghcr.io/jacobweinstock/virtualbmc:sha-9e669b4",
        "10.71.0.20:5000/tinkerbell/actions/kexec:ae3e51dfb3c1dd54c143e6d2fe48c248ae86e78d",
    ]) {
        expect({ pinned, ok: isPinned(pinned) }).toEqual({ pinned, ok: true });
    }
    for (const moving of [
        "ghcr.io/jacobweinstock/virtualbmc:latest",
        "quay.io/tinkerbell/actions/oci2disk",
        "localhost:5000/busybox",
        "ghcr.io/x/y:main",
    ]) {
        expect({ moving, ok: isPinned(moving) }).toEqual({ moving, ok: false });
    }
});

describe.each([
    ["the defaults", {}],
    ["isoboot, the registry mirror and pivot", { bootMode: "isoboot", registryMirror: true, pivot: true }],
    ["the Cluster API Operator, arm64 machines", { clusterApiInstaller: "operator", machineArch: "aarch64" }],
])("%s", (_name, raw) => {
    const { config, plan } = labPlan(raw);

    test("every image reference in every rendered file is pinned", () => {
        const references = [...renderLabFiles(config, plan, true).values()].flatMap(imageReferences);
        // The render does name images (the workflow's actions, kube-vip, CaptainOS at least).
        expect(references.length).toBeGreaterThanOrEqual(5);
        expect(references.filter((reference) => !isPinned(reference))).toEqual([]);
    });
});

test("every default image and the workflow's action images are pinned", () => {
    const images = Object.entries(CONFIG_SCHEMA)
        .filter(([key]) => /Image$/.test(key))
        .map(([key, spec]) => [key, String(spec.default)]);
    expect(images.map(([key]) => key).sort()).toEqual(
        ["captainosImage", "kindNodeImage", "registryMirrorImage", "vbmcImage"].sort(),
    );
    for (const [key, image] of [...images, ...Object.entries(ACTION_IMAGES)]) {
        expect({ key, image, pinned: isPinned(image) }).toEqual({ key, image, pinned: true });
    }
});

test("every chart is installed at an exact version", () => {
    const { config } = labPlan({ clusterApiInstaller: "operator" });
    const exact = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;
    for (const [chart, version] of [
        ["tinkerbell", CONFIG_SCHEMA.tinkerbellVersion.default],
        ["cilium", CONFIG_SCHEMA.ciliumVersion.default],
        ["cluster-api-operator", capiOperatorReleaseArgs(config).version],
        ["cert-manager", certManagerReleaseArgs().version],
    ]) {
        expect({ chart, version, exact: exact.test(String(version)) }).toEqual({ chart, version, exact: true });
    }
    expect(CONFIG_SCHEMA.kubeRouterManifest.default).toMatch(/\/v\d+\.\d+\.\d+\//);
});
