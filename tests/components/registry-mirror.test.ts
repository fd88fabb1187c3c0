/**
 * The RegistryMirror component under Pulumi's mocks: per upstream a cache volume (kept on destroy
 * only when asked), a registry container at its planned address with its config uploaded, and a
 * hosts.toml on the host; all with the stack's labels.
 */
import * as pulumi from "@pulumi/pulumi";
import { Address4 } from "ip-address";
import { parse } from "yaml";
import { RegistryMirror } from "../../components/registry-mirror";
import { LabPlan } from "../../lib/plan";
import { REGISTRY_CONFIG_PATH, hostsToml, planRegistryMirror } from "../../lib/render/registry-mirror";
import { labPlan } from "../fixtures";
import { Registration, recordRegistrations } from "../program/harness";

type Recorded = Registration & { retainOnDelete: boolean };

function mirrorStack(keepCache: boolean) {
    const { config, plan } = labPlan();
    const registryMirror = planRegistryMirror(
        {
            registryMirrorHost: "",
            registryMirrorImage: "docker.io/library/registry:3.0.0",
            registryMirrorKeepCache: keepCache,
            registryMirrorUpstreams: ["ghcr.io", "docker.io"],
        },
        new Address4(plan.network.subnet),
        plan.labName,
    );
    return { config, plan: { ...plan, registryMirror } as LabPlan };
}

async function underMocks(keepCache: boolean): Promise<{ recorded: Recorded[]; component: RegistryMirror }> {
    const { config, plan } = mirrorStack(keepCache);
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => ({
                id: `${args.name}-id`,
                state: {
                    ...args.inputs,
                    ...(args.type === "docker:index/remoteImage:RemoteImage" ? { imageId: "sha256:0123" } : {}),
                },
            }),
            call: (args) => {
                throw new Error(`unexpected invoke ${args.token}`);
            },
        },
        plan.project,
        plan.stack,
        false,
    );
    // retainOnDelete is not among the harness's fields: read it off the same requests.
    const retained = new Map<string, boolean>();
    const monitor = pulumi.runtime.getMonitor() as unknown as {
        registerResource: (req: { getName(): string; getRetainondelete(): boolean }, cb: unknown) => void;
    };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
        retained.set(req.getName(), req.getRetainondelete());
        register(req, cb);
    };
    const registrations: Registration[] = [];
    const recording = recordRegistrations(registrations);
    const component = new RegistryMirror("mirror", { config, plan, networkName: "capt-dev" });
    // The component, the image, and per upstream: volume, container, LocalFile + its command.
    const expected = 2 + 4 * 2;
    for (let quiet = 0, turns = 0; (quiet < 5 || registrations.length < expected) && turns < 500; turns++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        quiet = recording.inFlight() === 0 ? quiet + 1 : 0;
    }
    return {
        recorded: registrations.map((r) => ({ ...r, retainOnDelete: retained.get(r.name) ?? false })),
        component,
    };
}

const STACK_LABELS = [
    { label: "capt-playground.project", value: "capt-playground" },
    { label: "capt-playground.stack", value: "dev" },
];

test("per upstream: a labelled cache volume, a registry container at its address, a hosts.toml file", async () => {
    const { recorded, component } = await underMocks(false);
    const byType = (type: string) => recorded.filter((r) => r.type === type);

    expect(byType("docker:index/remoteImage:RemoteImage").map((r) => r.inputs)).toEqual([
        { name: "docker.io/library/registry:3.0.0", keepLocally: true },
    ]);

    const volumes = byType("docker:index/volume:Volume");
    expect(volumes.map((v) => v.inputs)).toEqual([
        { name: "capt-dev-mirror-ghcr-cache", driver: "local", labels: STACK_LABELS },
        { name: "capt-dev-mirror-docker-cache", driver: "local", labels: STACK_LABELS },
    ]);
    expect(volumes.map((v) => v.retainOnDelete)).toEqual([false, false]);

    const containers = byType("docker:index/container:Container");
    expect(containers.map((c) => c.name)).toEqual(["mirror-ghcr", "mirror-docker"]);
    const ghcr = containers[0];
    expect(ghcr.deleteBeforeReplace).toBe(true);
    expect(ghcr.inputs).toMatchObject({
        name: "capt-dev-mirror-ghcr",
        image: "sha256:0123",
        restart: "unless-stopped",
        networksAdvanced: [{ name: "capt-dev", ipv4Address: "10.71.0.20" }],
        mounts: [{ type: "volume", source: "capt-dev-mirror-ghcr-cache", target: "/var/lib/registry" }],
        labels: STACK_LABELS,
    });
    const uploads = ghcr.inputs.uploads as { file: string; content: string }[];
    expect(uploads.map((u) => u.file)).toEqual([REGISTRY_CONFIG_PATH]);
    expect(parse(uploads[0].content).proxy).toEqual({ remoteurl: "https://ghcr.io" });
    // The container waits for its volume (its mount source is the volume's name).
    const ghcrVolume = volumes[0].urn;
    expect(Object.values(ghcr.propertyDependencies).flat()).toContain(ghcrVolume);

    const writes = byType("command:local:Command");
    expect(writes).toHaveLength(2);
    const { plan } = mirrorStack(false);
    const environment = writes[0].inputs.environment as Record<string, string>;
    expect(environment).toMatchObject({
        FILE_PATH: `${plan.outputDir}/certs.d/ghcr.io/hosts.toml`,
        FILE_MODE: "0644",
        FILE_CONTENT: hostsToml(
            planRegistryMirror(
                {
                    registryMirrorHost: "",
                    registryMirrorImage: "x",
                    registryMirrorKeepCache: false,
                    registryMirrorUpstreams: ["ghcr.io"],
                },
                new Address4(plan.network.subnet),
                plan.labName,
            ).mirrors[0],
        ),
    });

    expect(component.containers).toHaveLength(2);
    expect(component.hostFiles.map((f) => f.path)).toEqual([
        `${plan.outputDir}/certs.d/ghcr.io/hosts.toml`,
        `${plan.outputDir}/certs.d/docker.io/hosts.toml`,
    ]);
});

test("registryMirrorKeepCache keeps the cache volumes on destroy (and only them)", async () => {
    const { recorded } = await underMocks(true);
    const kept = recorded.filter((r) => r.retainOnDelete).map((r) => r.type);
    expect(kept).toEqual(["docker:index/volume:Volume", "docker:index/volume:Volume"]);
});

test("a plan without the mirror is refused", () => {
    const { config, plan } = labPlan();
    expect(() => new RegistryMirror("mirror", { config, plan, networkName: "n" })).toThrow(/registryMirror: true/);
});
