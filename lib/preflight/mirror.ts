/**
 * Preflight: the registry mirror (registryMirror) against the bill of materials. The caches serve only
 * the registries in registryMirrorUpstreams; every image the KinD node or the machines pull from another
 * registry bypasses them. Which registries the lab pulls from is read off the one list of its images
 * (lib/bundle/bill-of-materials.ts), so a new image's registry is never missed. Pure.
 */
import { billOfMaterials } from "../bundle/bill-of-materials";
import { imageRegistry } from "../bundle/image-ref";
import { LabConfig } from "../config";
import { LabPlan } from "../plan";
import { Finding } from "./facts";

/** The registries the images pulled by containerd (the KinD node, the machines) come from, each with an example. */
export function pulledRegistries(config: LabConfig, plan: LabPlan): Map<string, string> {
    const registries = new Map<string, string>();
    for (const artifact of billOfMaterials(config, plan)) {
        // docker pulls the node and BMC images itself, past containerd's hosts.toml.
        if (artifact.kind !== "image" || artifact.load === "docker") continue;
        const registry = imageRegistry(artifact.ref);
        if (!registries.has(registry)) registries.set(registry, artifact.ref);
    }
    return registries;
}

export function checkRegistryMirror(config: LabConfig, plan: LabPlan): Finding {
    const check = "registry-mirror";
    const upstreams = new Set(config.registryMirrorUpstreams);
    const pulled = pulledRegistries(config, plan);
    const bypassing = [...pulled].filter(([registry]) => !upstreams.has(registry));
    if (bypassing.length === 0) {
        return {
            check,
            status: "ok",
            message: `the mirror covers every registry the lab's images come from (${[...pulled.keys()].join(", ")})`,
        };
    }
    return {
        check,
        status: "warning",
        message: `images from ${bypassing.map(([registry, example]) => `${registry} (e.g. ${example})`).join(", ")} bypass the mirror: registryMirrorUpstreams does not list ${bypassing.length === 1 ? "it" : "them"}`,
        fix: `add ${bypassing.map(([registry]) => registry).join(", ")} to registryMirrorUpstreams`,
    };
}
