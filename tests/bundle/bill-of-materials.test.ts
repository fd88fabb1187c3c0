import { BomArtifact, BomImage, billOfMaterials, bomKey, loadedImages } from "../../lib/bundle/bill-of-materials";
import { CERT_MANAGER_BY_CLUSTER_API, certManagerVersion } from "../../lib/bundle/cert-manager";
import { isBundleRelativePath } from "../../lib/bundle/manifest";
import { VERSION_RANGES, isInRange } from "../../lib/config-formats";
import { CERT_MANAGER_VERSION } from "../../lib/render/cluster-api-operator";
import { ACTION_IMAGES } from "../../lib/render/workflow";
import { kubeVipCommand } from "../../lib/render/cluster-api";
import { REAL_MACHINES_CONFIG, labPlan, sampleKubeconfig } from "../fixtures";
import { devStack } from "../render/support";

function refs(bom: BomArtifact[], filter: (a: BomArtifact) => boolean = () => true): string[] {
    return bom.filter(filter).map((a) => (a.kind === "chart" ? `${a.ref}@${a.version}` : a.ref));
}

describe("bill of materials", () => {
    const { config, plan } = devStack();
    const bom = billOfMaterials(config, plan);

    test("the dev stack: what docker loads, what the KinD node loads, the charts and clusterctl's repository", () => {
        expect(refs(loadedImages(bom, "docker"))).toEqual([config.kindNodeImage, config.vbmcImage]);
        expect(refs(loadedImages(bom, "kind-node"))).toEqual([
            `ghcr.io/tinkerbell/tinkerbell:${config.tinkerbellVersion}`,
            "ghcr.io/jacobweinstock/relay-init:v0.1.0",
            "nginx:1.29.5",
            config.captainosImage,
            "ghcr.io/kube-vip/kube-vip:v1.0.0",
            `registry.k8s.io/cluster-api/cluster-api-controller:${config.clusterctlVersion}`,
            `registry.k8s.io/cluster-api/kubeadm-bootstrap-controller:${config.clusterctlVersion}`,
            `registry.k8s.io/cluster-api/kubeadm-control-plane-controller:${config.clusterctlVersion}`,
            `ghcr.io/tinkerbell/cluster-api-provider-tinkerbell:${config.captVersion}`,
            "quay.io/jetstack/cert-manager-controller:v1.20.1",
            "quay.io/jetstack/cert-manager-webhook:v1.20.1",
            "quay.io/jetstack/cert-manager-cainjector:v1.20.1",
        ]);
        expect(refs(bom, (a) => a.kind === "chart")).toEqual([
            `oci://ghcr.io/tinkerbell/charts/tinkerbell@${config.tinkerbellVersion}`,
            `https://helm.cilium.io/cilium@${config.ciliumVersion}`,
        ]);
        const files = bom.filter((a) => a.kind === "file").map((a) => a.file);
        expect(files).toEqual([
            "clusterctl/cluster-api/v1.12.5/core-components.yaml",
            "clusterctl/cluster-api/v1.12.5/metadata.yaml",
            "clusterctl/bootstrap-kubeadm/v1.12.5/bootstrap-components.yaml",
            "clusterctl/bootstrap-kubeadm/v1.12.5/metadata.yaml",
            "clusterctl/control-plane-kubeadm/v1.12.5/control-plane-components.yaml",
            "clusterctl/control-plane-kubeadm/v1.12.5/metadata.yaml",
            "clusterctl/infrastructure-tinkerbell/v0.7.0/infrastructure-components.yaml",
            "clusterctl/infrastructure-tinkerbell/v0.7.0/metadata.yaml",
            "clusterctl/cert-manager/v1.20.1/cert-manager.yaml",
        ]);
        expect(bom.find((a) => a.file.endsWith("cert-manager.yaml"))?.ref).toBe(
            "https://github.com/cert-manager/cert-manager/releases/download/v1.20.1/cert-manager.yaml",
        );
    });

    test("HookOS is not served, so its download script is not needed", () => {
        expect(refs(bom).some((ref) => ref.startsWith("bash:"))).toBe(false);
    });

    test("what the machines pull is listed but never loaded by the lab", () => {
        const machines = bom.filter((a) => a.usedBy === "machines");
        expect(machines.every((a) => a.load === "none" && a.kind === "image")).toBe(true);
        expect(refs(machines)).toEqual(
            expect.arrayContaining([
                `ghcr.io/tinkerbell/tink-agent:${config.tinkerbellVersion}`,
                `ghcr.io/kube-vip/kube-vip:${config.kubeVipVersion}`,
                ...Object.values(ACTION_IMAGES),
                `quay.io/cilium/cilium:v${config.ciliumVersion}`,
            ]),
        );
        // The kube-vip the control plane pulls is the one the BOM lists.
        expect(kubeVipCommand(config, plan)).toContain(
            `ctr images pull ghcr.io/kube-vip/kube-vip:${config.kubeVipVersion}`,
        );
    });

    test("every artifact once, with a file inside the bundle and a purpose", () => {
        expect(new Set(bom.map(bomKey)).size).toBe(bom.length);
        for (const a of bom) {
            expect(isBundleRelativePath(a.file)).toBe(true);
            expect(a.purpose).not.toBe("");
        }
        const images = bom.filter((a): a is BomImage => a.kind === "image");
        expect(images.every((a) => a.normalized.split("/")[0].includes("."))).toBe(true);
    });

    test("the chart's images follow the user's extra values", () => {
        const custom = labPlan({
            tinkerbellExtraValues: ["deployment.init.image=example.com/relay:v2", "optional.kubevip.enabled=false"],
        });
        const images = refs(billOfMaterials(custom.config, custom.plan));
        expect(images).toContain("example.com/relay:v2");
        expect(images).not.toContain("ghcr.io/jacobweinstock/relay-init:v0.1.0");
        expect(images).not.toContain("ghcr.io/kube-vip/kube-vip:v1.0.0");
    });

    test("modes change the list: kube-router's manifest, real machines, an external Tinkerbell, no workload wait", () => {
        const kubeRouter = labPlan({ cni: "kube-router" });
        const kr = billOfMaterials(kubeRouter.config, kubeRouter.plan);
        expect(kr.find((a) => a.kind === "file" && a.file === "files/kubeadm-kuberouter.yaml")?.ref).toBe(
            kubeRouter.config.kubeRouterManifest,
        );
        expect(refs(kr)).toContain("docker.io/cloudnativelabs/kube-router");

        const real = labPlan(REAL_MACHINES_CONFIG);
        expect(refs(billOfMaterials(real.config, real.plan))).not.toContain(real.config.vbmcImage);

        const external = labPlan({
            externalTinkerbell: true,
            tinkerbellKubeconfig: sampleKubeconfig(),
            tinkerbellVip: "10.71.0.40",
        });
        const ext = refs(billOfMaterials(external.config, external.plan));
        expect(ext.some((ref) => ref.includes("tinkerbell/tinkerbell:"))).toBe(false);
        expect(ext.some((ref) => ref.startsWith("oci://"))).toBe(false);

        const noWait = labPlan({ waitForWorkload: false });
        expect(billOfMaterials(noWait.config, noWait.plan).some((a) => a.ref.includes("cilium"))).toBe(false);
    });
});

describe("cert-manager per Cluster API release", () => {
    test("every table entry is a release of the supported range", () => {
        for (const release of Object.keys(CERT_MANAGER_BY_CLUSTER_API)) {
            expect(isInRange(release, VERSION_RANGES.clusterctlVersion)).toBe(true);
        }
    });

    test("a patch the table does not know takes its minor's newest known entry", () => {
        expect(certManagerVersion("v1.12.5")).toBe("v1.20.1");
        expect(certManagerVersion("v1.12.40")).toBe(CERT_MANAGER_BY_CLUSTER_API["v1.12.11"]);
        expect(certManagerVersion("v1.13.9")).toBe(CERT_MANAGER_BY_CLUSTER_API["v1.13.5"]);
        expect(() => certManagerVersion("v1.9.0")).toThrow(/no cert-manager release is known/);
    });

    test("the operator installer's cert-manager chart is the one clusterctl of the default release installs", () => {
        expect(CERT_MANAGER_VERSION).toBe(certManagerVersion(labPlan().config.clusterctlVersion));
    });
});
