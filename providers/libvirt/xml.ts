/**
 * XML helpers for the providers' own code. The provider objects are serialized by Pulumi and
 * loaded in a separate process, so npm packages are required inside the functions (resolved from
 * the project's node_modules at run time) rather than captured as module objects.
 */
import type { XMLParser } from "fast-xml-parser";

/** A parsed XML element: attributes as `@_name`, text as `#text`, children by tag name. */
export type XmlNode = { [key: string]: XmlValue };
export type XmlValue = string | XmlNode | XmlValue[];

export function parseXml(text: string): XmlNode {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: see the file comment
    const { XMLParser: Parser } = require("fast-xml-parser") as { XMLParser: typeof XMLParser };
    const parser = new Parser({
        ignoreAttributes: false,
        attributeNamePrefix: "@_",
        // Keep every value a string: "02" or "0x0000" must not turn into numbers.
        parseTagValue: false,
        parseAttributeValue: false,
        processEntities: true,
    });
    return parser.parse(text) as XmlNode;
}

/** Children of one name as a list, whether the parser saw none, one or several. */
export function children(node: XmlValue | undefined, name: string): XmlNode[] {
    if (node === undefined || typeof node === "string" || Array.isArray(node)) {
        return [];
    }
    const value = node[name];
    const items = value === undefined ? [] : Array.isArray(value) ? value : [value];
    // An empty element such as <acpi/> parses as "", which still counts as present.
    return items.map((item) => (typeof item === "string" ? { "#text": item } : (item as XmlNode)));
}

export function child(node: XmlValue | undefined, name: string): XmlNode | undefined {
    return children(node, name)[0];
}

export function attr(node: XmlNode | undefined, name: string): string | undefined {
    const value = node?.[`@_${name}`];
    return typeof value === "string" ? value : undefined;
}

export function text(node: XmlNode | undefined): string | undefined {
    const value = node?.["#text"];
    return typeof value === "string" ? value.trim() : undefined;
}

/** Build a small XML document from nested plain objects (xmlbuilder2's object form). */
export function buildXml(root: Record<string, unknown>): string {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: see the file comment
    const { create } = require("xmlbuilder2") as typeof import("xmlbuilder2");
    return create(root).end({ prettyPrint: true, headless: true });
}
