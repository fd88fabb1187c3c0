/** `npm run bench`: runs every benchmark section in turn (each prints its own section). */
import { benchLibvirt } from "./libvirt";

const SECTIONS: (() => Promise<void>)[] = [benchLibvirt];

async function main(): Promise<void> {
    for (const section of SECTIONS) {
        await section();
    }
}

main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
});
