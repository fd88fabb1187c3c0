/** What render changes for an offline lab (offlineBundle), and what it changes for every lab (cgroup v1). */
import { parse } from "yaml";
import { billOfMaterials } from "../../lib/bundle/bill-of-materials";
import { certManagerVersion } from "../../lib/bundle/cert-manager";
import { tinkerbellChartImages } from "../../lib/render/tinkerbell-chart";
import { clusterctlConfig, clusterctlYaml } from "../../lib/render/clusterctl";
import {
    CONTAINERD_RESTRICT_OOM_SCORE_ADJ_PATCH,
    KUBELET_CGROUP_V1_PATCH,
    kindClusterConfig,
} from "../../lib/render/kind-config";
import { offlineCiliumChart, offlineKubeRouterManifest, offlineTinkerbellChart } from "../../lib/render/offline";
import { tinkerbellValues } from "../../lib/render/tinkerbell-values";
import { tinkerbellReleaseArgs } from "../../components/tinkerbell-stack";
import { labPlan } from "../fixtures";
import { describeWithSchemas, schemaErrors } from "./support";

const BUNDLE = "/srv/capt-bundle";
const offline = labPlan({ offlineBundle: BUNDLE });
const online = labPlan({});
const bom = billOfMaterials(offline.config, offline.plan);
const bundleFiles = new Set(bom.filter((a) => a.kind !== "image").map((a) => `${BUNDLE}/${a.file}`));

describe("an offline lab's render", () => {
    test("the Tinkerbell chart is the bundle's archive, the file the bill of materials names", () => {
        const chart = offlineTinkerbellChart(offline.config)!;
        expect(bundleFiles.has(chart)).toBe(true);
        expect(tinkerbellReleaseArgs(offline.config, offline.plan)).toMatchObject({ chart });
        expect(tinkerbellReleaseArgs(offline.config, offline.plan).version).toBeUndefined();
        expect(offlineTinkerbellChart(online.config)).toBeUndefined();
        const localChart = labPlan({ offlineBundle: BUNDLE, tinkerbellChart: "/opt/charts/tinkerbell" });
        expect(offlineTinkerbellChart(localChart.config)).toBeUndefined();
        expect(tinkerbellReleaseArgs(localChart.config, localChart.plan).chart).toBe("/opt/charts/tinkerbell");
    });

    test("no pull policy the chart exposes may pull, and every image is named at the tag the BOM records", () => {
        const values = tinkerbellValues(offline.config, offline.plan) as Record<string, Record<string, unknown>>;
        expect(values.deployment).toMatchObject({
            imagePullPolicy: "Never",
            imageTag: offline.config.tinkerbellVersion,
            agentImageTag: offline.config.tinkerbellVersion,
        });
        expect(values.optional).toMatchObject({
            captainos: { pullPolicy: "Never" },
            kubevip: { imagePullPolicy: "Never" },
            hookos: { enabled: false },
        });
        // The images the chart runs with these values are the BOM's, before and after going offline.
        const images = (config: typeof offline) =>
            tinkerbellChartImages(tinkerbellValues(config.config, config.plan), config.config.tinkerbellVersion).map(
                (i) => i.ref,
            );
        expect(images(offline)).toEqual(images(online));
        for (const ref of images(offline)) {
            expect(bom.some((a) => a.kind === "image" && a.ref === ref)).toBe(true);
        }
    });

    test("the user's extra values still come last", () => {
        const custom = labPlan({
            offlineBundle: BUNDLE,
            tinkerbellExtraValues: ["deployment.imagePullPolicy=IfNotPresent"],
        });
        const values = tinkerbellValues(custom.config, custom.plan) as { deployment: Record<string, unknown> };
        expect(values.deployment.imagePullPolicy).toBe("IfNotPresent");
    });

    test("clusterctl installs every provider and cert-manager from the bundle's local repository", () => {
        const yaml = parse(clusterctlYaml(offline.config, offline.plan));
        expect(yaml.providers.map((p: { name: string; type: string }) => `${p.type}/${p.name}`)).toEqual([
            "CoreProvider/cluster-api",
            "BootstrapProvider/kubeadm",
            "ControlPlaneProvider/kubeadm",
            "InfrastructureProvider/tinkerbell",
        ]);
        for (const provider of yaml.providers) {
            expect(bundleFiles.has(provider.url)).toBe(true);
            // clusterctl's local repository: {base}/{provider-label}/{version}/{components file}, absolute.
            expect(provider.url).toMatch(
                /^\/srv\/capt-bundle\/clusterctl\/(cluster-api|bootstrap-kubeadm|control-plane-kubeadm|infrastructure-tinkerbell)\/v\d+\.\d+\.\d+\/[a-z-]+-components\.yaml$/,
            );
        }
        const version = certManagerVersion(offline.config.clusterctlVersion);
        expect(yaml["cert-manager"]).toEqual({
            url: `${BUNDLE}/clusterctl/cert-manager/${version}/cert-manager.yaml`,
            version,
        });
        expect(bundleFiles.has(yaml["cert-manager"].url)).toBe(true);
        expect(yaml.images).toEqual({ "infrastructure-tinkerbell": { tag: offline.config.captVersion } });
        expect(clusterctlConfig(online.config, online.plan)["cert-manager"]).toBeUndefined();
    });

    test("the CNI's chart and manifest are the bundle's", () => {
        expect(bundleFiles.has(offlineCiliumChart(offline.config)!)).toBe(true);
        const kubeRouter = labPlan({ offlineBundle: BUNDLE, cni: "kube-router" });
        const files = billOfMaterials(kubeRouter.config, kubeRouter.plan).map((a) => `${BUNDLE}/${a.file}`);
        expect(files).toContain(offlineKubeRouterManifest(kubeRouter.config));
        expect(offlineCiliumChart(online.config)).toBeUndefined();
    });

    test("the KinD node image is named without its digest (a loaded image has none); the bundle must carry it", () => {
        const node = kindClusterConfig(offline.config, offline.plan).nodes[0].image;
        expect(offline.config.kindNodeImage).toContain("@sha256:");
        expect(node).toBe(offline.config.kindNodeImage.split("@")[0]);
        expect(kindClusterConfig(online.config, online.plan).nodes[0].image).toBe(online.config.kindNodeImage);
    });
});

describe("every lab's KinD config runs on a cgroup v1 host", () => {
    test.each([
        ["connected", online],
        ["offline", offline],
        ["with the registry mirror", labPlan({ registryMirror: true })],
    ])("%s", (_label, { config, plan }) => {
        const kind = kindClusterConfig(config, plan);
        expect(kind.kubeadmConfigPatches).toEqual([KUBELET_CGROUP_V1_PATCH]);
        expect(kind.containerdConfigPatches?.[0]).toBe(CONTAINERD_RESTRICT_OOM_SCORE_ADJ_PATCH);
        expect(parse(KUBELET_CGROUP_V1_PATCH)).toEqual({ kind: "KubeletConfiguration", failCgroupV1: false });
    });
});

describeWithSchemas("an offline lab's KinD config against kind's schema", () => {
    test("valid", () => {
        expect(schemaErrors(kindClusterConfig(offline.config, offline.plan))).toEqual([]);
    });
});
