/**
 * The registry mirror (config `registryMirror`): per upstream a cache volume and a distribution
 * registry in proxy mode at its planned address on the lab network, plus the hosts.toml files on
 * the host that the KinD node mounts. KinD must wait for `hostFiles` (a missing bind-mount source
 * would be created by docker, owned by root) and should wait for `containers` (the first pulls then
 * already go through the cache).
 *
 * A cache volume survives `destroy` when `registryMirrorKeepCache` is set (retainOnDelete). The next
 * `up` creates the volume again under the same name, and docker's volume create returns the volume
 * that already exists (moby volume/service/store.go checkConflict: same name and driver is no
 * conflict; terraform-provider-docker resource_docker_volume.go takes whatever VolumeCreate returns),
 * so the kept cache is reused. Its labels are the ones it was created with, the same stack's.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { LabConfig } from "../lib/config";
import { LabPlan, stackDockerLabels } from "../lib/plan";
import {
    REGISTRY_CONFIG_PATH,
    REGISTRY_STORAGE_PATH,
    PlannedRegistryCache,
    PlannedRegistryMirror,
    RegistryMirrorPlan,
    hostsToml,
    hostsTomlRelativePath,
    kindHostsDir,
    registryConfigYaml,
} from "../lib/render/registry-mirror";
import { LocalFile } from "./local-file";
import { childOptions } from "./options";

export interface RegistryMirrorArgs {
    config: LabConfig;
    /** A plan with the mirror on (plan.registryMirror set). */
    plan: LabPlan;
    /** The lab network's name (an Output, so the containers wait for the network). */
    networkName: pulumi.Input<string>;
}

export function mirrorVolumeArgs(plan: LabPlan, cache: PlannedRegistryCache): docker.VolumeArgs {
    return { name: cache.volumeName, driver: "local", labels: stackDockerLabels(plan) };
}

export function mirrorContainerArgs(
    plan: LabPlan,
    mirror: PlannedRegistryMirror & { cache: PlannedRegistryCache },
    image: pulumi.Input<string>,
    volumeName: pulumi.Input<string>,
    networkName: pulumi.Input<string>,
): docker.ContainerArgs {
    return {
        name: mirror.cache.containerName,
        image,
        restart: "unless-stopped",
        networksAdvanced: [{ name: networkName, ipv4Address: mirror.cache.ip }],
        mounts: [{ type: "volume", source: volumeName, target: REGISTRY_STORAGE_PATH }],
        uploads: [{ file: REGISTRY_CONFIG_PATH, content: registryConfigYaml(mirror) }],
        labels: stackDockerLabels(plan),
    };
}

export class RegistryMirror extends pulumi.ComponentResource {
    readonly containers: docker.Container[];
    readonly volumes: docker.Volume[];
    /** The hosts.toml files under kindHostsDir(plan.outputDir), one per upstream. */
    readonly hostFiles: LocalFile[];

    constructor(name: string, args: RegistryMirrorArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capt-playground:index:RegistryMirror", name, {}, opts);
        const { plan } = args;
        const mirror: RegistryMirrorPlan | undefined = plan.registryMirror;
        if (!mirror) {
            throw new pulumi.ResourceError(
                "RegistryMirror needs a plan with the registry mirror on (registryMirror: true)",
                this,
            );
        }
        this.volumes = [];
        this.containers = [];
        this.hostFiles = [];
        // With registryMirrorHost the user's mirror serves every upstream: no image, no caches.
        const image = mirror.externalHost
            ? undefined
            : new docker.RemoteImage(
                  `${name}-image`,
                  { name: mirror.image, keepLocally: true },
                  childOptions(this, opts),
              );
        for (const upstream of mirror.mirrors) {
            if (image && upstream.cache) {
                this.addCache(name, args, { ...upstream, cache: upstream.cache }, image, mirror.keepCache, opts);
            }
            this.hostFiles.push(
                new LocalFile(
                    `${name}-${upstream.short}-hosts-toml`,
                    {
                        path: `${kindHostsDir(plan.outputDir)}/${hostsTomlRelativePath(upstream)}`,
                        content: hostsToml(upstream),
                        // Nothing secret; containerd in the KinD node reads it through a bind mount.
                        mode: "0644",
                        // destroy leaves no empty certs.d/ behind (and so no output directory).
                        removeEmptyUpTo: plan.outputDir,
                    },
                    { parent: this },
                ),
            );
        }
        this.registerOutputs({
            endpoints: mirror.mirrors.map((m) => ({ upstream: m.upstream, endpoint: m.endpoint })),
        });
    }

    private addCache(
        name: string,
        args: RegistryMirrorArgs,
        upstream: PlannedRegistryMirror & { cache: PlannedRegistryCache },
        image: docker.RemoteImage,
        keepCache: boolean,
        opts: pulumi.ComponentResourceOptions | undefined,
    ): void {
        const volume = new docker.Volume(
            `${name}-${upstream.short}-cache`,
            mirrorVolumeArgs(args.plan, upstream.cache),
            childOptions(this, opts, { retainOnDelete: keepCache }),
        );
        const container = new docker.Container(
            `${name}-${upstream.short}`,
            mirrorContainerArgs(args.plan, upstream, image.imageId, volume.name, args.networkName),
            // A fixed name and address cannot exist twice.
            childOptions(this, opts, { deleteBeforeReplace: true }),
        );
        this.volumes.push(volume);
        this.containers.push(container);
    }
}
