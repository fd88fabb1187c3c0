/** The preflight of an offline lab (the bundle against the plan) and of a cgroup v1 host. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { billOfMaterials } from "../lib/bundle/bill-of-materials";
import { readBundleFacts } from "../lib/host-facts";
import { Finding, HostFacts, evaluatePreflight, formatFindings, preflightFailed } from "../lib/preflight";
import { labPlan } from "./fixtures";
import { writeBundle } from "./bundle/support";

const GIB = 1024 ** 3;

function facts(overrides: Partial<HostFacts> = {}): HostFacts {
    return {
        arch: "x64",
        dockerServerVersion: { value: "28.2.2" },
        dockerDaemonConfig: { value: {} },
        dockerNetworks: { value: [{ name: "bridge", subnets: ["172.17.0.0/16"] }] },
        kindVersion: { value: "kind v0.31.0 go1.25.5 linux/amd64" },
        clusterctlVersion: { value: "v1.12.5" },
        kubectlVersion: { value: "Client Version: v1.35.0" },
        libvirtVersion: { value: "Using library: libvirt 9.0.0\n" },
        libvirtDomainCapabilities: {
            value: "<domainCapabilities><domain>kvm</domain><os><enum name='firmware'><value>efi</value></enum></os></domainCapabilities>",
        },
        firmwareFiles: ["/usr/share/OVMF/OVMF_CODE_4M.fd"],
        kvmDevice: { value: "read-write" },
        iptablesRules: { value: "-P FORWARD ACCEPT\n" },
        bridgeNetfilter: { value: "on" },
        routes: { value: [{ dst: "default", dev: "eth0" }] },
        resolvConfNameservers: { value: ["192.168.1.1"] },
        cpuCount: 8,
        memory: { value: { availableBytes: 24 * GIB, totalBytes: 32 * GIB } },
        storage: { value: { path: "/var/lib/libvirt/images", freeBytes: 200 * GIB } },
        cgroupVersion: { value: 2 },
        ...overrides,
    };
}

const of = (findings: Finding[], check: string) => findings.filter((f) => f.check === check);

describe("the host's cgroup version", () => {
    const lab = labPlan();

    test("v1: no error, the finding says what the lab does about it", () => {
        const [finding] = of(evaluatePreflight(lab.config, lab.plan, facts({ cgroupVersion: { value: 1 } })), "cgroup");
        expect(finding.status).toBe("ok");
        expect(finding.message).toMatch(/cgroup v1: .*failCgroupV1: false .*restrict_oom_score_adj/);
    });

    test("v2, and not checked without KinD", () => {
        expect(of(evaluatePreflight(lab.config, lab.plan, facts()), "cgroup")[0].message).toBe(
            "cgroup v2 (unified hierarchy)",
        );
    });
});

describe("an offline lab's bundle", () => {
    let dir: string;
    const lab = () => labPlan({ offlineBundle: dir });
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "capt-preflight-bundle-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const evaluate = () => {
        const { config, plan } = lab();
        return evaluatePreflight(config, plan, facts({ bundle: readBundleFacts(dir) }));
    };

    test("a complete bundle passes, and says what it holds", () => {
        const { config, plan } = lab();
        const bom = billOfMaterials(config, plan);
        writeBundle(dir, bom);
        const findings = evaluate();
        expect(preflightFailed(findings)).toBe(false);
        expect(of(findings, "bundle")).toEqual([
            {
                check: "bundle",
                status: "ok",
                message: `the bundle at ${dir} holds ${bom.length} of the ${bom.length} artifacts the plan needs; files are hashed when they are loaded`,
            },
        ]);
    });

    test("no bundle: one error with the command that makes it", () => {
        const findings = evaluate();
        expect(preflightFailed(findings)).toBe(true);
        expect(of(findings, "bundle")).toEqual([
            {
                check: "bundle",
                status: "error",
                message: expect.stringMatching(
                    /^no usable bundle at .* \(offlineBundle\): .*bundle.json does not exist/,
                ),
                fix: `npm run bundle -- --stack dev --out ${dir}`,
            },
        ]);
    });

    test("every missing or changed artifact is its own finding with the fix; the report shows them all", () => {
        const { config, plan } = lab();
        const manifest = writeBundle(dir, billOfMaterials(config, plan));
        const chart = manifest.artifacts.find((a) => a.kind === "chart" && a.ref.startsWith("oci://"))!;
        fs.rmSync(path.join(dir, chart.file));
        const capi = manifest.artifacts.find((a) => a.ref.includes("cluster-api-controller"))!;
        fs.appendFileSync(path.join(dir, capi.file), "x");
        const findings = of(evaluate(), "bundle");
        expect(findings.map((f) => [f.status, f.message])).toEqual([
            [
                "error",
                expect.stringMatching(
                    /^chart oci:\/\/ghcr.io\/tinkerbell\/charts\/tinkerbell .*: its file charts\/.* is missing$/,
                ),
            ],
            [
                "error",
                expect.stringMatching(
                    /^image registry.k8s.io\/cluster-api\/cluster-api-controller:.*: its file .* has \d+ bytes, the manifest records \d+/,
                ),
            ],
        ]);
        expect(findings.every((f) => f.fix === `npm run bundle -- --stack dev --out ${dir}`)).toBe(true);
        expect(formatFindings(evaluatePreflight(config, plan, facts({ bundle: readBundleFacts(dir) })))).toContain(
            `fix: npm run bundle -- --stack dev --out ${dir}`,
        );
    });

    test("what only the machines pull is a warning: the lab itself still runs offline", () => {
        const { config, plan } = lab();
        const bom = billOfMaterials(config, plan).filter((a) => a.usedBy === "lab");
        writeBundle(dir, bom);
        const findings = of(evaluate(), "bundle");
        expect(findings[0]).toMatchObject({
            status: "ok",
            message: expect.stringMatching(/the rest are pulled by the machines/),
        });
        expect(findings.slice(1).every((f) => f.status === "warning")).toBe(true);
        expect(findings.length).toBeGreaterThan(3);
        expect(preflightFailed(findings)).toBe(false);
    });
});

describe("the registry mirror against the lab's images", () => {
    test("the default upstreams cover every registry the bill of materials pulls from", () => {
        const { config, plan } = labPlan({ registryMirror: true });
        const [finding] = of(evaluatePreflight(config, plan, facts()), "registry-mirror");
        expect(finding).toMatchObject({ status: "ok" });
        expect(finding.message).toMatch(/ghcr.io.*docker.io.*registry.k8s.io.*quay.io/);
    });

    test("a registry missing from registryMirrorUpstreams is named with an image from it", () => {
        const { config, plan } = labPlan({ registryMirror: true, registryMirrorUpstreams: ["ghcr.io", "docker.io"] });
        const [finding] = of(evaluatePreflight(config, plan, facts()), "registry-mirror");
        expect(finding).toEqual({
            check: "registry-mirror",
            status: "warning",
            message: expect.stringMatching(
                /^images from registry.k8s.io \(e.g. registry.k8s.io\/cluster-api\/cluster-api-controller:v1.12.5\), quay.io \(e.g. quay.io\/jetstack\/cert-manager-controller:v1.20.1\) bypass the mirror/,
            ),
            fix: "add registry.k8s.io, quay.io to registryMirrorUpstreams",
        });
    });

    test("without the mirror there is no such check", () => {
        const { config, plan } = labPlan();
        expect(of(evaluatePreflight(config, plan, facts()), "registry-mirror")).toEqual([]);
    });
});
