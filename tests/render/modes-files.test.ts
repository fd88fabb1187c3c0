/** What `npm run render` writes in each mode: the files a mode needs, and none of those it drops. */
import { renderLabFiles } from "../../lib/render/files";
import { REAL_MACHINES_CONFIG, labPlan, sampleKubeconfig } from "../fixtures";

function filesOf(raw: Record<string, unknown>): string[] {
    const { config, plan } = labPlan(raw);
    return [...renderLabFiles(config, plan).keys()].sort();
}

test("the default lab: KinD config, chart values, clusterctl, manifests, one domain per VM", () => {
    expect(filesOf({})).toEqual([
        "clusterctl.yaml",
        "domains/capt-dev-node1.xml",
        "domains/capt-dev-node2.xml",
        "domains/capt-dev-node3.xml",
        "kind-config.yaml",
        "manifests/cluster-api.yaml",
        "manifests/inventory.yaml",
        "plan.json",
        "tinkerbell-values.yaml",
    ]);
});

test("real machines: no domain XML; plan.json lists each machine's own BMC", () => {
    const files = filesOf(REAL_MACHINES_CONFIG);
    expect(files.filter((f) => f.startsWith("domains/"))).toEqual([]);
    const { config, plan } = labPlan(REAL_MACHINES_CONFIG);
    const summary = JSON.parse(renderLabFiles(config, plan).get("plan.json")!);
    expect(summary.modes.machines).toBe("real");
    expect(summary.nodes.map((n: { bmc: string }) => n.bmc)).toEqual([
        "ipmi://10.71.2.10:623",
        "redfish://bmc-b.lab.example:443",
        "ipmi://10.71.2.12:6230",
    ]);
});

test("an existing management cluster: no KinD config", () => {
    const files = filesOf({ ...REAL_MACHINES_CONFIG, managementKubeconfig: sampleKubeconfig() });
    expect(files).not.toContain("kind-config.yaml");
    expect(files).toContain("tinkerbell-values.yaml");
});

test("external Tinkerbell: no chart values, the CAPT kubeconfig Secret with the kubeconfig redacted", () => {
    const { config, plan } = labPlan({
        externalTinkerbell: true,
        tinkerbellKubeconfig: sampleKubeconfig(),
        tinkerbellVip: "10.71.0.60",
    });
    const files = renderLabFiles(config, plan);
    expect(files.has("tinkerbell-values.yaml")).toBe(false);
    const secret = files.get("manifests/external-tinkerbell.yaml")!;
    expect(secret).toContain("name: external-tinkerbell-kubeconfig");
    expect(secret).not.toContain("fixture-token");
});
