/**
 * A file on the host (kubeconfigs, the SSH key) written with mode 0600 and removed on destroy.
 * The content travels in an environment variable of the command, never in its command line.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { childOptions } from "./options";
import { commandScript } from "./scripts";

export interface LocalFileArgs {
    path: string;
    content: pulumi.Input<string>;
    /** Octal mode, default 0600. */
    mode?: string;
}

export class LocalFile extends pulumi.ComponentResource {
    readonly path: string;

    constructor(name: string, args: LocalFileArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capt-playground:index:LocalFile", name, {}, opts);
        this.path = args.path;
        new command.local.Command(
            `${name}-write`,
            {
                interpreter: ["/bin/bash", "-c"],
                create: commandScript("write-file"),
                delete: commandScript("remove-file"),
                environment: { FILE_PATH: args.path, FILE_CONTENT: args.content, FILE_MODE: args.mode ?? "0600" },
                logging: "stderr",
                // A new path is a new file: write it, then remove the old one.
                triggers: [args.path],
            },
            childOptions(this, opts),
        );
        this.registerOutputs({ path: this.path });
    }
}
