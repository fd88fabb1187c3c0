/**
 * Every mode's rendered objects against the upstream schemas (strict: unknown fields fail), in one
 * table, so a mode that changes an object shape is checked where the others are. Core kinds
 * (Secret) have no CRD schema; the operator's provider objects are checked against its CRDs, and the
 * external Tinkerbell Secret's shape, in cluster-api-operator.test.ts.
 */
import { RawConfig } from "../../lib/config";
import { objectId } from "../../lib/render/kube-object";
import { REAL_MACHINES, REAL_MACHINES_CONFIG, labPlan, sampleKubeconfig } from "../fixtures";
import { describeWithSchemas, renderedObjects, schemaErrors } from "./support";

const MODES: [string, RawConfig][] = [
    [
        "existing management cluster with VIPs and gateway from config",
        {
            ...REAL_MACHINES_CONFIG,
            managementKubeconfig: sampleKubeconfig(),
            tinkerbellVip: "10.71.0.5",
            artifactsVip: "10.71.0.6",
            controlPlaneVip: "10.71.0.7",
            networkGateway: "10.71.0.254",
        },
    ],
    [
        "external Tinkerbell",
        { externalTinkerbell: true, tinkerbellKubeconfig: sampleKubeconfig(), tinkerbellVip: "10.71.0.60" },
    ],
    [
        "real machines, roles named",
        {
            ...REAL_MACHINES_CONFIG,
            machines: REAL_MACHINES.map((m, i) => ({ ...m, role: ["worker", "control-plane", "spare"][i] })),
        },
    ],
    ["registry mirror (the lab's caches)", { registryMirror: true }],
    [
        "registry mirror (the user's HTTPS mirror), ISO boot",
        { registryMirror: true, registryMirrorHost: "mirror.example.com", bootMode: "isoboot" },
    ],
    ["pivot", { pivot: true }],
    ["Cluster API Operator", { clusterApiInstaller: "operator" }],
    [
        "arm64 VMs, 3 control planes",
        { machineArch: "aarch64", domainType: "qemu", hardwareCount: 4, controlPlanes: 3, workers: 1 },
    ],
];

describeWithSchemas("each mode's objects against the upstream schemas (strict)", () => {
    test.each(MODES)("%s", (_title, raw) => {
        const { config, plan } = labPlan(raw);
        const objects = renderedObjects(config, plan);
        const failures = objects
            .filter((o) => !(o.apiVersion === "v1" && o.kind === "Secret"))
            .flatMap((o) => schemaErrors(o).map((e) => `${objectId(o)}: ${e}`));
        expect(failures).toEqual([]);
        expect(objects.filter((o) => o.kind === "Hardware")).toHaveLength(plan.machines.length);
    });
});
