// Types of scripts/ensure-broker.mjs for TypeScript callers (integration tests).
export declare const DEFAULT_URL: string;
export interface BrokerOptions {
  timeoutMs?: number;
  start?: boolean;
  install?: boolean;
  docker?: boolean;
  log?: (line: string) => void;
}
export declare function probeHandshake(host: string, port: number, opts?: { timeoutMs?: number; secure?: boolean }): Promise<boolean>;
export declare function waitForHandshake(host: string, port: number, timeoutMs?: number, opts?: { secure?: boolean }): Promise<void>;
export declare function locateBroker(opts?: BrokerOptions): Promise<{ url: string; how: string }>;
export declare function ensureBroker(opts?: BrokerOptions): Promise<string>;
