import { billOfMaterials, BomArtifact } from "../../lib/bundle/bill-of-materials";
import { BundleArtifact } from "../../lib/bundle/manifest";
import {
    finalArtifacts,
    labTag,
    mergeRecorded,
    pullReference,
    recordedEntry,
    resumeDecision,
} from "../../lib/bundler/resume";
import { labPlan } from "../fixtures";
import { manifestFor } from "../bundle/support";

const PIN = `sha256:${"ab".repeat(32)}`;
const { config, plan } = labPlan({ kindNodeImage: `kindest/node:v1.35.0@${PIN}` });
const bom = billOfMaterials(config, plan);
const recorded = manifestFor(bom).artifacts;

function first<K extends BomArtifact["kind"]>(kind: K): Extract<BomArtifact, { kind: K }> {
    return bom.find((a) => a.kind === kind) as Extract<BomArtifact, { kind: K }>;
}

describe("what a run does with an artifact the folder may hold", () => {
    const file = first("file");
    const entry = recordedEntry(file, recorded)!;
    const intact = { kind: "file", size: entry.size } as const;

    test("not recorded: fetched", () => {
        expect(resumeDecision(file, undefined, { kind: "missing" })).toEqual({
            action: "fetch",
            reason: "not in the bundle yet",
        });
    });

    test("recorded and of the recorded size: hashed, then kept when the SHA-256 matches", () => {
        expect(resumeDecision(file, entry, intact)).toEqual({ action: "hash", entry });
        expect(resumeDecision(file, entry, intact, entry.sha256)).toEqual({ action: "keep", entry });
    });

    test("a corrupted file (same size, other bytes) is fetched again", () => {
        expect(resumeDecision(file, entry, intact, "00".repeat(32))).toMatchObject({
            action: "fetch",
            reason: expect.stringMatching(/SHA-256 differs/),
        });
    });

    test.each([
        [{ kind: "file", size: 1 }, /has 1 bytes/],
        [{ kind: "missing" }, /is missing/],
        [{ kind: "symlink" }, /is a symlink/],
        [{ kind: "not-a-file" }, /not a regular file/],
        [{ kind: "outside", realPath: "/etc/passwd" }, /leads outside/],
    ] as const)("a file seen as %j is fetched again, without hashing", (fact, reason) => {
        expect(resumeDecision(file, entry, fact)).toMatchObject({
            action: "fetch",
            reason: expect.stringMatching(reason),
        });
    });

    test("recorded at another place than the layout's: fetched", () => {
        expect(resumeDecision(file, { ...entry, file: "files/elsewhere.yaml" }, intact, entry.sha256)).toMatchObject({
            action: "fetch",
            reason: expect.stringMatching(/layout puts it at/),
        });
    });

    test("an image whose recorded registry digest is not the pinned one: fetched", () => {
        const node = bom.find((a) => a.ref.startsWith("kindest/node"))!;
        const nodeEntry = recordedEntry(node, recorded)!;
        const fact = { kind: "file", size: nodeEntry.size } as const;
        expect(resumeDecision(node, nodeEntry, fact, nodeEntry.sha256).action).toBe("keep");
        const other = { ...nodeEntry, repoDigest: `sha256:${"cd".repeat(32)}` } as BundleArtifact;
        expect(resumeDecision(node, other, fact, nodeEntry.sha256)).toMatchObject({
            action: "fetch",
            reason: expect.stringMatching(/pins sha256:abab/),
        });
    });

    test("an image recorded under another spelling of its reference is the same image", () => {
        const nginx = bom.find((a) => a.ref === "nginx:1.29.5")!;
        const entry = { ...recordedEntry(nginx, recorded)!, ref: "docker.io/library/nginx:1.29.5" };
        expect(recordedEntry(nginx, [entry])).toBe(entry);
    });

    test("a chart of another version is not this chart", () => {
        const chart = first("chart");
        const entry = recordedEntry(chart, recorded)! as Extract<BundleArtifact, { kind: "chart" }>;
        expect(recordedEntry(chart, [{ ...entry, version: "v9.9.9" }])).toBeUndefined();
    });
});

describe("bundle.json after a run", () => {
    test("the progress record's entries win over bundle.json's", () => {
        const [a, b] = recorded;
        const newer = { ...a, sha256: "ee".repeat(32) };
        expect(mergeRecorded([a, b], [newer])).toEqual([newer, b]);
    });

    test("entries of earlier runs stay while intact and not replaced, by key or by file", () => {
        const current = recorded.slice(0, 3);
        const otherStack = {
            ...recorded[0],
            ref: "ghcr.io/other/image:v1",
            file: "images/other.tar",
        } as BundleArtifact;
        const sameFile = { ...recorded[1], ref: "ghcr.io/other/image:v2" } as BundleArtifact;
        const broken = { ...recorded[0], ref: "ghcr.io/other/image:v3", file: "images/broken.tar" } as BundleArtifact;
        const result = finalArtifacts(current, [recorded[0], otherStack, sameFile, broken], (e) => e !== broken);
        expect(result).toEqual([...current, otherStack]);
    });
});

describe("image names", () => {
    test("the saved image carries the lab's reference without its digest", () => {
        expect(labTag(`kindest/node:v1.35.0@${PIN}`)).toBe("kindest/node:v1.35.0");
        expect(labTag("quay.io/tinkerbell/actions/kexec")).toBe("quay.io/tinkerbell/actions/kexec");
        expect(labTag(`ghcr.io/x/y@${PIN}`)).toBeUndefined();
    });

    test("a pinned image is pulled by its digest alone", () => {
        expect(pullReference(`127.0.0.1:5000/docker.io/kindest/node:v1.35.0@${PIN}`)).toBe(
            `127.0.0.1:5000/docker.io/kindest/node@${PIN}`,
        );
        expect(pullReference(`nginx:1.29@${PIN}`)).toBe(`nginx@${PIN}`);
        expect(pullReference(`localhost:5000/x@${PIN}`)).toBe(`localhost:5000/x@${PIN}`);
        expect(pullReference("localhost:5000/x:v1")).toBe("localhost:5000/x:v1");
    });
});
