/**
 * Every Kubernetes object the stack applies to the management cluster, grouped by when it can be
 * applied, plus the offline YAML of the same objects.
 *
 *  - inventory: the BMC Secrets, the Rufio Machines and the Hardware (needs the Tinkerbell CRDs);
 *  - clusterApi: the workload cluster (needs Cluster API and CAPT installed by clusterctl).
 *
 * Within a group each object comes after the objects it references. `objectId` gives each object
 * a stable identity for its Pulumi resource name.
 */
import { LabConfig } from "../config";
import { LabPlan } from "../plan";
import {
    BmcSecret,
    REDACTED_BMC_PASSWORD,
    bmcCredentials,
    bmcMachine,
    bmcSecrets,
    redactedMachineBmcPassword,
} from "./bmc";
import { GENERATED_SSH_KEY_PLACEHOLDER, clusterApiObjects } from "./cluster-api";
import { hardware } from "./hardware";
import { KubeObject, toYamlStream } from "./kube-object";

/**
 * The inputs that are secret or may only exist at `pulumi up` (a generated key). `bmcPassword` is the
 * shared one (missing when no machine uses it), `machineBmcPasswords` the real machines' own by name.
 */
export type LabObjectInputs<P, K> = {
    bmcPassword: P | undefined;
    machineBmcPasswords?: Readonly<Record<string, P>>;
    sshAuthorizedKey: K;
};

/** The BMC Secrets (at least one), then the Rufio Machines, then the Hardware. */
export type InventoryObjects<P> = [BmcSecret<P>, ...(BmcSecret<P> | KubeObject)[]];

export type LabObjects<P> = {
    inventory: InventoryObjects<P>;
    clusterApi: KubeObject[];
};

export type LabObjectGroup = keyof LabObjects<unknown>;

/** Apply order of the groups. */
export const LAB_OBJECT_GROUPS: readonly LabObjectGroup[] = ["inventory", "clusterApi"];

export function inventoryObjects<P>(
    config: LabConfig,
    plan: LabPlan,
    bmcPassword: P | undefined,
    machineBmcPasswords?: Readonly<Record<string, P>>,
): InventoryObjects<P> {
    return [
        ...bmcSecrets(config, plan, bmcPassword, machineBmcPasswords),
        ...plan.machines.map((machine) => bmcMachine(config, plan, machine)),
        ...plan.machines.map((machine) => hardware(config, plan, machine)),
    ];
}

export function labObjects<P, K>(config: LabConfig, plan: LabPlan, inputs: LabObjectInputs<P, K>): LabObjects<P> {
    return {
        inventory: inventoryObjects(config, plan, inputs.bmcPassword, inputs.machineBmcPasswords),
        clusterApi: clusterApiObjects(config, plan, inputs.sshAuthorizedKey),
    };
}

/** All objects in apply order, for code that does not care about the groups. */
export function allLabObjects<P>(objects: LabObjects<P>): KubeObject[] {
    return LAB_OBJECT_GROUPS.flatMap((group) => objects[group] as KubeObject[]);
}

/** The inputs the offline render shows: never a password, the configured key or a placeholder. */
export function renderInputs(config: LabConfig): LabObjectInputs<string, string> {
    const ownPasswords = config.machines.filter((machine) => bmcCredentials(config, machine.name).ownPassword);
    return {
        bmcPassword: REDACTED_BMC_PASSWORD,
        machineBmcPasswords: Object.fromEntries(
            ownPasswords.map((machine) => [machine.name, redactedMachineBmcPassword(machine.name)]),
        ),
        sshAuthorizedKey: config.sshPublicKey ?? GENERATED_SSH_KEY_PLACEHOLDER,
    };
}

export const MANIFEST_FILES: Readonly<Record<LabObjectGroup, string>> = {
    inventory: "manifests/inventory.yaml",
    clusterApi: "manifests/cluster-api.yaml",
};

/** manifests/<group>.yaml -> multi-document YAML of that group's objects. */
export function renderManifests(config: LabConfig, plan: LabPlan): Map<string, string> {
    const objects = labObjects(config, plan, renderInputs(config));
    return new Map(LAB_OBJECT_GROUPS.map((group) => [MANIFEST_FILES[group], toYamlStream(objects[group])]));
}
