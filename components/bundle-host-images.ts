/**
 * Offline lab (config offlineBundle): the images the host's docker runs, loaded from the bundle before
 * KinD and the virtual BMC container need them. One Command per image, named after it; its delete
 * removes the image only when this stack loaded it (images the user had stay).
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ImageLoad } from "../lib/bundle/loads";
import { childOptions } from "./options";
import { scriptCommandArgs } from "./scripts";

export function dockerLoadArgs(bundleDir: string, image: ImageLoad): command.local.CommandArgs {
    const environment = {
        BUNDLE_DIR: bundleDir,
        IMAGE_FILE: image.file,
        IMAGE_SHA256: image.sha256,
        IMAGE_REF: image.name,
        IMAGE_ID: image.imageId,
    };
    return {
        ...scriptCommandArgs({ create: "bundle-docker-load", delete: "bundle-docker-unload", environment }),
        // stdout is only `loaded=yes|no`: the delete reads it to leave an image the user had.
        addPreviousOutputInEnv: true,
        logging: "stderr",
        // A bundle made again (another image id or file) loads again.
        triggers: [image.imageId, image.sha256],
    };
}

export interface BundleHostImagesArgs {
    bundleDir: string;
    images: readonly ImageLoad[];
}

export class BundleHostImages extends pulumi.ComponentResource {
    /** Each image's load, by the name it is loaded under. */
    readonly loads: Map<string, command.local.Command>;

    constructor(name: string, args: BundleHostImagesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capt-playground:index:BundleHostImages", name, {}, opts);
        this.loads = new Map(
            args.images.map((image) => [
                image.name,
                new command.local.Command(
                    `${name}-${image.slug}`,
                    dockerLoadArgs(args.bundleDir, image),
                    childOptions(this, opts),
                ),
            ]),
        );
        this.registerOutputs({});
    }
}
