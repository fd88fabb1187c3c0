import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { billOfMaterials } from "../../lib/bundle/bill-of-materials";
import { BundleFileFact, bundleArtifactFor, bundleFixCommand, checkBundle } from "../../lib/bundle/check";
import { BundleManifest } from "../../lib/bundle/manifest";
import { bundleFileFact, readBundleManifest } from "../../lib/bundle/read";
import { labPlan } from "../fixtures";
import { fixtureContent, manifestFor, writeBundle } from "./support";

const { config, plan } = labPlan({});
const bom = billOfMaterials(config, plan);
const DIGEST = `sha256:${"cd".repeat(32)}`;

/** `text` as a regular expression that matches exactly it. */
function escapeRegExp(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Every file present with the size the manifest records. */
function allPresent(manifest: BundleManifest) {
    const sizes = new Map(manifest.artifacts.map((a) => [a.file, a.size]));
    return (file: string): BundleFileFact =>
        sizes.has(file) ? { kind: "file", size: sizes.get(file)! } : { kind: "missing" };
}

describe("a bundle against the bill of materials", () => {
    test("a complete bundle has no problem", () => {
        const manifest = manifestFor(bom);
        const result = checkBundle(bom, manifest, allPresent(manifest));
        expect(result.problems).toEqual([]);
        expect(result.satisfied).toBe(bom.length);
    });

    test("images match in normal form: the bundle may name nginx as docker.io/library/nginx", () => {
        const manifest = manifestFor(bom);
        const nginx = manifest.artifacts.find((a) => a.ref === "nginx:1.29.5")!;
        nginx.ref = "docker.io/library/nginx:1.29.5";
        expect(checkBundle(bom, manifest, allPresent(manifest)).problems).toEqual([]);
        expect(
            bundleArtifactFor(
                manifest,
                bom.find((a) => a.ref === "nginx:1.29.5")!,
            ),
        ).toBe(nginx);
    });

    test("every missing or mismatched artifact is named, lab ones as errors, machine ones as warnings", () => {
        const manifest = manifestFor(bom);
        const drop = (ref: string) =>
            manifest.artifacts.splice(
                manifest.artifacts.findIndex((a) => a.ref === ref),
                1,
            );
        drop(config.vbmcImage);
        drop(`ghcr.io/tinkerbell/tink-agent:${config.tinkerbellVersion}`);
        const chartEntry = manifest.artifacts.find((a) => a.kind === "chart" && a.ref.startsWith("oci://"))!;
        (chartEntry as { version: string }).version = "v0.24.0";
        const capt = manifest.artifacts.find((a) => a.ref.includes("cluster-api-provider-tinkerbell:"))!;
        capt.ref = "ghcr.io/tinkerbell/cluster-api-provider-tinkerbell:v0.6.9";
        const core = manifest.artifacts.find((a) => a.file.endsWith("core-components.yaml"))!;
        core.file = "files/core-components.yaml";
        const node = manifest.artifacts.find((a) => a.ref === config.kindNodeImage)!;
        (node as { repoDigest?: string }).repoDigest = DIGEST;
        const sizes = allPresent(manifest);
        const relay = manifest.artifacts.find((a) => a.ref.includes("relay-init"))!;
        const certs = manifest.artifacts.find((a) => a.file.endsWith("cert-manager.yaml"))!;
        const kubevip = manifest.artifacts.find((a) => a.ref === "ghcr.io/kube-vip/kube-vip:v1.0.0")!;
        const tink = manifest.artifacts.find((a) => a.ref.startsWith("ghcr.io/tinkerbell/tinkerbell:"))!;
        const facts = (file: string): BundleFileFact => {
            if (file === relay.file) return { kind: "file", size: relay.size + 1 };
            if (file === certs.file) return { kind: "symlink" };
            if (file === kubevip.file) return { kind: "outside", realPath: "/etc/passwd" };
            if (file === tink.file) return { kind: "missing" };
            return sizes(file);
        };
        const { problems, satisfied } = checkBundle(bom, manifest, facts);
        const lines = problems.map((p) => `${p.severity} ${p.subject}: ${p.message}`);
        expect(lines).toEqual(
            expect.arrayContaining([
                expect.stringMatching(
                    new RegExp(
                        `^error image ${escapeRegExp(config.vbmcImage)}: not in the bundle; the lab needs it offline`,
                    ),
                ),
                expect.stringMatching(
                    /^warning image ghcr.io\/tinkerbell\/tink-agent:.*: not in the bundle; tink-agent.*pulled by the machines/,
                ),
                expect.stringMatching(
                    /^error chart oci:\/\/ghcr.io\/tinkerbell\/charts\/tinkerbell .*: wrong version: the bundle has v0.24.0, the plan needs/,
                ),
                expect.stringMatching(
                    /^error image ghcr.io\/tinkerbell\/cluster-api-provider-tinkerbell:v0.7.0: the bundle has ghcr.io\/tinkerbell\/cluster-api-provider-tinkerbell:v0.6.9 instead/,
                ),
                expect.stringMatching(
                    /^error file .*core-components.yaml: the bundle holds it at files\/core-components.yaml; the lab reads clusterctl\/cluster-api\/v1.12.5\/core-components.yaml/,
                ),
                expect.stringMatching(
                    /^error image kindest\/node:.*: the lab pins the digest sha256:452d.*, the bundle's image has the digest sha256:cdcd/,
                ),
                expect.stringMatching(
                    /^error image ghcr.io\/jacobweinstock\/relay-init:v0.1.0: its file .* has \d+ bytes, the manifest records \d+/,
                ),
                expect.stringMatching(/^error file .*cert-manager.yaml: its file .* is a symlink/),
                expect.stringMatching(
                    /^error image ghcr.io\/kube-vip\/kube-vip:v1.0.0: its file .* leads outside the bundle \(to \/etc\/passwd\)/,
                ),
                expect.stringMatching(/^error image ghcr.io\/tinkerbell\/tinkerbell:.*: its file .* is missing/),
            ]),
        );
        expect(problems).toHaveLength(10);
        expect(satisfied).toBe(bom.length - 10);
    });

    test("the fix names the stack and the folder", () => {
        expect(bundleFixCommand("lab2", "/srv/bundle")).toBe("npm run bundle -- --stack lab2 --out /srv/bundle");
    });
});

describe("a bundle on disk", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "capt bundle "));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    test("written whole, it reads back and checks clean", () => {
        writeBundle(dir, bom);
        const manifest = readBundleManifest(dir);
        expect(checkBundle(bom, manifest, (file) => bundleFileFact(dir, file)).problems).toEqual([]);
    });

    test("symlinks, folders leading out, other sizes and folders in place of files are seen", () => {
        const manifest = writeBundle(dir, bom);
        const [a, b, c, d] = manifest.artifacts.filter((x) => x.kind === "image").map((x) => x.file);
        const outside = fs.mkdtempSync(path.join(os.tmpdir(), "capt-outside-"));
        try {
            fs.rmSync(path.join(dir, a));
            fs.symlinkSync(path.join(dir, b), path.join(dir, a));
            fs.appendFileSync(path.join(dir, b), "more");
            fs.rmSync(path.join(dir, c));
            fs.mkdirSync(path.join(dir, c));
            fs.mkdirSync(path.join(outside, "files"));
            fs.writeFileSync(path.join(outside, "files", "x"), "x");
            fs.symlinkSync(outside, path.join(dir, "elsewhere"));
            expect(bundleFileFact(dir, a)).toEqual({ kind: "symlink" });
            expect(bundleFileFact(dir, b)).toEqual({ kind: "file", size: Buffer.byteLength(fixtureContent(b)) + 4 });
            expect(bundleFileFact(dir, c)).toEqual({ kind: "not-a-file" });
            expect(bundleFileFact(dir, d)).toEqual({ kind: "file", size: Buffer.byteLength(fixtureContent(d)) });
            expect(bundleFileFact(dir, "elsewhere/files/x")).toEqual({
                kind: "outside",
                realPath: path.join(fs.realpathSync(outside), "files", "x"),
            });
            expect(bundleFileFact(dir, "images/none.tar")).toEqual({ kind: "missing" });
        } finally {
            fs.rmSync(outside, { recursive: true, force: true });
        }
    });

    test("no bundle.json, a symlinked one, an invalid one: one clear error each", () => {
        expect(() => readBundleManifest(path.join(dir, "nope"))).toThrow(/does not exist: the folder does not exist/);
        expect(() => readBundleManifest(dir)).toThrow(/bundle.json does not exist: the folder holds no bundle/);
        fs.writeFileSync(path.join(dir, "real.json"), "{}");
        fs.symlinkSync(path.join(dir, "real.json"), path.join(dir, "bundle.json"));
        expect(() => readBundleManifest(dir)).toThrow(/is a symlink/);
        fs.rmSync(path.join(dir, "bundle.json"));
        fs.writeFileSync(path.join(dir, "bundle.json"), JSON.stringify({ schemaVersion: 1, createdBy: "x" }));
        expect(() => readBundleManifest(dir)).toThrow(/artifacts: expected a list of artifacts/);
    });
});
