/**
 * A file on the host (kubeconfigs, the SSH key) written with mode 0600 and removed on destroy,
 * together with its directory once that is empty (a user's own file in it keeps it).
 * The content travels in an environment variable of the command, never in its command line.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { childOptions } from "./options";
import { scriptCommandArgs } from "./scripts";

export interface LocalFileArgs {
    path: string;
    content: pulumi.Input<string>;
    /** Octal mode, default 0600. */
    mode?: string;
    /**
     * On delete, empty directories are removed from the file's own up to this ancestor (default: only
     * the file's own directory).
     */
    removeEmptyUpTo?: string;
}

export function localFileCommandArgs(args: LocalFileArgs): command.local.CommandArgs {
    return {
        ...scriptCommandArgs({
            create: "write-file",
            delete: "remove-file",
            environment: {
                FILE_PATH: args.path,
                FILE_CONTENT: args.content,
                FILE_MODE: args.mode ?? "0600",
                ...(args.removeEmptyUpTo ? { REMOVE_EMPTY_UP_TO: args.removeEmptyUpTo } : {}),
            },
        }),
        logging: "stderr",
        // A new path is a new file: write it, then remove the old one.
        triggers: [args.path],
    };
}

export class LocalFile extends pulumi.ComponentResource {
    readonly path: string;

    constructor(name: string, args: LocalFileArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capt-playground:index:LocalFile", name, {}, opts);
        this.path = args.path;
        new command.local.Command(`${name}-write`, localFileCommandArgs(args), childOptions(this, opts));
        this.registerOutputs({ path: this.path });
    }
}
