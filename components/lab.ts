/**
 * The lab: components wired in dependency order, for a validated config and its plan (index.ts reads
 * both, and runs the preflight while this module loads):
 *
 *   network -> { [offline: bundle images ->] KinD -> Tinkerbell chart -> clusterctl init, BMC container, pool/volumes/domains }
 *     -> BMC registrations -> hardware inventory -> Cluster API objects -> workload API -> CNI [-> pivot]
 *
 * The modes (README "Modes", plan.modes) swap pieces: an existing management cluster replaces the
 * network and KinD, an external Tinkerbell cluster takes the chart's place and the inventory, real
 * machines replace the VMs and the virtual BMC, the registry mirror comes before KinD, the operator
 * replaces clusterctl init.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { ENCRYPTED_VALUE, LabConfig } from "../lib/config";
import { LabPlan, planSummary } from "../lib/plan";
import { labFiles, nextSteps, tinkerbellUiUrl } from "../lib/render/next-steps";
import { ClusterApi } from "./cluster-api";
import { ClusterConnection } from "./cluster-connection";
import { HardwareInventory } from "./hardware-inventory";
import { KindCluster } from "./kind-cluster";
import { LabNetwork } from "./lab-network";
import { LocalFile } from "./local-file";
import { Machines } from "./machines";
import { Pivot } from "./pivot";
import { RegistryMirror } from "./registry-mirror";
import { TinkerbellStack } from "./tinkerbell-stack";
import { VirtualBmc } from "./virtual-bmc";
import { WorkloadCluster } from "./workload-cluster";
import { BundleHostImages } from "./bundle-host-images";
import { BundleNodeImages } from "./bundle-node-images";
import { billOfMaterials } from "../lib/bundle/bill-of-materials";
import { bundleFixCommand } from "../lib/bundle/check";
import { BundleLoads, bundleLoads } from "../lib/bundle/loads";
import { readBundleManifest } from "../lib/bundle/read";
import { withoutDigest } from "../lib/bundle/image-ref";

/** The shared BMC password; none for real machines that each have their own (config requires it otherwise). */
function bmcPassword(config: LabConfig, plan: LabPlan): pulumi.Output<string> | undefined {
    if (config.bmcPassword) {
        return pulumi.secret(config.bmcPassword);
    }
    if (plan.modes.machines === "real") {
        return undefined;
    }
    // IPMI passwords hold at most 20 characters; letters and digits survive every BMC protocol.
    const generated = new random.RandomPassword(`${plan.labName}-bmc-password`, { length: 16, special: false });
    return pulumi.secret(generated.result);
}

/** Real machines' own BMC passwords, each a secret Output from the start. */
function machineBmcPasswords(config: LabConfig): Record<string, pulumi.Output<string>> {
    const passwords = config.machineBmcPasswords;
    if (passwords === ENCRYPTED_VALUE) {
        // Only an offline read of the stack file leaves it encrypted; the engine decrypts config.
        throw new Error("machineBmcPasswords is still encrypted; run the program through pulumi");
    }
    return Object.fromEntries(Object.entries(passwords ?? {}).map(([name, value]) => [name, pulumi.secret(value)]));
}

function sshKey(
    config: LabConfig,
    plan: LabPlan,
): { publicKey: pulumi.Input<string>; privateKey?: pulumi.Output<string> } {
    if (config.sshPublicKey) {
        return { publicKey: config.sshPublicKey };
    }
    const key = new tls.PrivateKey(`${plan.labName}-ssh-key`, { algorithm: "ED25519" });
    return { publicKey: key.publicKeyOpenssh.apply((k) => k.trim()), privateKey: pulumi.secret(key.privateKeyOpenssh) };
}

/**
 * Offline (offlineBundle): what the lab loads from the bundle, read from its bundle.json. The preflight
 * checks the whole bundle against the plan first (and names every problem with its fix); this stops a
 * run without the preflight before any resource exists.
 */
function offlineLoads(config: LabConfig, plan: LabPlan): BundleLoads | undefined {
    if (!config.offlineBundle) {
        return undefined;
    }
    const fix = bundleFixCommand(plan.stack, config.offlineBundle);
    let loads: BundleLoads;
    try {
        loads = bundleLoads(billOfMaterials(config, plan), readBundleManifest(config.offlineBundle));
    } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`offlineBundle: ${reason}\nmake the bundle with: ${fix}`, { cause: error });
    }
    if (loads.missing.length > 0) {
        throw new Error(
            `offlineBundle: the bundle at ${config.offlineBundle} lacks ${loads.missing.map((image) => image.ref).join(", ")}; make it again: ${fix}`,
        );
    }
    return loads;
}

