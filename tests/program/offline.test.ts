/**
 * The whole program under strict mocks with offlineBundle, in update and preview mode: every image the
 * lab loads has its own load resource, before whatever needs it; nothing is pulled.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { billOfMaterials } from "../../lib/bundle/bill-of-materials";
import { imageSlug } from "../../lib/bundle/loads";
import { BundleManifest } from "../../lib/bundle/manifest";
import { labPlan } from "../fixtures";
import { writeBundle } from "../bundle/support";
import {
    PROGRAM_RUN_TIMEOUT_MS,
    ProgramRun,
    byType,
    isSecretValue,
    one,
    plainStrings,
    runProgram,
    transitiveDependencies,
} from "./harness";

const COMMAND = "command:local:Command";

let bundle: string;
let manifest: BundleManifest;
beforeAll(() => {
    bundle = fs.mkdtempSync(path.join(os.tmpdir(), "capt-offline-"));
    const { config, plan } = labPlan({ offlineBundle: bundle });
    manifest = writeBundle(bundle, billOfMaterials(config, plan));
});
afterAll(() => fs.rmSync(bundle, { recursive: true, force: true }));

/** A Command's environment; an environment holding a secret arrives wrapped whole in update mode. */
function environment(run: ProgramRun, name: string): Record<string, unknown> {
    const value = one(run, COMMAND, name).inputs.environment as Record<string, unknown>;
    return isSecretValue(value) ? (value.value as Record<string, unknown>) : value;
}

describe.each([false, true])("an offline lab, preview=%s", (preview) => {
    let run: ProgramRun;
    let bom: ReturnType<typeof billOfMaterials>;
    beforeAll(async () => {
        run = await runProgram({ preflight: "false", offlineBundle: bundle }, { stack: "dev", preview });
        const { config, plan } = labPlan({ offlineBundle: bundle });
        bom = billOfMaterials(config, plan);
    }, PROGRAM_RUN_TIMEOUT_MS);

    const loads = (target: "docker" | "kind-node") =>
        bom.filter((a) => a.kind === "image" && a.load === target).map((a) => a.ref);

    test("one load per image, named after it, in a component of its kind", () => {
        const hostNames = loads("docker").map((ref) => `bundle-host-${imageSlug(ref)}`);
        const nodeNames = loads("kind-node").map((ref) => `bundle-node-${imageSlug(ref)}`);
        expect(hostNames).toContain("bundle-host-kindest-node-v1.35.0");
        expect(nodeNames).toContain("bundle-node-ghcr.io-tinkerbell-captain-artifacts-v0.0.0-a4be23c");
        const host = one(run, "capt-playground:index:BundleHostImages", "bundle-host");
        const node = one(run, "capt-playground:index:BundleNodeImages", "bundle-node");
        const children = (parent: string) =>
            byType(run, COMMAND)
                .filter((r) => r.parent === parent)
                .map((r) => r.name);
        expect(children(host.urn)).toEqual(hostNames);
        expect(children(node.urn)).toEqual(nodeNames);
    });

    test("each load verifies the file and image id the bundle records, and names the image without a digest", () => {
        const nodeImage = manifest.artifacts.find((a) => a.ref.startsWith("kindest/node:"))!;
        expect(environment(run, "bundle-host-kindest-node-v1.35.0")).toMatchObject({
            BUNDLE_DIR: bundle,
            IMAGE_FILE: nodeImage.file,
            IMAGE_SHA256: nodeImage.sha256,
            IMAGE_REF: "kindest/node:v1.35.0",
            IMAGE_ID: nodeImage.kind === "image" ? nodeImage.imageId : "",
        });
        const host = one(run, COMMAND, "bundle-host-kindest-node-v1.35.0");
        expect(host.inputs.delete).toMatch(/bundle-docker-unload\.sh$/);
        expect(host.inputs.addPreviousOutputInEnv).toBe(true);
    });

    test("KinD waits for its node image; the BMC container runs the loaded image and pulls nothing", () => {
        const kind = one(run, COMMAND, "kind-cluster");
        expect(kind.dependencies).toContain(one(run, COMMAND, "bundle-host-kindest-node-v1.35.0").urn);
        expect(byType(run, "docker:index/remoteImage:RemoteImage")).toEqual([]);
        const container = one(run, "docker:index/container:Container", "bmc-container");
        // The lab's own virtual BMC image (the vbmcImage default), as the bundle holds it.
        const vbmcImage = labPlan({ offlineBundle: bundle }).config.vbmcImage;
        const vbmc = manifest.artifacts.find((a) => a.ref === vbmcImage)!;
        expect(container.inputs.image).toBe(vbmc.kind === "image" ? vbmc.imageId : "");
        expect(container.dependencies).toContain(one(run, COMMAND, `bundle-host-${imageSlug(vbmcImage)}`).urn);
    });

    test("every node load follows KinD and is deleted with it; the chart and clusterctl init follow every load", () => {
        const kind = one(run, COMMAND, "kind-cluster").urn;
        const nodeLoads = byType(run, COMMAND).filter((r) => r.name.startsWith("bundle-node-"));
        expect(nodeLoads).toHaveLength(loads("kind-node").length);
        for (const load of nodeLoads) {
            expect(load.dependencies).toContain(kind);
            expect(load.deletedWith).toBe(kind);
            expect(load.inputs.delete).toBeUndefined();
        }
        for (const dependent of [
            one(run, "kubernetes:helm.sh/v3:Release", "tinkerbell-release"),
            one(run, COMMAND, "capi-init"),
        ]) {
            const before = transitiveDependencies(run, dependent.urn);
            for (const load of nodeLoads) {
                expect({ dependent: dependent.name, load: load.name, before: before.has(load.urn) }).toEqual({
                    dependent: dependent.name,
                    load: load.name,
                    before: true,
                });
            }
        }
    });

    test("the chart and clusterctl's providers come from the bundle", () => {
        const release = one(run, "kubernetes:helm.sh/v3:Release", "tinkerbell-release");
        expect(release.inputs.chart).toBe(`${bundle}/charts/tinkerbell-v0.23.1-23da0880.tgz`);
        expect(release.inputs.repositoryOpts).toBeUndefined();
        const clusterctl = String(environment(run, "capi-init").CLUSTERCTL_CONFIG_CONTENT);
        expect(clusterctl).toContain(`url: ${bundle}/clusterctl/cluster-api/v1.12.5/core-components.yaml`);
        expect(clusterctl).toContain(`url: ${bundle}/clusterctl/cert-manager/v1.20.1/cert-manager.yaml`);
        expect(clusterctl).not.toContain("https://");
        const cilium = one(run, "kubernetes:helm.sh/v3:Release", "workload-cilium");
        expect(cilium.inputs.chart).toBe(`${bundle}/charts/cilium-1.17.3.tgz`);
    });

    test("no load carries a secret", () => {
        for (const load of byType(run, COMMAND).filter((r) => r.name.startsWith("bundle-"))) {
            expect(plainStrings(load.inputs).join("\n")).not.toMatch(/PRIVATE KEY|token|password/i);
        }
    });
});

test("a folder without a bundle stops the program before any resource, with the command that makes one", async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "capt-nobundle-"));
    try {
        const run = runProgram({ preflight: "false", offlineBundle: empty }, { stack: "dev", preview: true });
        await expect(run).rejects.toThrow(
            new RegExp(`bundle.json does not exist[\\s\\S]*npm run bundle -- --stack dev --out ${empty}`),
        );
    } finally {
        fs.rmSync(empty, { recursive: true, force: true });
    }
});
