// Types of scripts/rabbit-node.mjs for TypeScript callers (integration tests).
export declare function rabbitUser(): { uid: number; gid: number } | undefined;
export declare function nodeFolders(
  prefix: string,
  port: number,
): { base: string; mnesia: string; logs: string; vars: Record<string, string> };