/** Offline: the loads of the host's images (KinD node, virtual BMC), by the name each is loaded under. */
interface HostImages {
    loads: BundleLoads;
    host: BundleHostImages;
}

/** Where Cluster API and the workload cluster's objects live: KinD (created here) or the user's cluster. */
interface ManagementCluster {
    kubeconfig: pulumi.Output<string>;
    provider: k8s.Provider;
    /** KinD's cluster Command: objects in KinD are skipped on destroy when it goes. */
    kindCluster?: pulumi.Resource;
    network?: LabNetwork;
    /** Offline: the loads of the images the management cluster runs, which the chart and clusterctl wait for. */
    nodeImages: pulumi.Resource[];
}

function managementCluster(config: LabConfig, plan: LabPlan, offline?: HostImages): ManagementCluster {
    if (config.managementKubeconfig) {
        const existing = new ClusterConnection("management", {
            kubeconfig: pulumi.secret(config.managementKubeconfig),
        });
        return { kubeconfig: existing.kubeconfig, provider: existing.provider, nodeImages: [] };
    }
    const network = new LabNetwork("network", { plan });
    // KinD bind-mounts the mirror's hosts.toml files (they must exist first) and pulls through the caches.
    const mirror = plan.registryMirror
        ? new RegistryMirror("mirror", { config, plan, networkName: network.name })
        : undefined;
    // Offline, docker has the node image from the bundle before kind needs it.
    const nodeImageLoad = offline?.host.loads.get(withoutDigest(config.kindNodeImage));
    const kindDependsOn = [
        ...(mirror ? [...mirror.hostFiles, ...mirror.containers] : []),
        ...(nodeImageLoad ? [nodeImageLoad] : []),
    ];
    const kind = new KindCluster(
        "kind",
        { config, plan, networkName: network.name },
        kindDependsOn.length > 0 ? { dependsOn: kindDependsOn } : undefined,
    );
    const nodeImages = offline
        ? new BundleNodeImages("bundle-node", {
              bundleDir: config.offlineBundle,
              clusterName: plan.kind.clusterName,
              images: offline.loads.node,
              kindCluster: kind.command,
          }).loads
        : [];
    return { kubeconfig: kind.kubeconfig, provider: kind.provider, kindCluster: kind.command, network, nodeImages };
}

/** The libvirt VMs and their virtual BMC, or nothing for real machines. */
function virtualMachines(
    config: LabConfig,
    plan: LabPlan,
    network: LabNetwork | undefined,
    password: pulumi.Output<string> | undefined,
    offline?: HostImages,
): pulumi.Resource[] {
    if (plan.modes.machines === "real") {
        return [];
    }
    if (!network || !password) {
        // parseLabConfig refuses VMs without the lab's network, and VMs always get a password; the
        // program guards its own invariants.
        throw new Error(
            "VMs need the lab's docker network (managementKubeconfig requires machines) and a BMC password",
        );
    }
    // The machines and the BMC need only the lab network (the bridge), not KinD: they start at once.
    const machines = new Machines("machines", { config, plan }, { dependsOn: [network] });
    const bmc = new VirtualBmc(
        "bmc",
        {
            config,
            plan,
            networkName: network.name,
            username: config.bmcUsername,
            password,
            domains: machines.domains,
            loadedImage: offline ? loadedImage(offline, config.vbmcImage) : undefined,
        },
        { dependsOn: [network] },
    );
    return [...bmc.registrations.values()];
}

/** Offline: an image docker loaded from the bundle, by the id the bundle records, and its load. */
function loadedImage(offline: HostImages, reference: string): { id: string; load: pulumi.Resource } {
    const name = withoutDigest(reference);
    const image = offline.loads.docker.find((load) => load.name === name);
    const load = offline.host.loads.get(name);
    if (!image || !load) {
        // offlineLoads stops first when the bundle lacks it; the program guards its own invariant.
        throw new Error(`offlineBundle: no load of ${reference}`);
    }
    return { id: image.imageId, load };
}

/** Offline: the host's images loaded first, everything else waits for its load. */
function hostImages(config: LabConfig, plan: LabPlan): HostImages | undefined {
    const loads = offlineLoads(config, plan);
    if (!loads) {
        return undefined;
    }
    return {
        loads,
        host: new BundleHostImages("bundle-host", { bundleDir: config.offlineBundle, images: loads.docker }),
    };
}

