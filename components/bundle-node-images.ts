/**
 * Offline lab (config offlineBundle): every image the management cluster runs, loaded from the bundle
 * into the KinD node's containerd once KinD exists and before the chart, clusterctl init and the objects
 * that run them (their pull policies never pull). One Command per image, named after it, deleted with
 * the KinD cluster: the images live in the node and go with it.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ImageLoad } from "../lib/bundle/loads";
import { childOptions } from "./options";
import { scriptCommandArgs } from "./scripts";

export function nodeLoadArgs(
    bundleDir: string,
    clusterName: string,
    image: ImageLoad,
    kindClusterId: pulumi.Input<string>,
): command.local.CommandArgs {
    return {
        ...scriptCommandArgs({
            create: "bundle-node-load",
            environment: {
                KIND_CLUSTER_NAME: clusterName,
                BUNDLE_DIR: bundleDir,
                IMAGE_FILE: image.file,
                IMAGE_SHA256: image.sha256,
                IMAGE_REF: image.name,
                IMAGE_ID: image.imageId,
            },
        }),
        logging: "stderr",
        // A new KinD cluster starts empty; a bundle made again loads again.
        triggers: [kindClusterId, image.imageId, image.sha256],
    };
}

export interface BundleNodeImagesArgs {
    bundleDir: string;
    clusterName: string;
    images: readonly ImageLoad[];
    /** KinD's cluster Command: every load waits for it and is deleted with it. */
    kindCluster: command.local.Command;
}

export class BundleNodeImages extends pulumi.ComponentResource {
    readonly loads: command.local.Command[];

    constructor(name: string, args: BundleNodeImagesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capt-playground:index:BundleNodeImages", name, {}, opts);
        this.loads = args.images.map(
            (image) =>
                new command.local.Command(
                    `${name}-${image.slug}`,
                    nodeLoadArgs(args.bundleDir, args.clusterName, image, args.kindCluster.id),
                    childOptions(this, opts, { dependsOn: [args.kindCluster], deletedWith: args.kindCluster }),
                ),
        );
        this.registerOutputs({});
    }
}
