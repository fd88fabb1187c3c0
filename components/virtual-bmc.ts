/**
 * The virtual BMC: one container giving every machine IPMI (vbmc) and Redfish (sushy-tools),
 * at its planned address on the lab network, plus one registration per machine.
 * Credentials reach it only as uploaded files and environment variables of secret Outputs.
 */
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { LabConfig } from "../lib/config";
import { LabPlan, PlannedMachine, stackDockerLabels } from "../lib/plan";
import { labReference } from "../lib/render/registry-mirror";
import {
    LIBVIRT_SOCKET_DIR,
    SUSHY_CERT_PATH,
    SUSHY_CONFIG_PATH,
    SUSHY_HTPASSWD_PATH,
    SUSHY_KEY_PATH,
    htpasswdLine,
    htpasswdSalt,
    sushyConfig,
    vbmcCertificateSubject,
} from "../lib/render/virtual-bmc";
import { childOptions } from "./options";
import { scriptCommandArgs } from "./scripts";

export interface VirtualBmcArgs {
    config: LabConfig;
    plan: LabPlan;
    networkName: pulumi.Input<string>;
    username: string;
    /** Secret. */
    password: pulumi.Output<string>;
    /** Each machine's libvirt domain: its registration waits for it. */
    domains: ReadonlyMap<string, pulumi.Resource>;
    /**
     * Offline (offlineBundle): the image as loaded from the bundle (its id, and the load the container
     * waits for) instead of a pull of vbmcImage.
     */
    loadedImage?: { id: string; load: pulumi.Resource };
}

export function registrationArgs(
    args: Pick<VirtualBmcArgs, "plan" | "username" | "password">,
    machine: PlannedMachine,
    containerId: pulumi.Input<string>,
): command.local.CommandArgs {
    return {
        ...scriptCommandArgs({
            create: "vbmc-register",
            delete: "vbmc-unregister",
            environment: {
                VBMC_CONTAINER: args.plan.vbmc.containerName,
                VBMC_DOMAIN: machine.name,
                VBMC_PORT: String(machine.bmcPort),
                VBMC_USERNAME: args.username,
                VBMC_PASSWORD: pulumi.secret(args.password),
            },
        }),
        logging: "stderr",
        // A new container starts without registrations; a new name is a new registration.
        triggers: [containerId, machine.name],
    };
}

/** The container's mode for a file that holds a secret: only sushy-emulator (root in the container) reads it. */
export const SECRET_FILE_PERMISSIONS = "0600";

/**
 * The files uploaded into the BMC container. The TLS key and the htpasswd are secrets: without
 * `permissions` the docker provider uploads every file with mode 0644 (terraform-provider-docker
 * v4.5.0, the upstream of pulumi-docker 5.x: `resource_docker_container_funcs.go`, tar header mode
 * from `permissions`, else 0744 for `executable`, else 0644), readable by any user in the container.
 * Owner and group stay root (uid and gid 0 in that header); sushy-emulator runs as root.
 */
export function bmcUploads(
    plan: Pick<LabPlan, "libvirt">,
    files: {
        htpasswd: pulumi.Input<string>;
        tlsKeyPem: pulumi.Input<string>;
        tlsCertPem: pulumi.Input<string>;
    },
): docker.types.input.ContainerUpload[] {
    return [
        { file: SUSHY_CONFIG_PATH, content: sushyConfig(plan) },
        { file: SUSHY_HTPASSWD_PATH, content: files.htpasswd, permissions: SECRET_FILE_PERMISSIONS },
        { file: SUSHY_KEY_PATH, content: files.tlsKeyPem, permissions: SECRET_FILE_PERMISSIONS },
        { file: SUSHY_CERT_PATH, content: files.tlsCertPem },
    ];
}

export class VirtualBmc extends pulumi.ComponentResource {
    readonly container: docker.Container;
    readonly registrations: Map<string, command.local.Command>;
    readonly address: string;

    constructor(name: string, args: VirtualBmcArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capt-playground:index:VirtualBmc", name, {}, opts);
        const { config, plan } = args;
        this.address = plan.vbmc.ip;
        // The host's docker daemon pulls it and refuses plain-HTTP registries it was not told about,
        // so it keeps its upstream name with the lab's caches and is rewritten only to a user's HTTPS
        // mirror (registryMirrorHost; lib/render/registry-mirror.ts).
        const image = args.loadedImage
            ? undefined
            : new docker.RemoteImage(
                  `${name}-image`,
                  { name: labReference(config.vbmcImage, plan.registryMirror), keepLocally: true },
                  childOptions(this, opts),
              );
        const key = new tls.PrivateKey(
            `${name}-tls-key`,
            { algorithm: "RSA", rsaBits: 2048 },
            childOptions(this, opts),
        );
        const cert = new tls.SelfSignedCert(
            `${name}-tls-cert`,
            {
                privateKeyPem: key.privateKeyPem,
                subject: vbmcCertificateSubject(config, plan),
                ipAddresses: [plan.vbmc.ip],
                dnsNames: [plan.vbmc.containerName],
                validityPeriodHours: 24 * 365 * 5,
                allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
            },
            childOptions(this, opts),
        );
        const salt = htpasswdSalt(plan);
        const htpasswd = pulumi.secret(args.password.apply((password) => htpasswdLine(args.username, password, salt)));
        this.container = new docker.Container(
            `${name}-container`,
            {
                name: plan.vbmc.containerName,
                image: image ? image.imageId : args.loadedImage!.id,
                privileged: true,
                restart: "unless-stopped",
                networksAdvanced: [{ name: args.networkName, ipv4Address: plan.vbmc.ip }],
                mounts: [{ type: "bind", source: LIBVIRT_SOCKET_DIR, target: LIBVIRT_SOCKET_DIR }],
                envs: [`SUSHY_EMULATOR_CONFIG=${SUSHY_CONFIG_PATH}`],
                uploads: bmcUploads(plan, { htpasswd, tlsKeyPem: key.privateKeyPem, tlsCertPem: cert.certPem }),
                labels: stackDockerLabels(plan),
            },
            childOptions(this, opts, {
                deleteBeforeReplace: true,
                ...(args.loadedImage ? { dependsOn: [args.loadedImage.load] } : {}),
            }),
        );
        this.registrations = new Map(
            plan.machines.map((machine) => {
                const domain = args.domains.get(machine.name);
                const registration = new command.local.Command(
                    `${name}-${machine.name}`,
                    registrationArgs(args, machine, this.container.id),
                    childOptions(this, opts, { dependsOn: domain ? [this.container, domain] : [this.container] }),
                );
                return [machine.name, registration];
            }),
        );
        this.registerOutputs({ address: this.address, containerId: this.container.id });
    }
}