/** Builds the whole lab; returns the stack outputs. */
export function createLab(config: LabConfig, plan: LabPlan) {
    const password = bmcPassword(config, plan);
    const ssh = sshKey(config, plan);
    const files = labFiles(plan, config);

    const offline = hostImages(config, plan);
    const management = managementCluster(config, plan, offline);
    const inManagement = { providers: [management.provider], deletedWith: management.kindCluster };

    // Hardware and BMC objects go where Tinkerbell runs: the management cluster or the external one.
    const tinkerbellKubeconfig =
        plan.modes.tinkerbell === "external" ? pulumi.secret(config.tinkerbellKubeconfig!) : undefined;
    const tinkerbell = tinkerbellKubeconfig
        ? new ClusterConnection("tinkerbell", { kubeconfig: tinkerbellKubeconfig })
        : new TinkerbellStack("tinkerbell", { config, plan }, { ...inManagement, dependsOn: management.nodeImages });
    const clusterApi = new ClusterApi(
        "capi",
        {
            config,
            plan,
            kubeconfig: management.kubeconfig,
            provider: management.provider,
            kindCluster: management.kindCluster,
            tinkerbellKubeconfig,
            // A cluster of the user's brings its own cert-manager (the operator chart needs one; its
            // chart cannot tell whether one is there, clusterctl can and installs it only when missing).
            installCertManager: plan.modes.management === "kind",
        },
        // No deletedWith: its delete cleans clusterctl's files on the host (and, in a cluster of the
        // user's, removes the providers this stack installed). After the Tinkerbell chart: CAPT's
        // manager watches Tinkerbell's Hardware, Workflow and Rufio Job kinds, whose CRDs Tinkerbell
        // installs when it starts; before they exist CAPT exits, restarts with a growing back-off and
        // its webhooks refuse the workload cluster's objects (seen in the real-lab suite).
        {
            dependsOn: [
                ...(management.kindCluster ? [management.kindCluster] : []),
                ...management.nodeImages,
                ...(tinkerbell instanceof TinkerbellStack ? [tinkerbell] : []),
            ],
        },
    );
    const bmcReady = virtualMachines(config, plan, management.network, password, offline);
    const inventory = new HardwareInventory(
        "inventory",
        { config, plan, bmcPassword: password, machineBmcPasswords: machineBmcPasswords(config) },
        tinkerbell instanceof ClusterConnection
            ? { providers: [tinkerbell.provider], dependsOn: bmcReady }
            : { ...inManagement, dependsOn: [tinkerbell, ...bmcReady] },
    );
    const workload = new WorkloadCluster("workload", {
        config,
        plan,
        managementKubeconfig: management.kubeconfig,
        managementProvider: management.provider,
        sshAuthorizedKey: ssh.publicKey,
        prerequisites: [clusterApi, inventory],
        kindCluster: management.kindCluster,
    });

    if (plan.modes.pivot && workload.kubeconfig && workload.provider) {
        // After the workload cluster and its CNI: Cluster API (and Tinkerbell) move into it.
        new Pivot("pivot", {
            config,
            plan,
            managementKubeconfig: management.kubeconfig,
            workloadKubeconfig: workload.kubeconfig,
            workloadProvider: workload.provider,
            tinkerbellKubeconfig,
            prerequisites: [workload, clusterApi, inventory],
            kindCluster: management.kindCluster,
        });
    }

    if (management.kindCluster && files.kindKubeconfig) {
        new LocalFile("kind-kubeconfig-file", { path: files.kindKubeconfig, content: management.kubeconfig });
    }
    if (workload.kubeconfig) {
        new LocalFile("workload-kubeconfig-file", { path: files.workloadKubeconfig, content: workload.kubeconfig });
    }
    if (ssh.privateKey && files.sshPrivateKey) {
        new LocalFile("ssh-key-file", { path: files.sshPrivateKey, content: ssh.privateKey });
    }

    const summary = planSummary(plan);
    return {
        machines: summary.nodes.map((node, i) => ({ ...node, bmc: `${plan.machines[i].bmc.host}:${node.bmcPort}` })),
        network: summary.network,
        vips: plan.vips,
        tinkerbellUi: tinkerbellUiUrl(plan),
        kindKubeconfig: management.kindCluster ? management.kubeconfig : undefined,
        workloadKubeconfig: workload.kubeconfig,
        bmcUsername: config.bmcUsername,
        bmcPassword: password,
        files,
        nextSteps: nextSteps(config, plan),
    };
}
